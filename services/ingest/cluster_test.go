package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
)

// TestIngestClusters: a suite's samples carry the value at its cluster
// path, "" where a record has none, and each robustness copy its
// original's.
func TestIngestClusters(t *testing.T) {
	s, b := newIntake(t)
	runStage(t, s)
	data := `{"id": "q1", "prompt": "What does the first passage say about rivers?", "reference": "1", "passage": "p1"}
{"id": "q2", "prompt": "And what does it say about the mountains nearby?", "reference": "2", "passage": "p1"}
{"id": "q3", "prompt": "How many bridges does the second passage describe?", "reference": "3", "passage": 12}
{"id": "q4", "prompt": "Which question has no passage of its own at all?", "reference": "4"}
`
	spec := submitSuite(t, b, "rc", "data/math.jsonl", []byte(data), "typos")
	spec.Suites[0].Cluster = "passage"
	if err := b.SubmitRun(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 30*time.Second, func() error {
		_, err := b.Ingest(t.Context(), "rc")
		return err
	})
	want := map[string]string{"q1": "p1", "q2": "p1", "q3": "12", "q4": ""}
	var copies int
	for _, sm := range bustest.Stored[eval.Sample](t, b, bus.StreamSamples, bus.RunSamples("rc")) {
		id := sm.ID
		if sm.Perturbation != nil {
			id = sm.Perturbation.Original
			copies++
		}
		w, ok := want[id]
		if !ok {
			t.Errorf("unexpected sample %s", sm.ID)
			continue
		}
		if sm.Cluster != w {
			t.Errorf("%s: cluster %q, want %q", sm.ID, sm.Cluster, w)
		}
	}
	if copies == 0 {
		t.Error("no robustness copy was made")
	}
}

// TestPerturbedKeepsCluster: a robustness copy is in its original's
// cluster.
func TestPerturbedKeepsCluster(t *testing.T) {
	texts := []string{"Which river runs through their old capital, and is it to the north of there?",
		"他在那里做的事情已经像以前一样了吗？他再进去带的东西在哪里？"}
	for _, kind := range eval.PerturbationKinds {
		t.Run(kind, func(t *testing.T) {
			made := false
			for _, text := range texts {
				sm := eval.Sample{ID: "q1", Suite: "qa", Cluster: "doc-9", Messages: []eval.Message{{Role: "user", Content: text}}}
				cp, ok := perturbed(sm, eval.Suite{Name: "qa"}, kind)
				if !ok {
					continue
				}
				made = true
				if cp.Cluster != "doc-9" || cp.Ref(1).Cluster != "doc-9" {
					t.Errorf("copy's cluster %q", cp.Cluster)
				}
			}
			if !made {
				t.Fatalf("%s made no copy", kind)
			}
		})
	}
}

// TestQueryCluster: a production query's cluster is its session from the
// metadata, or the value at the suite's path there.
func TestQueryCluster(t *testing.T) {
	long := strings.Repeat("s", 200)
	tests := []struct {
		name, query, path, want string
	}{
		{"session_id", `{"metadata": {"session_id": "abc", "session": "x"}}`, "", "abc"},
		{"session", `{"metadata": {"session": "s-1", "conversation_id": "c-1"}}`, "", "s-1"},
		{"conversation_id", `{"metadata": {"conversation_id": "c-1"}}`, "", "c-1"},
		{"number", `{"metadata": {"session_id": 12345678901234567890}}`, "", "12345678901234567890"},
		{"first usable key", `{"metadata": {"session_id": {"a": 1}, "session": "", "conversation_id": 5}}`, "", "5"},
		{"no session", `{"metadata": {"user": "u1"}}`, "", ""},
		{"no metadata", `{"messages": [{"role": "user", "content": "q"}]}`, "", ""},
		{"path", `{"metadata": {"user": {"id": "u1"}, "session_id": "abc"}}`, "user.id", "u1"},
		{"path missing", `{"metadata": {"session_id": "abc"}}`, "user.id", ""},
		{"path to a list", `{"metadata": {"user": ["u1"]}}`, "user", ""},
		{"personal data", `{"metadata": {"session_id": "erin@example.com"}}`, "", ""},
		{"personal data redacted", `{"metadata": {"session_id": "[EMAIL]"}}`, "", ""},
		{"personal number redacted", `{"metadata": {"session_id": "[PHONE]"}}`, "", ""},
		{"long", `{"metadata": {"session_id": "` + long + `"}}`, "", "sha256:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := QueryCluster([]byte(tc.query), tc.path)
			if got != tc.want && !(strings.HasSuffix(tc.want, ":") && strings.HasPrefix(got, tc.want) && len(got) == len(tc.want)+32) {
				t.Errorf("cluster %q, want %q", got, tc.want)
			}
		})
	}
}

// TestContinuousClustersBySession: the samples of a continuous run are
// clustered by their queries' sessions.
func TestContinuousClustersBySession(t *testing.T) {
	s, b := newIntake(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	spec := &eval.RunSpec{Run: "sessions", Baseline: "base",
		Variants:   []eval.Variant{{Name: "base", BaseURL: "http://x/v1", Model: "m"}},
		Continuous: &eval.Continuous{Sources: []string{"chat"}, SampleRate: 1, Window: eval.Duration(time.Hour), Metrics: []string{"refusal"}},
		Suites:     []eval.Suite{{Name: "chat", Role: eval.RoleProduction, Metrics: []string{"refusal"}, Intake: true}},
	}
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.continuous(ctx) }()
	meta := []map[string]any{{"session_id": "a"}, {"session_id": "a"}, {"conversation_id": "b"}, {}}
	for i, m := range meta {
		md, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Appendf(nil, `{"query": "question number %d about the weather", "metadata": %s}`, i, md)
		if _, err := s.Accept(ctx, "chat", body); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	bustest.Eventually(t, 10*time.Second, func() error {
		got = got[:0]
		for _, sm := range bustest.Stored[eval.Sample](t, b, bus.StreamSamples, bus.RunSamples("sessions")) {
			got = append(got, sm.Cluster)
		}
		if len(got) < len(meta) {
			return fmt.Errorf("%d samples of %d", len(got), len(meta))
		}
		return nil
	})
	slices.Sort(got)
	if want := []string{"", "a", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("clusters %q, want %q", got, want)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
