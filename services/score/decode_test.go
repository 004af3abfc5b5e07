package score

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// testGeneration is a generation as infer publishes one, with a
// reasoning trace and earlier turns the stage does not read.
func testGeneration() eval.Generation {
	return eval.Generation{V: eval.Version, Run: "r1", Variant: "ft", Model: "m-ft", Fingerprint: "fp", Params: "pp",
		Sample: eval.SampleRef{ID: "q7", Suite: "qa", Seq: 42, At: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
			Perturbation: &eval.Perturbation{Kind: "typo", Original: "q6"}, Contaminated: true, Cluster: "c1"},
		Output: "The answer is 15.", Reasoning: strings.Repeat("Let me think step by step. ", 40), FinishReason: "stop",
		Usage: eval.Usage{PromptTokens: 120, CompletionTokens: 9, TotalTokens: 129}, LatencyMS: 231.5, TTFTMS: 40.25, ITLMS: 3.5,
		Attempts: 2, Cached: true, Cause: "", At: time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC), Turns: []string{"Hello.", "Sure."}, Retry: 3}
}

// scoredPart is what the stage reads of a generation decoded whole.
func scoredPart(g eval.Generation) eval.Generation {
	return eval.Generation{Run: g.Run, Sample: g.Sample, Variant: g.Variant, Model: g.Model, Fingerprint: g.Fingerprint, Params: g.Params,
		Output: g.Output, FinishReason: g.FinishReason, Usage: eval.Usage{CompletionTokens: g.Usage.CompletionTokens},
		LatencyMS: g.LatencyMS, TTFTMS: g.TTFTMS, ITLMS: g.ITLMS, Error: g.Error, Cause: g.Cause, Retry: g.Retry}
}

// FuzzDecodeGeneration: whatever decodes as a generation decodes to the
// same fields the stage reads, and a sample to the same id, reference and
// messages.
func FuzzDecodeGeneration(f *testing.F) {
	g := testGeneration()
	data, _ := json.Marshal(g)
	f.Add(data)
	g.Error, g.Cause, g.Output = "HTTP 500", "HTTP 500", ""
	data, _ = json.Marshal(g)
	f.Add(data)
	sm, _ := json.Marshal(eval.Sample{V: eval.Version, Run: "r1", ID: "q7", Suite: "qa", Messages: []eval.Message{{Role: "user", Content: "2+13?"}},
		Reference: &eval.Reference{Answers: []string{"15"}, JSON: json.RawMessage(`{"a":1}`)}, Meta: map[string]any{"k": []any{1.0, "x"}}})
	f.Add(sm)
	for _, s := range []string{`{}`, `null`, `{"run":1}`, `{"sample":{"seq":-1}}`, `{"usage":{"completion_tokens":1.5}}`, `{"RUN":"x","Output":"y"}`, `{"reference":{"json":[1]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var whole eval.Generation
		if json.Unmarshal(data, &whole) == nil {
			g, err := decodeGeneration(data)
			if err != nil {
				t.Fatalf("a generation that decodes whole does not decode in part: %v", err)
			}
			if want := scoredPart(whole); !reflect.DeepEqual(*g, want) {
				t.Fatalf("decoded in part\n%+v\nwhole\n%+v", *g, want)
			}
		}
		var ws eval.Sample
		if json.Unmarshal(data, &ws) == nil {
			s, err := decodeSample(data)
			if err != nil {
				t.Fatalf("a sample that decodes whole does not decode in part: %v", err)
			}
			if want := (eval.Sample{Run: ws.Run, ID: ws.ID, Suite: ws.Suite, Reference: ws.Reference, Messages: ws.Messages}); !reflect.DeepEqual(*s, want) {
				t.Fatalf("decoded in part\n%+v\nwhole\n%+v", *s, want)
			}
		}
	})
}

func BenchmarkDecodeGeneration(b *testing.B) {
	data, _ := json.Marshal(testGeneration())
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var g eval.Generation
			if err := json.Unmarshal(data, &g); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("part", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := decodeGeneration(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
