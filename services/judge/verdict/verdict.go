// Package verdict reads an LLM judge's answer: the JSON of assay's judge
// contract, or MT-Bench style [[A]] / [[B]] / [[C]] free text as a fallback,
// and combines the verdicts of the two presentation orders of a pair.
//
// Judge output is untrusted model output: it is read tolerantly (gjson) and
// anything without a recognisable verdict is an error, never a guess.
package verdict

import (
	"errors"
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

var (
	fenceRE = regexp.MustCompile("(?s)```(?:json|JSON)?\\s*\\n?(.*?)```")
	tagRE   = regexp.MustCompile(`\[\[(A|B|C)\]\]`)
)

// Parse reads a judge's answer.
func Parse(text string) (Verdict, error) {
	for _, cand := range jsonCandidates(text) {
		if v, ok := fromJSON(cand); ok {
			return v, nil
		}
	}
	if ms := tagRE.FindAllStringSubmatch(text, -1); len(ms) > 0 {
		// The last tag is the final verdict; earlier ones may quote the
		// instructions.
		w := ms[len(ms)-1][1]
		if w == "C" {
			w = "tie"
		}
		return Verdict{Winner: w, Parse: "tag", Reason: strings.TrimSpace(text)}, nil
	}
	return Verdict{}, ErrNoVerdict
}

func jsonCandidates(text string) []string {
	text = strings.TrimSpace(text)
	out := []string{text}
	for _, m := range fenceRE.FindAllStringSubmatch(text, -1) {
		out = append(out, strings.TrimSpace(m[1]))
	}
	if i, j := strings.IndexByte(text, '{'), strings.LastIndexByte(text, '}'); i >= 0 && j > i {
		out = append(out, text[i:j+1])
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
			f, err := strconv.ParseFloat(strings.TrimSpace(x.String()), 64)
			if err != nil || (x.Type != gjson.Number && x.Type != gjson.String) {
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
	s = strings.ToUpper(strings.Trim(strings.TrimSpace(s), "[]()\"' "))
	switch s {
	case "A", "ASSISTANT A":
		return "A", true
	case "B", "ASSISTANT B":
		return "B", true
	case "TIE", "C", "DRAW", "EQUAL", "NONE":
		return "tie", true
	}
	return "", false
}

// ForCandidate turns a verdict about A and B into one about the candidate,
// given the order the pair was shown in.
func ForCandidate(w string, order string) eval.Winner {
	switch {
	case w == "tie":
		return eval.WinTie
	case (w == "A") == (order == eval.OrderCandidateFirst):
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
