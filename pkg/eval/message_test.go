package eval

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/golden"
)

func ptr[T any](v T) *T { return &v }

// messages is one of each bus message, every field set, so that the golden
// file pins the JSON keys the other services (and CI reading report inputs)
// depend on.
func messages() map[string]any {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ref := SampleRef{ID: "s1", Suite: "business", Seq: 42, Cluster: "doc-3"}
	return map[string]any{
		"sample": &Sample{
			V: Version, Run: "r", ID: "s1", Suite: "business", Role: RoleBusiness, Fingerprint: "fp", Index: 3,
			Messages: []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "2+2?"}},
			Reference: &Reference{Answers: []string{"4"}, Choices: []string{"3", "4"}, Label: "B",
				JSON: json.RawMessage(`{"a":1}`), Schema: json.RawMessage(`{"type":"object"}`), ShouldRefuse: ptr(false)},
			TurnReferences: []string{"8", "4"},
			Tags:           []string{"math"}, Dedup: &Dedup{Twins: []string{"s9"}},
			Contamination: &Contamination{Contaminated: true, Score: 0.9, Match: "train.jsonl:7"},
			Perturbation:  &Perturbation{Kind: "typo", Original: "s0"},
			Source:        "data/business.jsonl:3",
			Cluster:       "doc-3",
		},
		"generation": &Generation{
			V: Version, Run: "r", Sample: ref, Variant: "ft", Model: "m", Fingerprint: "fp", Params: "pp",
			Output: "4", Reasoning: "2+2=4", FinishReason: "stop", Usage: Usage{PromptTokens: 10, CompletionTokens: 2, TotalTokens: 12},
			LatencyMS: 120.5, TTFTMS: 30, Attempts: 2, Cached: true, Error: "", At: at,
		},
		"score": &Score{
			V: Version, Run: "r", Sample: ref, Variant: "ft", Fingerprint: "fp", Metrics: map[string]float64{"em": 1, "f1": 0.5},
			Checks: Checks{Refused: false, Truncated: true, Empty: false, JSONValid: ptr(true), SchemaPass: ptr(false), Benign: true},
			Bucket: BucketTruncated, Reason: "finish_reason length", OutputTokens: 2, OutputChars: 1, LatencyMS: 120.5, GenSeq: 7,
		},
		"judgment": &Judgment{
			V: Version, Run: "r", Sample: ref, Judge: "j", JudgeID: "j@abc", Candidate: "ft", Baseline: "base", Fingerprint: "fp",
			Rounds: []Round{
				{Order: OrderCandidateFirst, Winner: WinCandidate, Scores: map[string]map[string]float64{"candidate": {"correctness": 9}, "baseline": {"correctness": 5}},
					Reason: "A is right", Raw: `{"winner":"A"}`, Parse: "json"},
				{Order: OrderBaselineFirst, Winner: WinTie, Raw: "[[C]]", Parse: "tag", Cached: true, Error: ""},
			},
			Winner: WinTie, Consistent: false,
		},
		"dead_letter": &DeadLetter{V: Version, Stage: "ingest", Run: "r", Suite: "business", Sample: "s1", Variant: "ft", Judge: "j",
			Subject: "assay.samples.r.business", Seq: 5, Reason: "not JSON", Data: "{", At: at},
		"ingest_status": &IngestStatus{V: Version, Run: "r", Done: true, Samples: 2, At: at, Suites: map[string]*SuiteStatus{
			"business": {Samples: 2, Duplicates: 1, Malformed: 1, Problems: []string{"data/b.jsonl:4: prompt: missing"},
				Dropped: []DroppedDuplicate{{ID: "s9", Twin: "s1", Source: "data/b.jsonl:9"}}},
		}},
		"run_status": &RunStatus{V: Version, Run: "r", State: StateComplete, Scores: 4, ScoresExpected: 4, Judgments: 2,
			JudgmentsExpected: 2, GatePassed: ptr(true), Report: "r/report.json", At: at},
		"run_event": &RunEvent{V: Version, Run: "r", Fingerprint: "fp", GatePassed: ptr(false), At: at},
	}
}

func TestMessagesGolden(t *testing.T) {
	got, err := json.MarshalIndent(messages(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "messages.golden.json"), append(got, '\n'))
}

func TestMessagesRoundTrip(t *testing.T) {
	for name, msg := range messages() {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte(`{"v":1,`)) {
				t.Errorf("%s does not start with \"v\": 1", b)
			}
			back := reflect.New(reflect.TypeOf(msg).Elem()).Interface()
			if err := json.Unmarshal(b, back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, msg) {
				t.Errorf("round trip changed the message:\n got %+v\nwant %+v", back, msg)
			}
		})
	}
}

// TestSampleRefCluster checks that a sample's cluster reaches the messages
// downstream of it, and that a sample of its own cluster adds no key.
func TestSampleRefCluster(t *testing.T) {
	for _, tc := range []struct {
		cluster string
		json    string
	}{
		{"doc-3", `{"id":"s1","suite":"qa","seq":9,"cluster":"doc-3"}`},
		{"", `{"id":"s1","suite":"qa","seq":9}`},
	} {
		t.Run(tc.cluster, func(t *testing.T) {
			s := Sample{ID: "s1", Suite: "qa", Cluster: tc.cluster}
			ref := s.Ref(9)
			if ref.Cluster != tc.cluster {
				t.Errorf("Ref(9).Cluster = %q, want %q", ref.Cluster, tc.cluster)
			}
			b, err := json.Marshal(ref)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.json {
				t.Errorf("ref is %s, want %s", b, tc.json)
			}
		})
	}
}

// TestOlderMessagesDecode: messages of producers that predate the cluster
// and the answer's length decode, as a sample of its own cluster and an
// unknown length (0).
func TestOlderMessagesDecode(t *testing.T) {
	const sample = `{"v":1,"run":"r","id":"s1","suite":"qa","role":"business","fingerprint":"fp","index":0,"messages":[{"role":"user","content":"q"}]}`
	const score = `{"v":1,"run":"r","sample":{"id":"s1","suite":"qa","seq":4},"variant":"ft","fingerprint":"fp","scoring":"x","metrics":{"em":1},` +
		`"checks":{"refused":false,"truncated":false,"empty":false,"benign":true},"bucket":"ok","output_tokens":3,"latency_ms":5,"gen_seq":8}`
	const judgment = `{"v":1,"run":"r","sample":{"id":"s1","suite":"qa","seq":4},"judge":"j","judge_id":"j@1","candidate":"ft","baseline":"base",` +
		`"fingerprint":"fp","rounds":[],"winner":"tie","consistent":true}`
	var s Sample
	var sc Score
	var j Judgment
	for _, m := range []struct {
		data string
		into any
	}{{sample, &s}, {score, &sc}, {judgment, &j}} {
		if err := json.Unmarshal([]byte(m.data), m.into); err != nil {
			t.Fatalf("%s: %v", m.data, err)
		}
	}
	if s.Cluster != "" || s.Ref(4).Cluster != "" {
		t.Errorf("sample cluster %q", s.Cluster)
	}
	if sc.Sample.Cluster != "" || sc.OutputChars != 0 || sc.OutputTokens != 3 || sc.Sample.Seq != 4 {
		t.Errorf("score %+v", sc)
	}
	if j.Sample.Cluster != "" || j.Sample.ID != "s1" {
		t.Errorf("judgment %+v", j)
	}
}

// TestGenerationOmitsEmpty checks what a consumer sees for a plain success:
// no error key, no reasoning, but cached and attempts always present.
func TestGenerationOmitsEmpty(t *testing.T) {
	b, err := json.Marshal(Generation{V: Version, Output: "x", Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, absent := range []string{`"error"`, `"reasoning"`, `"finish_reason"`, `"ttft_ms"`} {
		if strings.Contains(s, absent) {
			t.Errorf("%s has %s", s, absent)
		}
	}
	for _, present := range []string{`"cached":false`, `"attempts":1`, `"output":"x"`} {
		if !strings.Contains(s, present) {
			t.Errorf("%s lacks %s", s, present)
		}
	}
}

func TestRoleValid(t *testing.T) {
	for _, tc := range []struct {
		role Role
		want bool
	}{
		{RoleBusiness, true}, {RoleRegression, true}, {RoleBenchmark, true}, {RoleProduction, true},
		{"", false}, {"Business", false}, {"prod", false},
	} {
		t.Run(string(tc.role), func(t *testing.T) {
			if got := tc.role.Valid(); got != tc.want {
				t.Errorf("Role(%q).Valid() = %v", tc.role, got)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"base", true}, {"qwen3-8b_sft", true}, {"A1", true}, {strings.Repeat("a", 64), true},
		{"", false}, {strings.Repeat("a", 65), false}, {"a b", false}, {"a.b", false}, {"a*", false},
		{"a>", false}, {"ünï", false}, {"a\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidName(tc.name); got != tc.want {
				t.Errorf("ValidName(%q) = %v", tc.name, got)
			}
		})
	}
}

func TestLastUserMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []Message
		want string
	}{
		{"none", nil, ""},
		{"single", []Message{{Role: "user", Content: "  hi \n"}}, "hi"},
		{"multi-turn", []Message{{Role: "system", Content: "s"}, {Role: "user", Content: "first"}, {Role: "assistant", Content: "a"}, {Role: "user", Content: "second"}}, "second"},
		{"ends with the assistant", []Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}}, "q"},
		{"no user", []Message{{Role: "system", Content: "s"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LastUserMessage(tc.msgs); got != tc.want {
				t.Errorf("LastUserMessage = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzCheckpointEvent decodes announcements as ingest does: anything may be
// published on assay.events.checkpoint.
func FuzzCheckpointEvent(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"run":"r","variant":"step-2000","step":2000,"base_url":"http://vllm:8000/v1","model":"sft","at":"2026-11-27T10:00:00Z"}`,
		`{"run":"r","variant":"a b","base_url":"http://x/v1","model":"m"}`,
		`{"run":"r","variant":"v","base_url":"ftp://x","model":"m","concurrency":-1}`,
		`{"run":"r","variant":"v","base_url":"http://x/v1","model":"m","timeout":"90s","stream":false}`,
		`[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev CheckpointEvent
		if json.Unmarshal(data, &ev) != nil {
			return
		}
		v, err := ev.NewVariant()
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if !ValidName(ev.Run) || !ValidName(v.Name) || v.Model == "" || v.Concurrency < 1 || v.Timeout <= 0 {
			t.Fatalf("accepted an invalid checkpoint: %+v -> %+v", ev, v)
		}
	})
}

// FuzzIntakeQuery checks what a production system may send: a query is
// either refused or a conversation that ends with a user's words.
func FuzzIntakeQuery(f *testing.F) {
	for _, s := range []string{
		`{"query":"How do I reset my password?"}`,
		`{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"timestamp":"2026-11-27T10:04:00Z","metadata":{"tenant":"acme"}}`,
		`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}`,
		`{"query":"a","messages":[{"role":"user","content":"b"}]}`,
		`{"messages":[{"role":"tool","content":"x"}]}`, `{}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var q IntakeQuery
		if json.Unmarshal(data, &q) != nil {
			return
		}
		msgs, err := q.Conversation()
		if err != nil {
			return
		}
		if len(msgs) == 0 || msgs[len(msgs)-1].Role != "user" || strings.TrimSpace(msgs[len(msgs)-1].Content) == "" {
			t.Fatalf("accepted %q as %+v", data, msgs)
		}
		for _, m := range msgs {
			if m.Role != "system" && m.Role != "user" && m.Role != "assistant" {
				t.Fatalf("accepted role %q", m.Role)
			}
		}
	})
}
