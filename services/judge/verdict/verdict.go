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
	v := Verdict{Winner: w, Parse: "json", Reason: root.Get("reason").String()}
	for _, side := range []string{"A", "B"} {
		dims := root.Get("scores." + side)
		if !dims.IsObject() {
			continue
		}
		dims.ForEach(func(k, x gjson.Result) bool {
			if x.Type != gjson.Number && x.Type != gjson.String {
				return true
			}
			// Judges write "8" as often as 8. "NaN" and "Inf" parse as
			// floats but are no scores, and would poison every mean.
			f, err := strconv.ParseFloat(strings.TrimSpace(x.String()), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return true
			}
			if v.Scores == nil {
				v.Scores = map[string]map[string]float64{}
			}
			if v.Scores[side] == nil {
				v.Scores[side] = map[string]float64{}
			}
			v.Scores[side][k.String()] = f
			return true
		})
	}
	return v, true
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
