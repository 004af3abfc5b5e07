package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// scriptedEndpoint is an OpenAI-compatible server written for these tests
// apart from the simulator: it serves the models it lists, answers every
// question correctly (the same answer from every model, so that two models
// differ only in how they fail), judges every pair a tie, and fails as the
// test scripts it to. A request with "stream": true is answered as
// server-sent events, a few words a chunk.
type scriptedEndpoint struct {
	srv    *httptest.Server
	models []string
	// key, when set, is the bearer key every request must carry.
	key string
	// fault, when set, may answer a chat call instead: attempt counts the
	// calls for the same model and question, from 1.
	fault func(model, question string, attempt int) (status int, body string, failed bool)
	// answer, when set, answers a model's last question instead of
	// answerOf.
	answer func(model, question string) string

	mu       sync.Mutex
	calls    map[string]int // chat calls per model
	attempts map[string]int // per model and question
	judged   []string       // the judge prompts, in arrival order
}

func newScriptedEndpoint(t *testing.T, models ...string) *scriptedEndpoint {
	t.Helper()
	e := &scriptedEndpoint{models: models, calls: map[string]int{}, attempts: map[string]int{}}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *scriptedEndpoint) url() string { return e.srv.URL + "/v1" }

func (e *scriptedEndpoint) chatCalls(model string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[model]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiErr(msg string) map[string]any {
	return map[string]any{"error": map[string]any{"message": msg}}
}

func (e *scriptedEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if e.key != "" && r.Header.Get("Authorization") != "Bearer "+e.key {
		writeJSON(w, http.StatusUnauthorized, apiErr("Incorrect API key provided"))
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		var data []map[string]any
		for _, m := range e.models {
			data = append(data, map[string]any{"id": m, "object": "model", "owned_by": "test"})
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
		return
	case r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions":
		writeJSON(w, http.StatusNotFound, apiErr("no route "+r.URL.Path))
		return
	}
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) == 0 {
		writeJSON(w, http.StatusBadRequest, apiErr("bad request"))
		return
	}
	question := req.Messages[len(req.Messages)-1].Content
	e.mu.Lock()
	e.calls[req.Model]++
	e.attempts[req.Model+"\x00"+question]++
	attempt := e.attempts[req.Model+"\x00"+question]
	e.mu.Unlock()
	served := false
	for _, m := range e.models {
		served = served || m == req.Model
	}
	if !served {
		writeJSON(w, http.StatusNotFound, apiErr(fmt.Sprintf("The model `%s` does not exist.", req.Model)))
		return
	}
	if e.fault != nil {
		if status, body, failed := e.fault(req.Model, question, attempt); failed {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, body)
			return
		}
	}
	answer := answerOf(question)
	if e.answer != nil {
		answer = e.answer(req.Model, question)
	}
	if strings.Contains(question, eval.MarkAStart) || strings.Contains(question, eval.MarkConvAStart) {
		e.mu.Lock()
		e.judged = append(e.judged, question)
		e.mu.Unlock()
		answer = `{"winner": "tie", "scores": {"A": {"correctness": 8}, "B": {"correctness": 8}}, "reason": "The answers are the same."}`
	}
	if req.Stream {
		streamAnswer(w, req.Model, answer)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "c1", "object": "chat.completion", "model": req.Model,
		"choices": []map[string]any{{"index": 0, "message": map[string]any{"role": "assistant", "content": answer}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
	})
}

// streamAnswer writes answer as an OpenAI stream: chunks of a few words
// each, a moment apart as a model's tokens are, then the usage and [DONE].
func streamAnswer(w http.ResponseWriter, model, answer string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	event := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": model,
			"choices": []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	var pieces []string
	for rest := answer; rest != ""; {
		n := len(rest)
		if i := strings.IndexByte(rest[min(8, len(rest)-1):], ' '); i >= 0 {
			n = min(8, len(rest)-1) + i + 1
		}
		pieces, rest = append(pieces, rest[:n]), rest[n:]
	}
	event(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for _, p := range pieces {
		// The pacing of a model's tokens, so that the time to the first
		// token and between tokens are something to measure.
		time.Sleep(time.Millisecond)
		event(chunk(map[string]any{"content": p}, nil))
	}
	event(chunk(map[string]any{}, "stop"))
	event(map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": model, "choices": []any{},
		"usage": map[string]any{"prompt_tokens": 12, "completion_tokens": len(pieces), "total_tokens": 12 + len(pieces)}})
	io.WriteString(w, "data: [DONE]\n\n")
}

// answerOf answers "What is N plus 7?" correctly.
func answerOf(question string) string {
	var n int
	if _, err := fmt.Sscanf(question, "What is %d plus 7?", &n); err == nil {
		return strconv.Itoa(n + 7)
	}
	return "I do not know."
}

// failing picks 30% of the suite's questions: 6 of 20 (100–102, 110–112).
func failing(question string) bool {
	var n int
	_, err := fmt.Sscanf(question, "What is %d plus 7?", &n)
	return err == nil && n%10 < 3
}

// setupSuite writes n questions, and bad malformed lines after them.
func setupSuite(t *testing.T, dir string, n, bad int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id": "q%02d", "prompt": "What is %d plus 7? Answer with the number only.", "reference": "%d"}`+"\n", i, 100+i, 107+i)
	}
	for i := range bad {
		fmt.Fprintf(&b, `{"id": "bad%d", "prompt": `+"\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "qa.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// brokenSpec is a run of base against ft judged by judge; keyEnv is the
// api_key_env of base and the judge, ftKeyEnv ft's.
func brokenSpec(t *testing.T, dir, baseURL, ftURL, ftModel, keyEnv, ftKeyEnv, judgeModel string) string {
	t.Helper()
	key := func(env string) string {
		if env == "" {
			return ""
		}
		return ", api_key_env: " + env
	}
	spec := fmt.Sprintf(`run: broken
baseline: base
variants:
  - {name: base, base_url: %[1]s, model: base, stream: false%[2]s}
  - {name: ft, base_url: %[3]s, model: %[4]s, stream: false%[5]s}
decoding: {temperature: 0, max_tokens: 32}
retry: {max_attempts: 3, initial_backoff: 1ms, max_backoff: 5ms}
suites:
  - {name: qa, path: qa.jsonl, metrics: [em, num_match]}
judges:
  - {name: judge, base_url: %[1]s, model: %[6]s%[2]s}
gate:
  # These runs are about failures, not statistics: the judge calls every
  # pair a tie, and the gate compares the win rate itself with 0.5.
  policy: point
  win_rate_min: 0.5
`, baseURL, key(keyEnv), ftURL, ftModel, key(ftKeyEnv), judgeModel)
	p := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cliRun is one `assay run` in this process: its exit status, what it
// printed, and the report it saved, if any.
type cliRun struct {
	code           int
	stdout, stderr string
	rep            *document.Report
	// md is report.md, when it was written.
	md string
}

func runLocalCLI(t *testing.T, args ...string) cliRun {
	t.Helper()
	out := t.TempDir()
	args = append(args, "--data", t.TempDir(), "--out", out)
	stdout, stderr, err := runCLI(t, args...)
	var errs strings.Builder
	printError(&errs, nil, err, false)
	r := cliRun{code: exitCode(err, false), stdout: stdout, stderr: stderr + errs.String()}
	if data, err := os.ReadFile(filepath.Join(out, "report.md")); err == nil {
		r.md = string(data)
	}
	if data, err := os.ReadFile(filepath.Join(out, "report.json")); err == nil {
		r.rep = &document.Report{}
		if err := json.Unmarshal(data, r.rep); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// firstLine is the first non-empty line of s, and firstAssayLine the first
// one assay prints about an error.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if strings.TrimSpace(line) != "" {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

func firstAssayLine(s string) string {
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, "assay: ") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// TestBrokenSetups: a setup that is broken never poses as a model result.
// Each case runs against a real HTTP server and checks the exit status,
// the first line that names the cause, the report's warnings, and that no
// verdict of pass or fail and no metric comes from a failure.
func TestBrokenSetups(t *testing.T) {
	t.Setenv("ASSAY_NATS", "")
	t.Setenv("ASSAY_TEST_KEY", "right-key")
	t.Setenv("ASSAY_TEST_FT_KEY", "wrong-key")
	os.Unsetenv("ASSAY_TEST_UNSET_KEY")
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/v1"

	type setup struct {
		ftURL, ftModel, ftKeyEnv, judgeModel string
		// key, when set, is the key the endpoint wants, which base and the
		// judge have (ASSAY_TEST_KEY).
		key   string
		fault func(model, question string, attempt int) (int, string, bool)
	}
	// preflightCases never reach the pipeline: preflight stops them before
	// anything is submitted or paid for. With --no-preflight the services
	// check again and fail every generation (or judgment) at once.
	// failedGens is how many of the 20 generations fail with
	// --no-preflight: every one of ft's, or none when the judge is broken.
	preflightCases := []struct {
		name       string
		setup      setup
		cause      string
		failedGens int
	}{
		{"nothing listening", setup{ftURL: closed}, "connection refused", 20},
		{"unknown model", setup{ftModel: "sft"}, `model "sft" is not served`, 20},
		{"unset key", setup{ftKeyEnv: "ASSAY_TEST_UNSET_KEY"}, "ASSAY_TEST_UNSET_KEY", 20},
		{"401", setup{ftKeyEnv: "ASSAY_TEST_FT_KEY", key: "right-key"}, "credentials rejected", 20},
		{"judge model unknown", setup{judgeModel: "gpt-judge-typo"}, `model "gpt-judge-typo" is not served`, 0},
	}
	start := func(t *testing.T, s setup) (*scriptedEndpoint, string) {
		t.Helper()
		ep := newScriptedEndpoint(t, "base", "ft", "judge")
		ep.fault, ep.key = s.fault, s.key
		keyEnv := ""
		if s.key != "" {
			keyEnv = "ASSAY_TEST_KEY"
		}
		dir := t.TempDir()
		setupSuite(t, dir, 20, 0)
		ftURL, ftModel, judgeModel := s.ftURL, s.ftModel, s.judgeModel
		if ftURL == "" {
			ftURL = ep.url()
		}
		if ftModel == "" {
			ftModel = "ft"
		}
		if judgeModel == "" {
			judgeModel = "judge"
		}
		return ep, brokenSpec(t, dir, ep.url(), ftURL, ftModel, keyEnv, s.ftKeyEnv, judgeModel)
	}
	for _, c := range preflightCases {
		t.Run(c.name, func(t *testing.T) {
			ep, spec := start(t, c.setup)
			r := runLocalCLI(t, "run", "-f", spec)
			if r.code != exitUnevaluated {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, exitUnevaluated, r.stdout, r.stderr)
			}
			if first := firstAssayLine(r.stderr); !strings.Contains(first, "preflight") || !strings.Contains(first, c.cause) {
				t.Errorf("first line %q does not name %q:\n%s", first, c.cause, r.stderr)
			}
			if r.rep != nil {
				t.Errorf("a report was written for a run that was never submitted")
			}
			for _, m := range []string{"base", "ft"} {
				if n := ep.chatCalls(m); n > 1 {
					t.Errorf("%s: %d chat calls before anything was submitted (at most one 1-token check)", m, n)
				}
			}

			// The same setup with --no-preflight: the services find the
			// problem, answer nothing, and the report says so.
			r = runLocalCLI(t, "run", "-f", spec, "--no-preflight")
			notEvaluated(t, r, c.cause, c.failedGens)
		})
	}

	t.Run("30% of calls fail for good", func(t *testing.T) {
		_, spec := start(t, setup{fault: func(model, q string, _ int) (int, string, bool) {
			return 503, `{"error": {"message": "overloaded"}}`, model == "ft" && failing(q)
		}})
		r := runLocalCLI(t, "run", "-f", spec)
		notEvaluated(t, r, "HTTP 503", 6)
		if !strings.Contains(firstLine(r.stdout), "ft:") || !strings.Contains(firstLine(r.stdout), "of generations failed") {
			t.Errorf("the summary does not start with the failure rate: %q", firstLine(r.stdout))
		}
	})

	t.Run("malformed 200 bodies are retried", func(t *testing.T) {
		ep, spec := start(t, setup{fault: func(model, q string, attempt int) (int, string, bool) {
			return 200, `{"id": "x", "choices": [`, model == "ft" && failing(q) && attempt == 1
		}})
		r := runLocalCLI(t, "run", "-f", spec)
		if r.code != 0 || r.rep == nil || r.rep.Gate.Verdict != document.VerdictPass || r.rep.Counts.Errors != 0 {
			t.Fatalf("exit %d, report %+v\nstdout:\n%s\nstderr:\n%s", r.code, r.rep, r.stdout, r.stderr)
		}
		if n := ep.chatCalls("ft"); n != 26 {
			t.Errorf("ft: %d calls for 20 questions, want 26: each of the 6 cut-off bodies retried once", n)
		}
	})

	t.Run("malformed 200 bodies for good", func(t *testing.T) {
		_, spec := start(t, setup{fault: func(model, q string, _ int) (int, string, bool) {
			return 200, `<html>upstream error</html>`, model == "ft" && failing(q)
		}})
		notEvaluated(t, runLocalCLI(t, "run", "-f", spec), "malformed", 6)
	})

	t.Run("4 of 17 dataset lines malformed", func(t *testing.T) {
		ep := newScriptedEndpoint(t, "base", "ft", "judge")
		dir := t.TempDir()
		setupSuite(t, dir, 13, 4)
		spec := brokenSpec(t, dir, ep.url(), ep.url(), "ft", "", "", "judge")
		r := runLocalCLI(t, "run", "-f", spec)
		if r.code != exitUnevaluated || r.rep == nil || r.rep.Gate.Verdict != document.VerdictError {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if first := firstLine(r.stdout); !strings.Contains(first, "4 of 17 dataset records were malformed") || !strings.Contains(first, "qa.jsonl:14") {
			t.Errorf("first line %q does not name the skipped records", first)
		}
		if !strings.Contains(r.stdout, "skipped 4 malformed dataset records") {
			t.Errorf("the terminal does not list the skipped records:\n%s", r.stdout)
		}
		if w := strings.Join(r.rep.Warnings, "\n"); !strings.Contains(w, "4 malformed dataset lines") {
			t.Errorf("the report's warnings do not name the malformed lines:\n%s", w)
		}
	})
}

// notEvaluated checks a run of 20 questions that went through the
// pipeline but could not be evaluated: exit 3, the cause named on the
// first line of the summary and of assay's error, in the report's warnings
// and failures, a verdict of error, and no metric, rate or win rate
// computed from a failure. failedGens of ft's generations failed (their
// pairs are never judged); with none failed, the judge failed on every
// pair.
func notEvaluated(t *testing.T, r cliRun, cause string, failedGens int) {
	t.Helper()
	if r.code != exitUnevaluated {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, exitUnevaluated, r.stdout, r.stderr)
	}
	if r.rep == nil {
		t.Fatalf("no report\nstderr:\n%s", r.stderr)
	}
	rep := r.rep
	if rep.Gate.Verdict != document.VerdictError || rep.Gate.Passed {
		t.Errorf("gate %+v: a run that could not be evaluated neither passes nor fails", rep.Gate)
	}
	if first := firstLine(r.stdout); !strings.HasPrefix(first, "the run could not be evaluated: ") || !strings.Contains(first, cause) {
		t.Errorf("the summary's first line %q does not name %q", first, cause)
	}
	if first := firstAssayLine(r.stderr); !strings.Contains(first, "could not be evaluated") || !strings.Contains(first, cause) {
		t.Errorf("assay's first line %q does not name %q", first, cause)
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), cause) {
		t.Errorf("warnings %q do not name %q", rep.Warnings, cause)
	}
	found := false
	for _, f := range rep.Failures {
		found = found || strings.Contains(f.Cause, cause) || strings.Contains(f.Example, cause)
	}
	if !found {
		t.Errorf("failures %+v do not count %q", rep.Failures, cause)
	}
	// Every question is answered right whenever it is answered: a metric
	// computed from a failure would be below 1.
	for _, m := range rep.Metrics {
		if m.Mean != nil && *m.Mean != 1 {
			t.Errorf("metric %s/%s %s = %v over %d: a failure was scored", m.Suite, m.Metric, m.Variant, *m.Mean, m.N)
		}
		if m.N == 0 && (m.Mean != nil || m.CI != nil) {
			t.Errorf("metric %+v over nothing has a value", m)
		}
	}
	if len(rep.Pairwise) != 1 {
		t.Fatalf("pairwise %+v: want ft against base by the one judge", rep.Pairwise)
	}
	// The scripted judge calls every pair it sees a tie, so a judged
	// failure shows in the counts rather than in the win rate.
	p := rep.Pairwise[0]
	judgeErrs := 0
	if failedGens == 0 {
		judgeErrs = 20
	}
	if p.GenerationErrors != failedGens || p.Errors != judgeErrs || p.N != 20-failedGens-judgeErrs || p.Wins+p.Losses+p.Ties != p.N {
		t.Errorf("pairwise: %d judged, %d with a failed generation, %d the judge failed on; want %d, %d, %d",
			p.N, p.GenerationErrors, p.Errors, 20-failedGens-judgeErrs, failedGens, judgeErrs)
	}
	if p.N > 0 && (p.WinRate == nil || *p.WinRate != 0.5) {
		t.Errorf("win rate %v over %d pairs: want exactly 0.5", p.WinRate, p.N)
	}
	if p.N == 0 && p.WinRate != nil {
		t.Errorf("win rate %v over no pair", *p.WinRate)
	}
	for _, d := range rep.Deltas {
		if d.Delta != 0 {
			t.Errorf("delta %+v: a failure was compared", d)
		}
	}
}

// TestIdenticalModelsWithFailures: two models that answer alike but fail
// on different questions differ by exactly nothing: every delta is 0 and
// the win rate exactly 0.5, because a failure is left out, never scored.
// Decided on intervals, a gate asking for a win rate of at least 0.5 then
// cannot tell: the verdict is inconclusive and assay exits 4.
func TestIdenticalModelsWithFailures(t *testing.T) {
	t.Setenv("ASSAY_NATS", "")
	ep := newScriptedEndpoint(t, "base", "ft", "judge")
	ep.fault = func(model, q string, _ int) (int, string, bool) {
		var n int
		fmt.Sscanf(q, "What is %d plus 7?", &n)
		switch model {
		case "base":
			return 500, `{"error": {"message": "internal error"}}`, n%10 == 5 // 2 of 20
		case "ft":
			return 503, `{"error": {"message": "overloaded"}}`, n%10 < 3 // 6 of 20
		}
		return 0, "", false
	}
	dir := t.TempDir()
	setupSuite(t, dir, 20, 0)
	spec := brokenSpec(t, dir, ep.url(), ep.url(), "ft", "", "", "judge")
	data, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	// The failures are on purpose: allow them, so that the gate decides.
	// The gate's policy is the default, intervals.
	data = bytes.Replace(data, []byte("  policy: point\n"), nil, 1)
	if err := os.WriteFile(spec, []byte(string(data)+"  error_rate_max: 0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runLocalCLI(t, "run", "-f", spec)
	if r.code != exitInconclusive || r.rep == nil {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, exitInconclusive, r.stdout, r.stderr)
	}
	rep := r.rep
	if g := rep.Gate; g.Verdict != document.VerdictInconclusive || g.Passed || g.Verdicts["ft"] != document.VerdictInconclusive || g.Policy != eval.GatePolicyInterval {
		t.Errorf("gate %+v", g)
	}
	if !strings.Contains(r.stdout, "\nwin_rate_min for ft: 0.500 ") || !strings.HasSuffix(strings.TrimSpace(r.stdout[:strings.Index(r.stdout, "\nreport:")]), "gate: INCONCLUSIVE (win_rate_min for ft)") {
		t.Errorf("the summary does not say what is undecided:\n%s", r.stdout)
	}
	if firstAssayLine(r.stderr) != "" {
		t.Errorf("an inconclusive gate is no error: %q", firstAssayLine(r.stderr))
	}
	if len(rep.Deltas) != 2 {
		t.Fatalf("deltas %+v", rep.Deltas)
	}
	for _, d := range rep.Deltas {
		if d.Delta != 0 || d.N != 12 || d.Excluded != 8 {
			t.Errorf("delta %+v: want exactly 0 over the 12 questions both answered, 8 excluded", d)
		}
	}
	if len(rep.Pairwise) != 1 || rep.Pairwise[0].WinRate == nil || *rep.Pairwise[0].WinRate != 0.5 || rep.Pairwise[0].GenerationErrors != 8 {
		t.Errorf("pairwise %+v: want a win rate of exactly 0.5 over the 12 pairs judged", rep.Pairwise)
	}
	for _, m := range rep.Metrics {
		errs := map[string]int{"base": 2, "ft": 6}[m.Variant]
		if m.Mean == nil || *m.Mean != 1 || m.N != 20-errs || m.Errors != errs {
			t.Errorf("metric %+v: every answer is right; the %d failures are counted, not scored", m, errs)
		}
	}
	if c := rep.Counts; c.GenerationErrors != 8 || c.JudgeErrors != 0 {
		t.Errorf("counts %+v", c)
	}
}

// TestCheckpointVerdictIsItsOwn: a checkpoint whose endpoint is down makes
// the run's verdict error, but a later, working checkpoint is judged on its
// own: assay checkpoint --wait exits by that checkpoint's verdict.
func TestCheckpointVerdictIsItsOwn(t *testing.T) {
	t.Setenv("ASSAY_NATS", "")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop() })
	ep := newScriptedEndpoint(t, "base", "ft", "judge", "ck-good")
	dir := t.TempDir()
	setupSuite(t, dir, 10, 0)
	spec := brokenSpec(t, dir, ep.url(), ep.url(), "ft", "", "", "judge")
	out := t.TempDir()
	if _, stderr, err := runCLI(t, "run", "-f", spec, "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--wait", "--out", out); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/v1"
	_, stderr, err := runCLI(t, "checkpoint", "--run", "broken", "--variant", "ck-bad", "--base-url", closed, "--model", "ck-bad",
		"--no-preflight", "--wait", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out)
	if got := exitCode(err, false); got != exitUnevaluated || !strings.Contains(err.Error(), "checkpoint ck-bad could not be evaluated") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("the broken checkpoint: exit %d, %v\n%s", got, err, stderr)
	}
	stdout, stderr, err := runCLI(t, "checkpoint", "--run", "broken", "--variant", "ck-good", "--base-url", ep.url(), "--model", "ck-good",
		"--wait", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out)
	if err != nil {
		t.Fatalf("the working checkpoint: exit %d, %v\n%s\n%s", exitCode(err, false), err, stdout, stderr)
	}
	if !strings.Contains(stdout, "checkpoint ck-good: gate PASSED") {
		t.Errorf("stdout:\n%s", stdout)
	}
	rep := readReport(t, out)
	if rep.Gate.Verdict != document.VerdictError || rep.Gate.Verdicts["ck-bad"] != document.VerdictError || rep.Gate.Verdicts["ck-good"] != document.VerdictPass {
		t.Errorf("gate %+v", rep.Gate)
	}
}

// TestIngestFailsMidRead: a suite whose file is cut short in the middle
// (a gzip stream truncated in transfer) is read up to the damage; the
// samples read before it are answered once each, and the run ends as an
// error naming the suite and the cause, with no verdict.
func TestIngestFailsMidRead(t *testing.T) {
	t.Setenv("ASSAY_NATS", "")
	ep := newScriptedEndpoint(t, "base", "ft", "judge")
	dir := t.TempDir()
	var lines bytes.Buffer
	for i := range 3000 {
		fmt.Fprintf(&lines, `{"id": "q%04d", "prompt": "What is %d plus 7? Answer with the number only.", "reference": "%d"}`+"\n", i, 1000+i, 1007+i)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.NoCompression) // the cut lands mid-file, not mid-header
	zw.Write(lines.Bytes())
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "qa.jsonl.gz"), z.Bytes()[:z.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	spec := brokenSpec(t, dir, ep.url(), ep.url(), "ft", "", "", "judge")
	data, _ := os.ReadFile(spec)
	if err := os.WriteFile(spec, bytes.Replace(data, []byte("path: qa.jsonl,"), []byte("path: qa.jsonl.gz,"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runLocalCLI(t, "run", "-f", spec)
	if r.code != exitUnevaluated {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if first := firstAssayLine(r.stderr); !strings.Contains(first, "suite qa") || !strings.Contains(first, "cut short") {
		t.Errorf("first line %q does not name the suite and the cause", first)
	}
	if r.rep != nil && (r.rep.Complete || r.rep.Gate.Verdict != document.VerdictError || r.rep.Gate.Passed) {
		t.Errorf("report: complete %v, gate %+v", r.rep.Complete, r.rep.Gate)
	}
	if len(ep.attempts) == 0 {
		t.Error("nothing read before the damage was answered: the cut is not mid-read")
	}
	// What was read before the damage may have been answered; nothing was
	// paid for twice.
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for k, n := range ep.attempts {
		if n > 1 {
			t.Errorf("%q asked %d times", k, n)
		}
	}
}
