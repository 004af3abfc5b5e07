// Package verdict reads an LLM judge's answer: the JSON of assay's judge
// contract, or MT-Bench style [[A]] / [[B]] / [[C]] free text as a fallback,
// and combines the verdicts of the two presentation orders of a pair.
//
// Judge output is untrusted model output: it is read tolerantly (gjson) and
// anything without a recognisable verdict is an error, never a guess.
package verdict

import (
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/tidwall/gjson"
)

// Verdict is one judge answer about answers A and B as shown.
type Verdict struct {
	// Winner is "A", "B" or "tie".
	Winner string
	// Scores are per-dimension scores keyed "A" and "B".
	Scores map[string]map[string]float64
	Reason string
	// Fix is the judge's suggested fix for answers "A" and "B": what each
	// should change ("" or absent: nothing).
	Fix map[string]string
	// OffTopic and Refusal are the judge's reading of answers "A" and
	// "B" (a side it said nothing about is absent).
	OffTopic, Refusal map[string]bool
	// Parse is "json" or "tag".
	Parse string
}

// ErrNoVerdict means the judge's answer contains no verdict.
var ErrNoVerdict = errors.New("no verdict in judge output: expected JSON with \"winner\" or [[A]]/[[B]]/[[C]]")

var tagRE = regexp.MustCompile(`\[\[(A|B|C|(?i:tie))\]\]`)

// maxObjectTries bounds the search for JSON objects in prose, so that a
// judge answer full of unbalanced braces costs linear time, not quadratic.
const maxObjectTries = 64

// Parse reads a judge's answer: the whole answer as JSON, else the last
// JSON object in it that carries a verdict (in a ``` fence or in prose),
// else the last [[A]]/[[B]]/[[C]] tag. Later verdicts win over earlier ones
// because a judge may quote the instructions' example before answering.
func Parse(text string) (Verdict, error) {
	text = strings.TrimSpace(text)
	if v, ok := fromJSON(text); ok {
		return v, nil
	}
	var found *Verdict
	for _, obj := range jsonObjects(text) {
		if v, ok := fromJSON(obj); ok {
			found = &v
		}
	}
	if found != nil {
		return *found, nil
	}
	if ms := tagRE.FindAllStringSubmatch(text, -1); len(ms) > 0 {
		w := ms[len(ms)-1][1]
		if w == "C" || strings.EqualFold(w, "tie") {
			w = "tie"
		}
		return Verdict{Winner: w, Parse: "tag", Reason: text}, nil
	}
	return Verdict{}, ErrNoVerdict
}

// jsonObjects returns the top-level JSON objects embedded in text, in
// order. Taking the first "{" to the last "}" fails as soon as the prose
// around the object has a brace of its own ("{A} is better: {...}").
func jsonObjects(text string) []string {
	var out []string
	tries := 0
	for i := 0; i < len(text) && tries < maxObjectTries; {
		j := strings.IndexByte(text[i:], '{')
		if j < 0 {
			break
		}
		i += j
		tries++
		dec := json.NewDecoder(strings.NewReader(text[i:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			i++
			continue
		}
		out = append(out, string(raw))
		i += int(dec.InputOffset())
	}
	return out
}

func fromJSON(s string) (Verdict, bool) {
	if !gjson.Valid(s) {
		return Verdict{}, false
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return Verdict{}, false
	}
	w, ok := normWinner(root.Get("winner").String())
	if !ok {
		return Verdict{}, false
	}
	v := Verdict{Winner: w, Parse: "json", Reason: root.Get("reason").String(), Fix: fixesOf(root.Get("fix"), w)}
	for _, side := range []string{"A", "B"} {
		if dims := scoresOf(root.Get("scores." + side)); dims != nil {
			if v.Scores == nil {
				v.Scores = map[string]map[string]float64{}
			}
			v.Scores[side] = dims
		}
		if b, ok := flag(root.Get("off_topic." + side)); ok {
			v.OffTopic = setFlag(v.OffTopic, side, b)
		}
		if b, ok := flag(root.Get("refusal." + side)); ok {
			v.Refusal = setFlag(v.Refusal, side, b)
		}
	}
	return v, true
}

// maxFixChars bounds the suggested fix kept from a judge's answer: it is
// advice for a person, and judge output is untrusted.
const maxFixChars = 1000

// fixesOf reads a verdict's fix: an object of A's and B's, or one
// string, which is for the answer that lost.
func fixesOf(x gjson.Result, winner string) map[string]string {
	var out map[string]string
	put := func(side, fix string) {
		if fix = clipFix(fix); fix != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[side] = fix
		}
	}
	switch {
	case x.IsObject():
		for _, side := range []string{"A", "B"} {
			if f := x.Get(side); f.Type == gjson.String {
				put(side, f.String())
			}
		}
	case x.Type == gjson.String && winner == "A":
		put("B", x.String())
	case x.Type == gjson.String && winner == "B":
		put("A", x.String())
	}
	return out
}

func fixOf(root gjson.Result) string {
	if f := root.Get("fix"); f.Type == gjson.String {
		return clipFix(f.String())
	}
	return ""
}

// clipFix trims a fix and bounds it to maxFixChars.
func clipFix(fix string) string {
	fix = strings.TrimSpace(fix)
	if len(fix) > maxFixChars {
		cut := maxFixChars
		for cut > 0 && fix[cut]&0xC0 == 0x80 {
			cut--
		}
		fix = fix[:cut] + "…"
	}
	return fix
}

// scoresOf reads one side's per-dimension scores; nil when there are none.
func scoresOf(dims gjson.Result) map[string]float64 {
	if !dims.IsObject() {
		return nil
	}
	var out map[string]float64
	dims.ForEach(func(k, x gjson.Result) bool {
		// The contract's scale is 1-10: a score outside it is no score,
		// and would weigh without bound in every mean.
		if f, ok := number(x); ok && f >= 1 && f <= 10 {
			if out == nil {
				out = map[string]float64{}
			}
			out[k.String()] = f
		}
		return true
	})
	return out
}

// number reads a score: judges write "8" as often as 8. "NaN" and "Inf"
// parse as floats but are no scores, and would poison every mean.
func number(x gjson.Result) (float64, bool) {
	if x.Type != gjson.Number && x.Type != gjson.String {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(x.String()), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// flag reads a yes/no field: true and false, or their usual spellings as
// strings; anything else says nothing.
func flag(x gjson.Result) (bool, bool) {
	switch x.Type {
	case gjson.True:
		return true, true
	case gjson.False:
		return false, true
	case gjson.String:
		switch strings.ToLower(strings.TrimSpace(x.String())) {
		case "true", "yes":
			return true, true
		case "false", "no":
			return false, true
		}
	}
	return false, false
}

func setFlag(m map[string]bool, side string, b bool) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	m[side] = b
	return m
}

// Grade is a judge's grading of one answer alone (single mode).
type Grade struct {
	// Rating is the answer's overall grade, 1–10: the reply's "rating",
	// else the mean of its scores.
	Rating float64
	Scores map[string]float64
	Reason string
	Fix    string
	// OffTopic and Refusal are nil when the judge said nothing.
	OffTopic, Refusal *bool
	// Parse is "json" or "tag" (MT-Bench's "Rating: [[7]]").
	Parse string
}

// ErrNoGrade means the judge's answer contains no grade.
var ErrNoGrade = errors.New("no grade in judge output: expected JSON with \"rating\" or \"scores\", or Rating: [[N]]")

var ratingRE = regexp.MustCompile(`\[\[\s*(\d+(?:\.\d+)?)\s*\]\]`)

// ParseGrade reads a single-mode judge's answer as [Parse] reads a
// pairwise one: the whole answer as JSON, else the last JSON object in it
// with a grade, else the last [[N]] tag. A rating outside 1–10 is no
// grade.
func ParseGrade(text string) (Grade, error) {
	text = strings.TrimSpace(text)
	if g, ok := gradeFromJSON(text); ok {
		return g, nil
	}
	var found *Grade
	for _, obj := range jsonObjects(text) {
		if g, ok := gradeFromJSON(obj); ok {
			found = &g
		}
	}
	if found != nil {
		return *found, nil
	}
	if ms := ratingRE.FindAllStringSubmatch(text, -1); len(ms) > 0 {
		f, err := strconv.ParseFloat(ms[len(ms)-1][1], 64)
		if err == nil && f >= 1 && f <= 10 {
			return Grade{Rating: f, Parse: "tag", Reason: text}, nil
		}
	}
	return Grade{}, ErrNoGrade
}

func gradeFromJSON(s string) (Grade, bool) {
	if !gjson.Valid(s) {
		return Grade{}, false
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return Grade{}, false
	}
	g := Grade{Scores: scoresOf(root.Get("scores")), Reason: root.Get("reason").String(), Fix: fixOf(root), Parse: "json"}
	if r, ok := number(root.Get("rating")); ok {
		g.Rating = r
	} else if len(g.Scores) > 0 {
		for _, v := range g.Scores {
			g.Rating += v
		}
		g.Rating /= float64(len(g.Scores))
	} else {
		return Grade{}, false
	}
	if g.Rating < 1 || g.Rating > 10 {
		return Grade{}, false
	}
	if b, ok := flag(root.Get("off_topic")); ok {
		g.OffTopic = &b
	}
	if b, ok := flag(root.Get("refusal")); ok {
		g.Refusal = &b
	}
	return g, true
}

// Compare is the verdict of single mode: the answer with the higher
// rating wins; equal ratings are a tie.
func Compare(candidate, baseline float64) eval.Winner {
	switch {
	case candidate > baseline:
		return eval.WinCandidate
	case baseline > candidate:
		return eval.WinBaseline
	}
	return eval.WinTie
}

func normWinner(s string) (string, bool) {
	s = strings.ToUpper(strings.Trim(strings.TrimSpace(s), "[]()\"'“”‘’. "))
	for _, prefix := range []string{"ASSISTANT ", "RESPONSE ", "ANSWER ", "MODEL ", "OUTPUT "} {
		s = strings.TrimPrefix(s, prefix)
	}
	switch s {
	case "A":
		return "A", true
	case "B":
		return "B", true
	case "TIE", "C", "DRAW", "EQUAL", "NONE":
		return "tie", true
	}
	return "", false
}

// ForCandidate turns a verdict about A and B into one about the candidate,
// given the order the pair was shown in ([eval.OrderCandidateFirst], or
// else baseline first). A winner other than "A" or "B" is a tie: a garbled
// verdict must not turn into a win for either side.
func ForCandidate(w string, order string) eval.Winner {
	if w != "A" && w != "B" {
		return eval.WinTie
	}
	if (w == "A") == (order == eval.OrderCandidateFirst) {
		return eval.WinCandidate
	}
	return eval.WinBaseline
}

// Combine merges the two orders' verdicts: agreement stands; disagreement
// (a verdict that flips with the order) is a tie and is not consistent.
func Combine(first, second eval.Winner) (eval.Winner, bool) {
	if first == second {
		return first, true
	}
	return eval.WinTie, false
}
