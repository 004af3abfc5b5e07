package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/report/document"
)

// compareRun is the run of TestComparePairsJudgedEndToEnd: its samples,
// personas and simulator, the prompts the mounted adapter differs on, and
// the simulator's URL, behind wrap when it is not nil.
type compareRun struct {
	samples  []eval.Sample
	personas []llmsim.Persona
	sim      *llmsim.Sim
	on       []string
	url      string
	spec     func(url string) *eval.RunSpec
	// prompts are the distinct prompts each judge is asked, as far as
	// the oracle went.
	prompts map[string]map[[3]string]bool
}

func newCompareRun(t *testing.T, wrap func(http.Handler) http.Handler) *compareRun {
	t.Helper()
	dir := t.TempDir()
	writeDemoSuites(t, dir, "business", "qa")
	cr := &compareRun{}
	cr.spec = func(url string) *eval.RunSpec {
		t.Helper()
		y := fmt.Sprintf(`run: cmpj
baseline: base
variants:
  - {name: base, base_url: %[1]s, model: c-base}
  - {name: ft-merged, base_url: %[1]s, model: c-merged}
  - {name: ft-mounted, base_url: %[1]s, model: c-mounted}
decoding: {temperature: 0, max_tokens: 256, seed: 1}
suites:
  - {name: business, role: business, path: business.jsonl, metrics: [json_valid, json_fields]}
  - {name: qa, role: benchmark, path: qa.jsonl, metrics: [em]}
judges:
  - {name: j1, base_url: %[1]s, model: c-judge-1, concurrency: 4}
  - {name: j2, base_url: %[1]s, model: c-judge-2, concurrency: 4, response_format: false}
compare: [[ft-mounted, ft-merged], [base, ft-merged]]
`, url)
		p := filepath.Join(dir, "run.yaml")
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := eval.LoadSpec(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cr.samples = readSamples(t, cr.spec("http://127.0.0.1:1/v1"))
	for i, s := range cr.samples {
		if i%3 == 0 {
			cr.on = append(cr.on, llmsim.PromptKey(s.Messages))
		}
	}
	cr.personas = []llmsim.Persona{
		{Name: "c-base", Accuracy: 0.5, Refusal: 0.03},
		{Name: "c-merged", Accuracy: 0.75, Refusal: 0.03, JSONBreak: 0.05},
		{Name: "c-mounted", Like: "c-merged", DifferOn: cr.on, Accuracy: 0.4, Verbosity: 1, JSONBreak: 0.3},
		{Name: "c-judge-1", Judge: true, PositionBias: 0.2, TagFallback: 0.2},
		{Name: "c-judge-2", Judge: true},
	}
	cr.sim = llmsim.New(llmsim.Options{Seed: 5, Personas: cr.personas, Key: llmsim.KeyFromSamples(cr.samples)})
	var h http.Handler = cr.sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cr.url = srv.URL + "/v1"
	return cr
}

// TestComparePairsJudgedEndToEnd: merged fine-tuned weights, and the same
// adapter mounted at run time that answers otherwise on a known third of
// the prompts (differ_on); the spec compares the mounted adapter with the
// merged weights, and the baseline with the merged weights (a pair the
// run judges already), under two judges. Each judge's wins, losses and
// ties on mounted against merged are what the simulated judge decides
// for each sample in both orders — ties wherever the two answered alike —
// and the baseline's pairwise rows are the oracle's too; [base,
// ft-merged] is ft-merged's row turned round. Progress expects the
// compare pair's judgments, and each judge is asked each distinct prompt
// once: the compare pair's included, nothing more.
func TestComparePairsJudgedEndToEnd(t *testing.T) {
	cr := newCompareRun(t, nil)
	samples, sim, on := cr.samples, cr.sim, cr.on
	sys := runToCompletion(t, cr.spec(cr.url))
	out := writeReport(t, sys, "cmpj", "json,md")
	rep := readReport(t, out)
	oracle, check, row := cr.oracle, cr.check(t), compareRow(t)
	for _, judge := range []string{"j1", "j2"} {
		for _, cand := range []string{"ft-merged", "ft-mounted"} {
			check(judge+" on "+cand, row(rep.Pairwise, judge, cand, "base"), oracle(judge, cand, "base"))
		}
		want := oracle(judge, "ft-mounted", "ft-merged")
		// Where the adapter answers as the merged weights, the judge sees
		// the same answer twice: a tie, whatever its position bias.
		if want.alike != len(samples)-len(on) || want.wins+want.losses == 0 || want.wins+want.losses > len(on) {
			t.Fatalf("%s: %d of %d answers alike, %d decided, with %d prompts to differ on: the personas do not part as the test needs",
				judge, want.alike, len(samples), want.wins+want.losses, len(on))
		}
		check(judge+" on ft-mounted against ft-merged", row(rep.ComparePairwise, judge, "ft-mounted", "ft-merged"), want)
		merged := oracle(judge, "ft-merged", "base")
		turned := counts{wins: merged.losses, losses: merged.wins, ties: merged.ties, flips: merged.flips}
		check(judge+" on base against ft-merged", row(rep.ComparePairwise, judge, "base", "ft-merged"), turned)
	}
	if len(rep.Pairwise) != 4 || len(rep.ComparePairwise) != 4 {
		t.Errorf("%d pairwise rows and %d compare rows, want 2 judges × 2 each", len(rep.Pairwise), len(rep.ComparePairwise))
	}
	for _, a := range rep.Agreement {
		if a.Variant != "ft-merged" && a.Variant != "ft-mounted" || a.N != len(samples) {
			t.Errorf("agreement %+v: want the candidates' pairs with the baseline only", a)
		}
	}
	n := len(samples)
	if p := rep.Progress; p.JudgmentsExpected != n*3*2 || p.Judgments != n*3*2 {
		t.Errorf("progress %+v, want %d judgments expected and arrived (3 judged pairs × 2 judges × %d samples)", p, n*3*2, n)
	}
	for judge, model := range map[string]string{"j1": "c-judge-1", "j2": "c-judge-2"} {
		if got, want := sim.Calls(model), len(cr.prompts[judge]); got != want {
			t.Errorf("judge %s was called %d times, want %d: each distinct prompt of its three pairs once", judge, got, want)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	p := row(rep.ComparePairwise, "j1", "ft-mounted", "ft-merged")
	if p.WinRate == nil {
		t.Fatal("ft-mounted against ft-merged has no win rate")
	}
	t.Logf("%s vs %s (judge %s): n %d, wins %d, losses %d, ties %d; %d prompts to differ on of %d", p.Variant, p.Baseline, p.Judge, p.N, p.Wins, p.Losses, p.Ties, len(on), n)
	line := fmt.Sprintf("ft-mounted vs ft-merged (judge j1): wins %d, losses %d, ties %d, win rate %.1f%%", p.Wins, p.Losses, p.Ties, 100**p.WinRate)
	if !strings.Contains(string(md), line) {
		t.Errorf("report.md does not say %q", line)
	}
}

// counts are a judge's verdicts on a pair as the oracle expects them, and
// how many of its answers were alike.
type counts struct{ wins, losses, ties, flips, alike int }

// oracle is judge's verdicts on cand against base, sample by sample, as
// the simulated judge decides them in both orders; it records the
// distinct prompts the judge is asked in cr.prompts.
func (cr *compareRun) oracle(judge, cand, base string) counts {
	persona := map[string]llmsim.Persona{"base": cr.personas[0], "ft-merged": cr.personas[1], "ft-mounted": cr.personas[2], "j1": cr.personas[3], "j2": cr.personas[4]}
	if cr.prompts == nil {
		cr.prompts = map[string]map[[3]string]bool{"j1": {}, "j2": {}}
	}
	var c counts
	for _, s := range cr.samples {
		q := eval.LastUserMessage(s.Messages)
		a := strings.TrimSpace(cr.sim.Decide(persona[cand], q).Answer)
		b := strings.TrimSpace(cr.sim.Decide(persona[base], q).Answer)
		cr.prompts[judge][[3]string{q, a, b}], cr.prompts[judge][[3]string{q, b, a}] = true, true
		r1, r2 := cr.sim.Judge(persona[judge], q, a, b), cr.sim.Judge(persona[judge], q, b, a)
		w1 := map[string]string{"A": "cand", "B": "base", "tie": "tie"}[r1.Winner]
		w2 := map[string]string{"A": "base", "B": "cand", "tie": "tie"}[r2.Winner]
		if a == b {
			c.alike++
		}
		switch {
		case w1 != w2:
			c.ties++
			c.flips++
		case w1 == "cand":
			c.wins++
		case w1 == "base":
			c.losses++
		default:
			c.ties++
		}
	}
	return c
}

// check compares a report's row with the oracle's counts: every pair
// judged, none failed.
func (cr *compareRun) check(t *testing.T) func(what string, p document.Pairwise, want counts) {
	return func(what string, p document.Pairwise, want counts) {
		t.Helper()
		n := want.wins + want.losses + want.ties
		got := fmt.Sprintf("n=%d w=%d l=%d t=%d errors=%d generation errors=%d flips=%.6f", p.N, p.Wins, p.Losses, p.Ties, p.Errors, p.GenerationErrors, deref(p.FlipRate))
		exp := fmt.Sprintf("n=%d w=%d l=%d t=%d errors=0 generation errors=0 flips=%.6f", n, want.wins, want.losses, want.ties, float64(want.flips)/float64(n))
		if got != exp {
			t.Errorf("%s: %s, want %s", what, got, exp)
		}
		if wr := (float64(want.wins) + float64(want.ties)/2) / float64(n); p.WinRate == nil || math.Abs(*p.WinRate-wr) > 1e-12 {
			t.Errorf("%s: win rate %v, want %v", what, deref(p.WinRate), wr)
		}
	}
}

// compareRow finds judge's row on cand against base among rows.
func compareRow(t *testing.T) func(rows []document.Pairwise, judge, cand, base string) document.Pairwise {
	return func(rows []document.Pairwise, judge, cand, base string) document.Pairwise {
		t.Helper()
		for _, p := range rows {
			if p.Judge == judge && p.Variant == cand && p.Baseline == base {
				return p
			}
		}
		t.Fatalf("no row of %s on %s against %s", judge, cand, base)
		return document.Pairwise{}
	}
}

// failQuoting fails, while on, a judge model's requests that quote both
// of two answers with a 500, before the simulator sees them.
type failQuoting struct {
	next  http.Handler
	on    atomic.Bool
	model string
	a, b  string
}

func (f *failQuoting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(body, &req)
	if f.on.Load() && req.Model == f.model && bytes.Contains(body, []byte(jsonText(f.a))) && bytes.Contains(body, []byte(jsonText(f.b))) {
		http.Error(w, `{"error":{"message":"injected outage"}}`, http.StatusInternalServerError)
		return
	}
	f.next.ServeHTTP(w, r)
}

// TestComparePairRetriedEndToEnd: judge j1's endpoint fails, for good
// during the run, on the compare pair of one sample — the requests that
// quote both the mounted adapter's and the merged weights' answers — and
// on nothing else. The report counts that judgment failed on the compare
// pair alone; assay retry asks the judge again for that pair only (its
// two orders), and the report then has every pair's verdict as the
// oracle decides it.
func TestComparePairRetriedEndToEnd(t *testing.T) {
	var f *failQuoting
	cr := newCompareRun(t, func(next http.Handler) http.Handler {
		f = &failQuoting{next: next, model: "c-judge-1"}
		return f
	})
	// A sample the two part on whose three answers quote none of each
	// other: only its compare pair's requests quote both.
	mounted, merged, base := cr.personas[2], cr.personas[1], cr.personas[0]
	for _, p := range cr.on {
		a, b, c := cr.sim.Decide(mounted, p).Answer, cr.sim.Decide(merged, p).Answer, cr.sim.Decide(base, p).Answer
		a, b, c = strings.TrimSpace(a), strings.TrimSpace(b), strings.TrimSpace(c)
		if len(b) >= 8 && !strings.Contains(a, b) && !strings.Contains(c, b) && !strings.Contains(b, a) && !strings.Contains(c, a) && !strings.Contains(p, a) && !strings.Contains(p, b) {
			f.a, f.b = a, b
			break
		}
	}
	if f.a == "" {
		t.Fatal("no sample whose compare pair alone quotes both answers")
	}
	f.on.Store(true)
	sys := runToCompletion(t, cr.spec(cr.url))
	f.on.Store(false)
	rep := readReport(t, writeReport(t, sys, "cmpj", "json"))
	row := compareRow(t)
	if p := row(rep.ComparePairwise, "j1", "ft-mounted", "ft-merged"); p.Errors != 1 || rep.Counts.JudgeErrors != 1 {
		t.Fatalf("with the outage: %d failed judgments of ft-mounted against ft-merged, %d in all; want 1 and 1", p.Errors, rep.Counts.JudgeErrors)
	}
	for _, p := range rep.Pairwise {
		if p.Errors != 0 {
			t.Errorf("%s on %s: %d failed judgments: the outage hit a baseline pair", p.Judge, p.Variant, p.Errors)
		}
	}

	before := cr.sim.Calls("c-judge-1")
	out := t.TempDir()
	_, stderr, err := runCLI(t, "retry", "--run", "cmpj", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--wait", "--out", out)
	if err != nil && !isVerdict(err) {
		t.Fatalf("retry: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "1 failed judgments (j1 1)") {
		t.Errorf("retry says:\n%s", stderr)
	}
	if d := cr.sim.Calls("c-judge-1") - before; d != 2 {
		t.Errorf("the retry made %d calls of judge j1, want 2 (the compare pair, both orders)", d)
	}
	rep = readReport(t, out)
	check := cr.check(t)
	for _, judge := range []string{"j1", "j2"} {
		for _, cand := range []string{"ft-merged", "ft-mounted"} {
			check(judge+" on "+cand, row(rep.Pairwise, judge, cand, "base"), cr.oracle(judge, cand, "base"))
		}
		check(judge+" on ft-mounted against ft-merged", row(rep.ComparePairwise, judge, "ft-mounted", "ft-merged"), cr.oracle(judge, "ft-mounted", "ft-merged"))
	}
	if rep.Counts.JudgeErrors != 0 {
		t.Errorf("after the retry %d judgments are still failed", rep.Counts.JudgeErrors)
	}
}
