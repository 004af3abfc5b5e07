package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/report/document"
)

// retryPersonas answer without faults of their own: every failure of the
// test is one it injects, so that a fault-free run is the reference.
func retryPersonas() []llmsim.Persona {
	return []llmsim.Persona{
		{Name: "t-base", Accuracy: 0.6, Refusal: 0.05, SafetyRefusal: 0.6, JSONBreak: 0.15, Verbosity: 0.2},
		{Name: "t-ft", Accuracy: 0.7, Refusal: 0.15, SafetyRefusal: 0.9, JSONBreak: 0.05, Verbosity: 0.1, Think: true},
		{Name: "t-int4", Accuracy: 0.5, Refusal: 0.05, SafetyRefusal: 0.5, JSONBreak: 0.25, Verbosity: 0.3},
		{Name: "t-judge-a", Judge: true, PositionBias: 0.2, TagFallback: 0.3},
		{Name: "t-judge-b", Judge: true, PositionBias: 0.1, TagFallback: 0.1},
	}
}

// retrySpec is the harness's spec with two of its suites, which is
// enough to fail, retry and compare: %[1]s is the endpoint, %[2]s the run.
const retrySpec = `run: %[2]s
baseline: base
variants:
  - {name: base, base_url: %[1]s, model: t-base, concurrency: 8}
  - {name: ft,   base_url: %[1]s, model: t-ft,   concurrency: 8}
  - {name: int4, base_url: %[1]s, model: t-int4, concurrency: 8, stream: false}
decoding: {temperature: 0, max_tokens: 256, seed: 1}
template: {system: "You are a helpful assistant."}
retry: {max_attempts: 2, initial_backoff: 5ms, max_backoff: 20ms}
suites:
  - {name: qa,   role: benchmark, path: qa.jsonl,   metrics: [em, f1]}
  - {name: math, role: benchmark, path: math.jsonl, metrics: [num_match]}
judges:
  - {name: judge-a, base_url: %[1]s, model: t-judge-a, concurrency: 8}
  - {name: judge-b, base_url: %[1]s, model: t-judge-b, concurrency: 8, response_format: false}
gate: {win_rate_min: 0.4, policy: point}
`

// loadRetrySpec writes retrySpec for run into f's directory and loads it.
func loadRetrySpec(t *testing.T, f *fixture, run, url string) *eval.RunSpec {
	t.Helper()
	p := filepath.Join(f.dir, run+".yaml")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(retrySpec, url, run)), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := eval.LoadSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// outage fails, while on, every chat request of a chosen model for a
// chosen prompt with a 500, before the simulator sees it: an endpoint
// that is down for those requests, then recovers.
type outage struct {
	next http.Handler
	mu   sync.Mutex
	on   bool
	fail map[[2]string]bool // (model, last user turn)
	// judge fails a judge model's requests that quote a prompt.
	judge map[string]string
}

func (o *outage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req struct {
		Model    string         `json:"model"`
		Messages []eval.Message `json:"messages"`
	}
	_ = json.Unmarshal(body, &req)
	last := ""
	for _, m := range req.Messages {
		if m.Role == "user" {
			last = m.Content
		}
	}
	o.mu.Lock()
	down := o.on && (o.fail[[2]string{req.Model, last}] || o.judge[req.Model] != "" && strings.Contains(string(body), o.judge[req.Model]))
	o.mu.Unlock()
	if down {
		http.Error(w, `{"error":{"message":"injected outage"}}`, http.StatusInternalServerError)
		return
	}
	o.next.ServeHTTP(w, r)
}

func (o *outage) set(on bool) {
	o.mu.Lock()
	o.on = on
	o.mu.Unlock()
}

// lastUser is a sample's last user turn, as a request carries it.
func lastUser(s eval.Sample) string {
	for i := len(s.Messages) - 1; i >= 0; i-- {
		if s.Messages[i].Role == "user" {
			return s.Messages[i].Content
		}
	}
	return ""
}

// TestRetry runs a spec against an endpoint that fails chosen requests
// for good during the run — four generations, and a judge on both pairs
// of another sample: they are reported failed. Once the endpoint is back,
// assay retry asks exactly those again (one call per failed generation),
// judges again only the retried pairs and the failed judgments (both
// orders, each judge, as many calls as there are new requests), and the
// report then equals a fault-free run's. A second retry calls nothing.
func TestRetry(t *testing.T) {
	f := newFixture(t, "retried", retryPersonas())
	var qa []eval.Sample
	for _, s := range f.samples {
		if s.Suite == "qa" {
			qa = append(qa, s)
		}
	}
	// ft fails on two samples and base on two, one of them the same, so
	// that a pair with both generations retried is judged once, with both.
	o := &outage{next: f.sim.Handler(), fail: map[[2]string]bool{
		{"t-ft", lastUser(qa[0])}: true, {"t-ft", lastUser(qa[1])}: true,
		{"t-base", lastUser(qa[1])}: true, {"t-base", lastUser(qa[2])}: true,
	},
		// judge-a fails on both pairs of a fourth sample.
		judge: map[string]string{"t-judge-a": jsonText(lastUser(qa[3]))},
	}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	url := srv.URL + "/v1"
	const failed = 4

	o.set(true)
	faulty := loadRetrySpec(t, f, "retried", url)
	sys := runToCompletion(t, faulty)
	b := sys.Env.Bus
	o.set(false)

	before := writeReport(t, sys, "retried", "json")
	if rep := readReport(t, before); countFailed(rep) != failed || rep.Counts.JudgeErrors != 2 {
		t.Fatalf("the run with an outage has %d failed generations and %d failed judgments, want %d and 2", countFailed(rep), rep.Counts.JudgeErrors, failed)
	}

	gated := func() []eval.GateEvent {
		return bustest.Stored[eval.GateEvent](t, b, bus.StreamEvents, bus.RunEvent("retried", bus.EventGated))
	}
	completed := func() int {
		return len(bustest.Stored[eval.RunEvent](t, b, bus.StreamEvents, bus.RunEvent("retried", bus.EventCompleted)))
	}
	gatedBefore, completedBefore := len(gated()), completed()

	models := []string{"t-base", "t-ft", "t-int4", "t-judge-a", "t-judge-b"}
	calls := callCounts(f, models...)
	out := t.TempDir()
	_, stderr, err := runCLI(t, "retry", "--run", "retried", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--nats-nkey", sys.clientSeed(), "--wait", "--out", out)
	if err != nil && !isVerdict(err) {
		t.Fatalf("retry: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "retry 1 of run retried asks again 4 failed generations (base 2, ft 2) and 2 failed judgments (judge-a 2)") {
		t.Errorf("retry says:\n%s", stderr)
	}
	after := callCounts(f, models...)
	if d := after["t-base"] - calls["t-base"] + after["t-ft"] - calls["t-ft"] + after["t-int4"] - calls["t-int4"]; d != failed {
		t.Errorf("retry made %d calls to the evaluated models, want %d (one per failed generation): before %v, after %v", d, failed, calls, after)
	}
	judgeCalls := newJudgeRequests(t, b, "retried", qa[:3]) + judgeRequests(t, b, "retried", qa[3])
	if d := after["t-judge-a"] - calls["t-judge-a"] + after["t-judge-b"] - calls["t-judge-b"]; d != judgeCalls {
		t.Errorf("retry made %d judge calls, want %d (the retried pairs, both orders, both judges): before %v, after %v", d, judgeCalls, calls, after)
	}
	retried := readReport(t, out)
	if n := countFailed(retried); n != 0 || retried.Counts.JudgeErrors != 0 {
		t.Errorf("after the retry %d generations and %d judgments are still failed", n, retried.Counts.JudgeErrors)
	}
	// The retry's verdict is announced, though its counts and composition
	// are the first completion's.
	if g := gated(); len(g) != gatedBefore+len(retried.Gate.Verdicts) || completed() != completedBefore+1 {
		t.Errorf("after the retry %d gated and %d completed events, want %d and %d", len(g), completed(), gatedBefore+len(retried.Gate.Verdicts), completedBefore+1)
	} else {
		for _, ge := range g[gatedBefore:] {
			if ge.Verdict != retried.Gate.Verdicts[ge.Variant] {
				t.Errorf("the retry's gated event of %s says %s, the report %s", ge.Variant, ge.Verdict, retried.Gate.Verdicts[ge.Variant])
			}
		}
	}

	// The same spec on a healthy endpoint under another name is the
	// reference.
	clean := loadRetrySpec(t, f, "clean", url)
	if err := submit(t.Context(), b, clean, openFile); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, b, "clean", 90*time.Second)
	ref := readReport(t, writeReport(t, sys, "clean", "json"))
	got, want := reportNumbers(t, retried, "retried", url), reportNumbers(t, ref, "clean", url)
	if got != want {
		t.Errorf("the retried run's report differs from a fault-free run's: %s", diffLines(got, want))
	}

	// Nothing is failed any more: a second retry asks nothing.
	calls = callCounts(f, models...)
	_, stderr, err = runCLI(t, "retry", "--run", "retried", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--nats-nkey", sys.clientSeed(), "--wait")
	if err != nil || !strings.Contains(stderr, "has no failed generations or judgments: nothing to retry") {
		t.Errorf("second retry: %v\n%s", err, stderr)
	}
	if after := callCounts(f, models...); !mapsEqual(after, calls) {
		t.Errorf("a second retry made calls: before %v, after %v", calls, after)
	}
	if n := len(bustest.Stored[eval.RetryRequest](t, b, bus.StreamEvents, bus.RunRetries("retried"))); n != failed+2 {
		t.Errorf("%d retry requests stored, want %d", n, failed+2)
	}
	forgedRetries(t, sys, "retried", qa[5])
}

// forgedRetries publishes, as the client identity, retry requests of run
// (complete, retried once, nothing failed) for sample, whose results all
// succeeded: attempt 2 for ft's generation and judge-a's pair, and an
// attempt of MaxInt64. Nothing is asked or published again, the huge
// attempt reopens nothing, and assay retry still numbers its attempt.
func forgedRetries(t *testing.T, sys *system, run string, sample eval.Sample) {
	t.Helper()
	ctx := t.Context()
	b := sys.Env.Bus
	client := connectAs(t, ctx, sys.URL, sys.clientSeed())
	var ref eval.SampleRef
	for _, g := range bustest.Stored[eval.Generation](t, b, bus.StreamGens, bus.GensSubject(run, "ft")) {
		if g.Sample.ID == sample.ID && g.Sample.Suite == sample.Suite {
			ref = g.Sample
		}
	}
	gens := len(bustest.Stored[eval.Generation](t, b, bus.StreamGens, bus.RunGens(run)))
	judgments := len(bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments, bus.RunJudgments(run)))
	forge := func(attempt int, judge string, last bool) {
		t.Helper()
		r := eval.RetryRequest{V: eval.Version, Run: run, Attempt: attempt, Variant: "ft", Judge: judge, Sample: ref, Last: last, At: time.Now()}
		stage, member := bus.StageInfer, "ft"
		if judge != "" {
			stage, member = bus.StageJudge, judge
		}
		if _, err := client.Publish(ctx, bus.RetrySubject(run, stage, member), fmt.Sprintf("forged-%d-%s", attempt, judge), r); err != nil {
			t.Fatal(err)
		}
	}
	forge(1<<63-1, "", true)
	forge(2, "judge-a", false)
	forge(2, "", true)
	refusals := func() (n int) {
		for _, dl := range bustest.Stored[eval.DeadLetter](t, b, bus.StreamDLQ, bus.RunDLQ(run)) {
			if strings.Contains(dl.Reason, "did not fail: nothing to ask again") || strings.Contains(dl.Reason, "outside 1..1000") {
				n++
			}
		}
		return n
	}
	bustest.Eventually(t, time.Minute, func() error {
		st, err := b.Status(ctx, run)
		if err != nil {
			return err
		}
		// The huge attempt is refused by the report stage and by infer,
		// attempt 2 by infer and by the judge stage.
		if n := refusals(); st.Retry != 2 || st.State != eval.StateComplete || n != 4 {
			return fmt.Errorf("status retry %d state %s, %d refusals", st.Retry, st.State, n)
		}
		return nil
	})
	if n := len(bustest.Stored[eval.Generation](t, b, bus.StreamGens, bus.RunGens(run))); n != gens {
		t.Errorf("forged retries published %d generations", n-gens)
	}
	if n := len(bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments, bus.RunJudgments(run))); n != judgments {
		t.Errorf("forged retries published %d judgments", n-judgments)
	}
	rep := readReport(t, writeReport(t, sys, run, "json"))
	if countFailed(rep) != 0 || rep.Counts.JudgeErrors != 0 || rep.Counts.Errors != 0 {
		t.Errorf("after forged retries the report counts %+v", rep.Counts)
	}
	if !slices.ContainsFunc(rep.Warnings, func(w string) bool {
		return strings.HasPrefix(w, "3 retry requests were refused, so the results they named stand")
	}) {
		t.Errorf("no warning counts the refused retry requests: %q", rep.Warnings)
	}
}

// TestRetryRefused: a running run, a continuous one, an unknown variant
// and an unknown run are refused, and nothing is asked.
func TestRetryRefused(t *testing.T) {
	f := newFixture(t, "refused", retryPersonas())
	sys := runToCompletion(t, loadRetrySpec(t, f, "refused", f.url))
	b := sys.Env.Bus
	if _, stderr, err := runCLI(t, "retry", "--run", "refused", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--nats-nkey", sys.clientSeed(), "--variant", "nope"); exitCode(err, false) != exitUsage || !strings.Contains(err.Error(), `no variant "nope": use one of base, ft, int4`) {
		t.Errorf("unknown variant: exit %d, %v\n%s", exitCode(err, false), err, stderr)
	}
	if _, _, err := runCLI(t, "retry", "--run", "nosuch", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--nats-nkey", sys.clientSeed()); exitCode(err, false) != exitUnevaluated || !strings.Contains(err.Error(), `run "nosuch" does not exist`) {
		t.Errorf("unknown run: exit %d, %v", exitCode(err, false), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.PutStatus(ctx, &eval.RunStatus{Run: "refused", State: eval.StateRunning}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "retry", "--run", "refused", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--nats-nkey", sys.clientSeed()); exitCode(err, false) != exitUsage || !errors.Is(err, errRunning) {
		t.Errorf("running run: exit %d, %v", exitCode(err, false), err)
	}
	waitComplete(t, b, "refused", 90*time.Second)
	if _, stderr, err := runCLI(t, "retry", "--run", "refused", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--nats-nkey", sys.clientSeed()); err != nil || !strings.Contains(stderr, "run refused has no failed generations or judgments") {
		t.Errorf("a run without failures: %v\n%s", err, stderr)
	}
	// A retry whose requests are stored but whose run the report stage
	// has not reopened yet (its last request is still to come): another
	// would ask the same failures again.
	waiting := eval.RetryRequest{V: eval.Version, Run: "refused", Attempt: 1, Variant: "ft", Sample: eval.SampleRef{ID: "x", Suite: "qa", Seq: 1}, At: time.Now()}
	if _, err := b.Publish(ctx, bus.RetrySubject("refused", bus.StageInfer, "ft"), "waiting-retry", waiting); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "retry", "--run", "refused", "--nats", sys.URL, "--nats-nkey", sys.clientSeed()); exitCode(err, false) != exitUsage ||
		!strings.Contains(fmt.Sprint(err), "retry 1 of run refused is waiting for the report stage to reopen the run") {
		t.Errorf("a retry while another waits: exit %d, %v", exitCode(err, false), err)
	}
}

// newJudgeRequests counts the judge calls a retry of run must make: the
// pairs of samples (ft and int4 against base) whose judge request —
// the sample and the two answers — no pair of the run had before the
// retry, in two orders by two judges. Pairs whose answers are the same as
// an earlier pair's are answered by the judge's cache.
func newJudgeRequests(t *testing.T, b *bus.Bus, run string, samples []eval.Sample) int {
	t.Helper()
	type key struct{ variant, sample string }
	first, last := map[key]eval.Generation{}, map[key]eval.Generation{}
	for _, g := range bustest.Stored[eval.Generation](t, b, bus.StreamGens, bus.RunGens(run)) {
		k := key{g.Variant, g.Sample.ID}
		if g.Retry == 0 {
			first[k] = g
		}
		if l, ok := last[k]; !ok || g.Retry >= l.Retry {
			last[k] = g
		}
	}
	asked := map[[3]string]bool{}
	for _, s := range samples {
		for _, cand := range []string{"ft", "int4"} {
			c, bs := first[key{cand, s.ID}], first[key{"base", s.ID}]
			if c.Error == "" && bs.Error == "" {
				asked[[3]string{s.ID, c.Output, bs.Output}] = true
			}
		}
	}
	n := 0
	for _, s := range samples {
		for _, cand := range []string{"ft", "int4"} {
			c, bs := last[key{cand, s.ID}], last[key{"base", s.ID}]
			if k := [3]string{s.ID, c.Output, bs.Output}; !asked[k] {
				asked[k] = true
				n++
			}
		}
	}
	return n * 2 * 2
}

// judgeRequests counts the calls judge-a makes to judge a sample's pairs
// again: two orders of each distinct pair of answers.
func judgeRequests(t *testing.T, b *bus.Bus, run string, s eval.Sample) int {
	t.Helper()
	out := map[string]string{}
	for _, g := range bustest.Stored[eval.Generation](t, b, bus.StreamGens, bus.RunGens(run)) {
		if g.Sample.ID == s.ID {
			out[g.Variant] = g.Output
		}
	}
	distinct := map[[2]string]bool{{out["ft"], out["base"]}: true, {out["int4"], out["base"]}: true}
	return len(distinct) * 2
}

// jsonText is s as it appears inside a JSON string.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// countFailed counts the report's failed generations.
func countFailed(rep *document.Report) int { return rep.Counts.GenerationErrors }

// reportNumbers is a report without what differs between two runs of one
// spec: its name, times and the endpoint's address.
func reportNumbers(t *testing.T, rep *document.Report, run, url string) string {
	t.Helper()
	r := *rep
	r.Timing = document.Timing{}
	// The ranking's bootstrap is seeded by the run's name.
	r.Ranking = slices.Clone(r.Ranking)
	for i := range r.Ranking {
		r.Ranking[i].CI = nil
	}
	data, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(data), url, "URL")
	return strings.ReplaceAll(s, `"`+run+`"`, `"RUN"`)
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
