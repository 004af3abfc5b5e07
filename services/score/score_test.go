package score

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// TestHandleFailedGeneration: a generation that failed for good is carried
// to the report as an error with its cause, never scored as an empty
// answer (which would give em 0, length 0 and safety 1 on a benign prompt).
func TestHandleFailedGeneration(t *testing.T) {
	s := New(Config{}, &stage.Env{Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()})
	spec := &eval.RunSpec{Run: "r", Suites: []eval.Suite{{Name: "qa", Metrics: []string{"em", "f1", "safety", "refusal", "length"}}}}
	benign := false
	sample := &eval.Sample{Run: "r", ID: "1", Suite: "qa", Reference: &eval.Reference{Answers: []string{"Paris"}, ShouldRefuse: &benign}}
	for _, tt := range []struct {
		name       string
		gen        eval.Generation
		wantBucket eval.Bucket
		wantScored bool
	}{
		{"failed", eval.Generation{Run: "r", Variant: "ft", Model: "sft", Params: "p1", Error: "calling …: connection refused (after 5 attempts)", Cause: "connection refused", LatencyMS: 12}, eval.BucketError, false},
		{"answered", eval.Generation{Run: "r", Variant: "ft", Model: "sft", Params: "p1", Output: "Paris", LatencyMS: 40, TTFTMS: 10, ITLMS: 2}, eval.BucketOK, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.gen.Sample = sample.Ref(7)
			sc, err := s.Handle(t.Context(), spec, sample, &tt.gen)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Bucket != tt.wantBucket {
				t.Errorf("bucket %q, want %q", sc.Bucket, tt.wantBucket)
			}
			if got := len(sc.Metrics) > 0; got != tt.wantScored {
				t.Errorf("metrics %v: scored %v, want %v", sc.Metrics, got, tt.wantScored)
			}
			if sc.Cause != tt.gen.Cause || sc.Model != "sft" || sc.Params != "p1" || sc.TTFTMS != tt.gen.TTFTMS || sc.ITLMS != tt.gen.ITLMS {
				t.Errorf("score %+v does not carry the generation's cause, model, params and timing", sc)
			}
			if !tt.wantScored && (sc.OutputTokens != 0 || sc.Checks != (eval.Checks{})) {
				t.Errorf("a failed generation has output tokens %d and checks %+v", sc.OutputTokens, sc.Checks)
			}
		})
	}
}

// TestHandleOutputChars: a score carries the visible answer's length in
// characters, not bytes (the length-controlled win rate compares it), and
// its sample's cluster.
func TestHandleOutputChars(t *testing.T) {
	s := New(Config{}, &stage.Env{Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()})
	spec := &eval.RunSpec{Run: "r", Suites: []eval.Suite{{Name: "qa", Metrics: []string{"em", "length"}}}}
	sample := &eval.Sample{Run: "r", ID: "1", Suite: "qa", Cluster: "doc-2", Reference: &eval.Reference{Answers: []string{"Paris"}}}
	for _, tt := range []struct {
		name string
		gen  eval.Generation
		want int
	}{
		{"ascii", eval.Generation{Output: "Paris"}, 5},
		{"multi-byte", eval.Generation{Output: "巴黎 é 🙂"}, 6},
		{"reasoning is not counted", eval.Generation{Output: "Paris", Reasoning: "The capital of France is Paris."}, 5},
		{"empty", eval.Generation{Output: ""}, 0},
		{"failed", eval.Generation{Error: "timeout", Cause: "timeout"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.gen.Run, tt.gen.Variant, tt.gen.Sample = "r", "ft", sample.Ref(3)
			sc, err := s.Handle(t.Context(), spec, sample, &tt.gen)
			if err != nil {
				t.Fatal(err)
			}
			if sc.OutputChars != tt.want {
				t.Errorf("output chars %d, want %d", sc.OutputChars, tt.want)
			}
			if sc.Sample.Cluster != "doc-2" {
				t.Errorf("cluster %q", sc.Sample.Cluster)
			}
		})
	}
}

// TestContextCopyScoredAgainstItsQuestion: a long_context or
// instruction_conflict copy is scored against its original's question,
// through a sample decoded as the stage reads it; the question does not
// travel on with the score; and every score of an unanswerable question,
// a failed one's too, says so.
func TestContextCopyScoredAgainstItsQuestion(t *testing.T) {
	s := New(Config{}, &stage.Env{Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()})
	spec := &eval.RunSpec{Run: "r", Suites: []eval.Suite{{Name: "qa", Metrics: []string{"abstain"}}}}
	no := false
	question := "What is agnosticism?"
	padded := strings.Repeat("The bakery opens before dawn and the ovens warm slowly. ", 40) + "\n\n" + question
	orig := &eval.Sample{Run: "r", ID: "1", Suite: "qa", Messages: []eval.Message{{Role: "user", Content: question}}, Reference: &eval.Reference{ShouldAbstain: &no}}
	cp := &eval.Sample{Run: "r", ID: "1~long_context", Suite: "qa", Messages: []eval.Message{{Role: "user", Content: padded}}, Reference: orig.Reference,
		Perturbation: &eval.Perturbation{Kind: "long_context", Original: "1", Tokens: 400, Question: question}}
	raw, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := decodeSample(raw)
	if err != nil {
		t.Fatal(err)
	}
	answer := "Agnosticism is the view that the existence of God is unknown or unknowable."
	for _, sm := range []*eval.Sample{orig, decoded} {
		g := &eval.Generation{Run: "r", Variant: "ft", Sample: sm.Ref(3), Output: answer}
		sc, err := s.Handle(t.Context(), spec, sm, g)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Metrics["abstain"] != 0 {
			t.Errorf("%s: a definition read as an abstention", sm.ID)
		}
		if p := sc.Sample.Perturbation; p != nil && p.Question != "" {
			t.Errorf("%s: the question travels with the score", sm.ID)
		}
	}
	yes := true
	un := &eval.Sample{Run: "r", ID: "2", Suite: "qa", Messages: []eval.Message{{Role: "user", Content: "Who was the 51st state's first governor?"}},
		Reference: &eval.Reference{ShouldAbstain: &yes}}
	sc, err := s.Handle(t.Context(), spec, un, &eval.Generation{Run: "r", Variant: "ft", Sample: un.Ref(4), Error: "timeout", Cause: "timeout"})
	if err != nil || !sc.Checks.Unanswerable || sc.Bucket != eval.BucketError {
		t.Errorf("a failed score of an unanswerable question: %+v, %v", sc.Checks, err)
	}
}
