package judge

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// TestContractReadings: the judge's reading of each answer (off-topic,
// refusal) and its suggested fix reach the rounds keyed by side, whichever
// order the pair was shown in, and the scores on the default dimensions.
func TestContractReadings(t *testing.T) {
	q := "What is the capital of France?"
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "fair", Judge: true}},
		Key: llmsim.Key{q: {Kind: llmsim.KindText, Correct: "Paris", Wrong: "Lyon"}}})
	ep := newEndpoint(t, sim.Handler(), nil)
	j := eval.Judge{Name: "j", BaseURL: ep.URL, Model: "fair", Mode: eval.JudgePairwise, Concurrency: 2, Dimensions: eval.DefaultDimensions}
	sample := testSample(q)
	ref := eval.SampleRef{ID: "1", Suite: "s"}
	offTopic := "That reminds me of a good way to make pancakes: whisk the eggs and milk first, fold in the flour gently, and let the batter rest before the pan is hot."
	cand := &eval.Generation{Variant: "ft", Sample: ref, Output: offTopic}
	base := &eval.Generation{Variant: "base", Sample: ref, Output: "Paris"}
	jd, err := newService(t).Handle(t.Context(), runSpec(j), j, sample, cand, base)
	if err != nil || jd.Error != "" {
		t.Fatalf("judgment %+v, %v", jd, err)
	}
	if jd.Winner != eval.WinBaseline {
		t.Errorf("winner %s", jd.Winner)
	}
	for _, r := range jd.Rounds {
		if !r.OffTopic["candidate"] || r.OffTopic["baseline"] || r.Refusal["candidate"] || r.Refusal["baseline"] {
			t.Errorf("%s: off-topic %v, refusal %v", r.Order, r.OffTopic, r.Refusal)
		}
		if !strings.Contains(r.Fix["candidate"], "question that was asked") || r.Fix["baseline"] != "" {
			t.Errorf("%s: fix %q", r.Order, r.Fix)
		}
		// The simulated judge grades correctness 1 + 3 × grade: Paris 10,
		// the off-topic answer 7.
		if r.Scores["candidate"]["correctness"] != 7 || r.Scores["baseline"]["correctness"] != 10 || len(r.Scores["candidate"]) != 4 {
			t.Errorf("%s: scores %v", r.Order, r.Scores)
		}
	}
}

// TestSingleMode grades each answer alone: two requests in MT-Bench's
// single-answer form, the verdict the higher rating, the readings and the
// fix of each side.
func TestSingleMode(t *testing.T) {
	q := "What is the capital of Italy?"
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "grader", Judge: true}},
		Key: llmsim.Key{q: {Kind: llmsim.KindText, Correct: "Rome", Wrong: "Milan"}}})
	ep := newEndpoint(t, sim.Handler(), nil)
	j := eval.Judge{Name: "g", BaseURL: ep.URL, Model: "grader", Mode: eval.JudgeSingle, Concurrency: 2, Dimensions: eval.DefaultDimensions}
	ref := eval.SampleRef{ID: "1", Suite: "s"}
	for _, tc := range []struct {
		cand, base string
		want       eval.Winner
	}{
		{"Rome", "Milan", eval.WinCandidate},
		{"Milan", "Rome", eval.WinBaseline},
		{"Rome", "Rome", eval.WinTie},
	} {
		cand := &eval.Generation{Variant: "ft", Sample: ref, Output: tc.cand}
		base := &eval.Generation{Variant: "base", Sample: ref, Output: tc.base}
		before, _ := ep.counts("grader")
		jd, err := newService(t).Handle(t.Context(), runSpec(j), j, testSample(q), cand, base)
		if err != nil || jd.Error != "" {
			t.Fatalf("%s vs %s: %+v, %v", tc.cand, tc.base, jd, err)
		}
		if after, _ := ep.counts("grader"); after-before > 2 {
			t.Errorf("%d calls for one pair", after-before)
		}
		if jd.Winner != tc.want || !jd.Consistent {
			t.Errorf("%s vs %s: winner %s, consistent %v", tc.cand, tc.base, jd.Winner, jd.Consistent)
		}
		if jd.Rounds[0].Order != eval.OrderCandidateAlone || jd.Rounds[1].Order != eval.OrderBaselineAlone {
			t.Errorf("orders %s, %s", jd.Rounds[0].Order, jd.Rounds[1].Order)
		}
		rate := map[string]float64{"Rome": 10, "Milan": 7}
		if jd.Rounds[0].Rating != rate[tc.cand] || jd.Rounds[1].Rating != rate[tc.base] {
			t.Errorf("ratings %v, %v", jd.Rounds[0].Rating, jd.Rounds[1].Rating)
		}
		if _, ok := jd.Rounds[0].Scores["candidate"]["correctness"]; !ok {
			t.Errorf("candidate round scores %v", jd.Rounds[0].Scores)
		}
		if (tc.cand == "Milan") != strings.Contains(jd.Rounds[0].Fix["candidate"], "Rome") || len(jd.Rounds[1].Fix) > 0 && jd.Rounds[1].Fix["baseline"] == "" {
			t.Errorf("fixes %q, %q", jd.Rounds[0].Fix, jd.Rounds[1].Fix)
		}
	}
	// The request is the single-answer form, with its own schema.
	req := singleRequest(j, testSample(q), &eval.Generation{Output: "Rome"})
	user := req.Messages[1].Content
	if !strings.Contains(user, eval.MarkAnswerStart) || strings.Contains(user, eval.MarkBStart) {
		t.Errorf("single request:\n%s", user)
	}
	var schema struct{ Required []string }
	if err := json.Unmarshal(req.ResponseFormat.JSONSchema.Schema, &schema); err != nil || !strings.Contains(strings.Join(schema.Required, ","), "rating") {
		t.Errorf("schema %s (%v)", req.ResponseFormat.JSONSchema.Schema, err)
	}
}

// TestGroundingOnlyWithContext: the grounding dimension is asked about a
// sample that gives context (a system message, earlier turns), never
// about a bare question.
func TestGroundingOnlyWithContext(t *testing.T) {
	j := eval.Judge{Model: "m", Dimensions: eval.DefaultDimensions}
	a, b := &eval.Generation{Output: "x"}, &eval.Generation{Output: "y"}
	bare := testSample("Why is the sky blue?")
	withSystem := &eval.Sample{Messages: []eval.Message{{Role: "system", Content: "Answer from this manual: the reset button is red."}, {Role: "user", Content: "Which button resets?"}}}
	emptySystem := &eval.Sample{Messages: []eval.Message{{Role: "system", Content: "  "}, {Role: "user", Content: "Hi"}}}
	for _, tc := range []struct {
		name   string
		sample *eval.Sample
		want   bool
	}{{"bare", bare, false}, {"system message", withSystem, true}, {"empty system message", emptySystem, false}} {
		sys := buildMessages(j, tc.sample, a, b)[0].Content
		if got := strings.Contains(sys, `"grounding"`); got != tc.want {
			t.Errorf("%s: grounding asked %v, want %v", tc.name, got, tc.want)
		}
		schema := string(request(j, tc.sample, a, b).ResponseFormat.JSONSchema.Schema)
		if got := strings.Contains(schema, "grounding"); got != tc.want {
			t.Errorf("%s: grounding in the schema %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSchemaListsPropertiesInWritingOrder: decoders constrained by a JSON
// schema write its properties in the order it lists them, so the schema
// lists the reasons before the verdict and the fixes last, as the prompt
// shows them, and requires every one.
func TestSchemaListsPropertiesInWritingOrder(t *testing.T) {
	for single, want := range map[bool][]string{
		false: {"reason", "scores", "off_topic", "refusal", "winner", "fix"},
		true:  {"reason", "scores", "off_topic", "refusal", "rating", "fix"},
	} {
		raw := buildVerdictSchema(single, []string{"correctness", "format"})
		var schema struct {
			Properties json.RawMessage
			Required   []string
		}
		if err := json.Unmarshal(raw, &schema); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(schema.Properties)))
		var keys []string
		if _, err := dec.Token(); err != nil { // {
			t.Fatal(err)
		}
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatal(err)
			}
		}
		if strings.Join(keys, ",") != strings.Join(want, ",") || strings.Join(schema.Required, ",") != strings.Join(want, ",") {
			t.Errorf("single %v: properties %v, required %v, want %v", single, keys, schema.Required, want)
		}
		sys := request(eval.Judge{Model: "m", Dimensions: []string{"correctness"}, Mode: map[bool]string{false: eval.JudgePairwise, true: eval.JudgeSingle}[single]}, testSample("q"), &eval.Generation{}, &eval.Generation{}).Messages[0].Content
		if single {
			sys = singleRequest(eval.Judge{Model: "m", Dimensions: []string{"correctness"}}, testSample("q"), &eval.Generation{}).Messages[0].Content
		}
		last := -1
		for _, k := range want {
			i := strings.Index(sys, `"`+k+`"`)
			if i < last {
				t.Errorf("single %v: the prompt shows %q out of the schema's order", single, k)
			}
			last = i
		}
	}
}
