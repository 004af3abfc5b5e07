package verdict

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

func TestParse(t *testing.T) {
	scoresAB := map[string]map[string]float64{
		"A": {"correctness": 8, "helpfulness": 7},
		"B": {"correctness": 5, "helpfulness": 6},
	}
	tests := []struct {
		name       string
		in         string
		wantWinner string
		wantParse  string
		wantScores map[string]map[string]float64
		wantReason string
	}{
		{
			name:       "contract JSON",
			in:         `{"winner": "A", "scores": {"A": {"correctness": 8, "helpfulness": 7}, "B": {"correctness": 5, "helpfulness": 6}}, "reason": "A is right."}`,
			wantWinner: "A", wantParse: "json", wantScores: scoresAB, wantReason: "A is right.",
		},
		{
			name:       "fenced JSON",
			in:         "```json\n{\"winner\": \"B\", \"reason\": \"shorter\"}\n```",
			wantWinner: "B", wantParse: "json", wantReason: "shorter",
		},
		{
			name:       "fence without language and with prose",
			in:         "Here is my verdict:\n```\n{\"winner\": \"tie\"}\n```\nThanks.",
			wantWinner: "tie", wantParse: "json",
		},
		{name: "lowercase a", in: `{"winner": "a"}`, wantWinner: "A", wantParse: "json"},
		{name: "lowercase b", in: `{"winner": "b"}`, wantWinner: "B", wantParse: "json"},
		{name: "Tie capitalised", in: `{"winner": "Tie"}`, wantWinner: "tie", wantParse: "json"},
		{name: "TIE", in: `{"winner": "TIE"}`, wantWinner: "tie", wantParse: "json"},
		{name: "C means tie", in: `{"winner": "C"}`, wantWinner: "tie", wantParse: "json"},
		{name: "curly-quoted Tie inside the string", in: `{"winner": "“Tie”"}`, wantWinner: "tie", wantParse: "json"},
		{name: "curly-quoted C inside the string", in: `{"winner": "“C”"}`, wantWinner: "tie", wantParse: "json"},
		{name: "draw", in: `{"winner": "draw"}`, wantWinner: "tie", wantParse: "json"},
		{name: "tag inside JSON", in: `{"winner": "[[B]]"}`, wantWinner: "B", wantParse: "json"},
		{name: "Assistant A", in: `{"winner": "Assistant A"}`, wantWinner: "A", wantParse: "json"},
		{name: "Response B", in: `{"winner": "Response B"}`, wantWinner: "B", wantParse: "json"},
		{name: "padded", in: `{"winner": "  a. "}`, wantWinner: "A", wantParse: "json"},
		{
			name:       "numeric-string scores",
			in:         `{"winner": "A", "scores": {"A": {"correctness": "8", "helpfulness": " 7 "}, "B": {"correctness": 5, "helpfulness": "6.0"}}}`,
			wantWinner: "A", wantParse: "json", wantScores: scoresAB,
		},
		{
			name:       "scores that are not numbers are dropped",
			in:         `{"winner": "B", "scores": {"A": {"correctness": "high", "style": true, "depth": null, "x": [1], "y": "NaN", "z": "Inf", "w": 1e999}, "B": {"correctness": 9}}}`,
			wantWinner: "B", wantParse: "json",
			wantScores: map[string]map[string]float64{"B": {"correctness": 9}},
		},
		{
			name:       "scores not an object",
			in:         `{"winner": "A", "scores": {"A": 8, "B": 3}}`,
			wantWinner: "A", wantParse: "json",
		},
		{
			name:       "prose then JSON",
			in:         "Both answers are fine, but A cites its source.\n{\"winner\": \"A\", \"reason\": \"cites\"}",
			wantWinner: "A", wantParse: "json", wantReason: "cites",
		},
		{
			name:       "prose with braces around the JSON",
			in:         "Answer {A} uses a set {1,2}. Verdict: {\"winner\": \"B\", \"reason\": \"B is right\"} (see {notes}).",
			wantWinner: "B", wantParse: "json", wantReason: "B is right",
		},
		{
			name:       "the instructions' example is quoted first: the last verdict wins",
			in:         "You asked for {\"winner\": \"A\"} style output. My answer: {\"winner\": \"B\"}",
			wantWinner: "B", wantParse: "json",
		},
		{
			name:       "nested braces in strings",
			in:         `Result: {"winner": "A", "reason": "B printed \"{}\" and } alone"}`,
			wantWinner: "A", wantParse: "json", wantReason: `B printed "{}" and } alone`,
		},
		{
			name:       "invalid JSON falls back to the tag",
			in:         "{winner: A, reason: 'x'}\nFinal verdict: [[B]]",
			wantWinner: "B", wantParse: "tag",
		},
		{
			name:       "JSON without a usable winner falls back to the tag",
			in:         "{\"winner\": \"both\"} [[C]]",
			wantWinner: "tie", wantParse: "tag",
		},
		{
			name:       "MT-Bench A",
			in:         "Assistant A is more accurate. [[A]]",
			wantWinner: "A", wantParse: "tag",
		},
		{
			name:       "several tags: the last wins",
			in:         "Output [[A]] if A is better, [[B]] if B is better, [[C]] for a tie.\nAfter comparing: [[B]]",
			wantWinner: "B", wantParse: "tag",
		},
		{name: "tag C is a tie", in: "They are equally good. [[C]]", wantWinner: "tie", wantParse: "tag"},
		{name: "tag tie", in: "Equal. [[tie]]", wantWinner: "tie", wantParse: "tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if v.Winner != tt.wantWinner || v.Parse != tt.wantParse {
				t.Errorf("Parse(%q) = winner %q by %q, want %q by %q", tt.in, v.Winner, v.Parse, tt.wantWinner, tt.wantParse)
			}
			if !reflect.DeepEqual(v.Scores, tt.wantScores) {
				t.Errorf("Parse(%q).Scores = %v, want %v", tt.in, v.Scores, tt.wantScores)
			}
			if tt.wantParse == "json" && v.Reason != tt.wantReason {
				t.Errorf("Parse(%q).Reason = %q, want %q", tt.in, v.Reason, tt.wantReason)
			}
			if tt.wantParse == "tag" && v.Reason != strings.TrimSpace(tt.in) {
				t.Errorf("tag verdict Reason = %q, want the whole answer", v.Reason)
			}
		})
	}
}

func TestParseNoVerdict(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"blank", " \n\t"},
		{"prose", "Both answers have merit; A is longer and B is clearer."},
		{"single-answer mode", `{"scores": {"correctness": 7}, "reason": "fine"}`},
		{"unknown winner", `{"winner": "both"}`},
		{"winner not a string", `{"winner": 1}`},
		{"JSON array", `["A"]`},
		{"single brackets", "[A] is better"},
		{"tag of an unknown option", "[[D]]"},
		{"unbalanced braces", strings.Repeat("{", 500)},
		{"truncated JSON", `{"winner": "A", "reason": "cut off`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Parse(tt.in)
			if !errors.Is(err, ErrNoVerdict) {
				t.Errorf("Parse(%q) = %+v, %v; want ErrNoVerdict", tt.in, v, err)
			}
		})
	}
}

func TestForCandidate(t *testing.T) {
	tests := []struct {
		winner, order string
		want          eval.Winner
	}{
		// Candidate shown as A.
		{"A", eval.OrderCandidateFirst, eval.WinCandidate},
		{"B", eval.OrderCandidateFirst, eval.WinBaseline},
		{"tie", eval.OrderCandidateFirst, eval.WinTie},
		// Baseline shown as A.
		{"A", eval.OrderBaselineFirst, eval.WinBaseline},
		{"B", eval.OrderBaselineFirst, eval.WinCandidate},
		{"tie", eval.OrderBaselineFirst, eval.WinTie},
		// Not a verdict Parse returns: never a win for either side.
		{"", eval.OrderCandidateFirst, eval.WinTie},
		{"X", eval.OrderBaselineFirst, eval.WinTie},
		{"a", eval.OrderBaselineFirst, eval.WinTie},
	}
	for _, tt := range tests {
		t.Run(tt.winner+"/"+tt.order, func(t *testing.T) {
			if got := ForCandidate(tt.winner, tt.order); got != tt.want {
				t.Errorf("ForCandidate(%q, %q) = %q, want %q", tt.winner, tt.order, got, tt.want)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	c, b, tie := eval.WinCandidate, eval.WinBaseline, eval.WinTie
	tests := []struct {
		first, second  eval.Winner
		want           eval.Winner
		wantConsistent bool
	}{
		{c, c, c, true},
		{b, b, b, true},
		{tie, tie, tie, true},
		{c, b, tie, false},
		{b, c, tie, false},
		{c, tie, tie, false},
		{tie, c, tie, false},
		{b, tie, tie, false},
		{tie, b, tie, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.first)+"/"+string(tt.second), func(t *testing.T) {
			got, consistent := Combine(tt.first, tt.second)
			if got != tt.want || consistent != tt.wantConsistent {
				t.Errorf("Combine(%q, %q) = %q, %v; want %q, %v", tt.first, tt.second, got, consistent, tt.want, tt.wantConsistent)
			}
		})
	}
}

// TestRoundTrip checks the whole path a pair takes: the judge sees the
// candidate first and says A, then sees it second and says B; both rounds
// favour the candidate, consistently.
func TestRoundTrip(t *testing.T) {
	first, err := Parse(`{"winner": "A"}`)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Parse("[[B]]")
	if err != nil {
		t.Fatal(err)
	}
	w, ok := Combine(ForCandidate(first.Winner, eval.OrderCandidateFirst), ForCandidate(second.Winner, eval.OrderBaselineFirst))
	if w != eval.WinCandidate || !ok {
		t.Errorf("combined = %q, %v; want candidate, consistent", w, ok)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"winner": "A", "scores": {"A": {"c": 8}, "B": {"c": "5"}}, "reason": "r"}`,
		"```json\n{\"winner\": \"tie\"}\n```",
		"prose {x} then {\"winner\": \"b\"} and {",
		"[[A]] [[B]] [[C]]",
		"{\"winner\": \"“C”\"}",
		strings.Repeat("{\"a\":", 50),
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrNoVerdict) {
				t.Fatalf("Parse(%q) error %v, want ErrNoVerdict", s, err)
			}
			return
		}
		switch v.Winner {
		case "A", "B", "tie":
		default:
			t.Fatalf("Parse(%q).Winner = %q", s, v.Winner)
		}
		if v.Parse != "json" && v.Parse != "tag" {
			t.Fatalf("Parse(%q).Parse = %q", s, v.Parse)
		}
		for side, dims := range v.Scores {
			if side != "A" && side != "B" {
				t.Fatalf("Parse(%q) scores side %q", s, side)
			}
			for k, x := range dims {
				if x != x || x > 1e308 || x < -1e308 {
					t.Fatalf("Parse(%q) score %s.%s = %v", s, side, k, x)
				}
			}
		}
		// Every verdict maps to a candidate-side winner in both orders.
		for _, order := range []string{eval.OrderCandidateFirst, eval.OrderBaselineFirst} {
			switch ForCandidate(v.Winner, order) {
			case eval.WinCandidate, eval.WinBaseline, eval.WinTie:
			default:
				t.Fatalf("ForCandidate(%q, %q) out of range", v.Winner, order)
			}
		}
	})
}

// TestParseReadings: contract 2's readings of each answer and the fix,
// read as tolerantly as the verdict; anything else about a side says
// nothing, and a fix is bounded.
func TestParseReadings(t *testing.T) {
	v, err := Parse(`{"winner": "B", "off_topic": {"A": true, "B": "no"}, "refusal": {"A": "maybe", "B": false}, "fix": {"A": "  Cite the law.  ", "B": "", "C": "x"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.OffTopic, map[string]bool{"A": true, "B": false}) || !reflect.DeepEqual(v.Refusal, map[string]bool{"B": false}) ||
		!reflect.DeepEqual(v.Fix, map[string]string{"A": "Cite the law."}) {
		t.Errorf("off-topic %v, refusal %v, fix %q", v.OffTopic, v.Refusal, v.Fix)
	}
	// One fix is for the answer that lost; a tie's is nobody's.
	for w, want := range map[string]map[string]string{"A": {"B": "f"}, "B": {"A": "f"}, "tie": nil} {
		if v, _ := Parse(`{"winner": "` + w + `", "fix": "f"}`); !reflect.DeepEqual(v.Fix, want) {
			t.Errorf("winner %s: fix %v", w, v.Fix)
		}
	}
	long, _ := Parse(`{"winner": "A", "fix": {"B": "` + strings.Repeat("é", 2*maxFixChars) + `"}}`)
	if f := long.Fix["B"]; len(f) > maxFixChars+len("…") || !strings.HasSuffix(f, "…") || !utf8Valid(f) {
		t.Errorf("a long fix is kept as %d bytes", len(f))
	}
	old, _ := Parse(`{"winner": "A", "reason": "r"}`)
	if old.OffTopic != nil || old.Refusal != nil || old.Fix != nil {
		t.Errorf("contract 1's answer read as %+v", old)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestParseGrade(t *testing.T) {
	for _, tc := range []struct {
		in     string
		rating float64
		parse  string
		fails  bool
	}{
		{in: `{"rating": 7, "scores": {"correctness": 8}, "off_topic": false, "refusal": true, "reason": "r", "fix": "f"}`, rating: 7, parse: "json"},
		{in: `{"scores": {"correctness": 8, "format": "6"}}`, rating: 7, parse: "json"},
		{in: "Some prose. Rating: [[8]]", rating: 8, parse: "tag"},
		{in: "```json\n{\"rating\": \"9\"}\n```", rating: 9, parse: "json"},
		{in: `{"rating": 0}`, fails: true},
		{in: `{"rating": 11}`, fails: true},
		{in: `{"rating": "NaN"}`, fails: true},
		{in: `{"winner": "A"}`, fails: true},
		{in: "Rating: [[12]]", fails: true},
		{in: "", fails: true},
	} {
		g, err := ParseGrade(tc.in)
		if tc.fails {
			if !errors.Is(err, ErrNoGrade) {
				t.Errorf("ParseGrade(%q) = %+v, %v; want ErrNoGrade", tc.in, g, err)
			}
			continue
		}
		if err != nil || g.Rating != tc.rating || g.Parse != tc.parse {
			t.Errorf("ParseGrade(%q) = %+v, %v", tc.in, g, err)
		}
	}
	g, _ := ParseGrade(`{"rating": 7, "off_topic": false, "refusal": true}`)
	if g.OffTopic == nil || *g.OffTopic || g.Refusal == nil || !*g.Refusal {
		t.Errorf("readings %v %v", g.OffTopic, g.Refusal)
	}
	for _, tc := range []struct {
		c, b float64
		want eval.Winner
	}{{8, 7, eval.WinCandidate}, {3, 7, eval.WinBaseline}, {5, 5, eval.WinTie}} {
		if got := Compare(tc.c, tc.b); got != tc.want {
			t.Errorf("Compare(%v, %v) = %s", tc.c, tc.b, got)
		}
	}
}

func FuzzParseGrade(f *testing.F) {
	for _, s := range []string{
		`{"rating": 7, "scores": {"c": 8}, "off_topic": "yes", "fix": "f"}`,
		"Rating: [[3]] then [[9.5]]",
		"prose {\"scores\": {\"a\": \"Inf\"}} {",
		strings.Repeat("[[", 40),
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGrade(s)
		if err != nil {
			if !errors.Is(err, ErrNoGrade) {
				t.Fatalf("ParseGrade(%q) error %v", s, err)
			}
			return
		}
		if !(g.Rating >= 1 && g.Rating <= 10) || (g.Parse != "json" && g.Parse != "tag") || len(g.Fix) > maxFixChars+len("…") {
			t.Fatalf("ParseGrade(%q) = %+v", s, g)
		}
	})
}
