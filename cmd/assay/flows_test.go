package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/report/document"
)

// flowPersonas are the test personas plus the checkpoints and judges the
// flows add later.
func flowPersonas() []llmsim.Persona {
	return append(testPersonas(),
		llmsim.Persona{Name: "t-ck1", Accuracy: 0.75, Refusal: 0.05, JSONBreak: 0.05, Verbosity: 0.1, Flaky: 0.05},
		llmsim.Persona{Name: "t-ck2", Accuracy: 0.8, Refusal: 0.04, JSONBreak: 0.02, Verbosity: 0.1, Down: 0.02},
		llmsim.Persona{Name: "t-judge-c", Judge: true, PositionBias: 0.3, TagFallback: 0.5},
	)
}

// completedRun runs f's spec in this process, with NATS listening so that
// the command line can reach it, and returns the system once the run is
// complete.
func completedRun(t *testing.T, f *fixture) *system { return runToCompletion(t, f.spec) }

// runToCompletion starts a system, submits spec to it and waits for the
// run to complete.
func runToCompletion(t *testing.T, spec *eval.RunSpec) *system {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop() })
	if err := submit(ctx, sys.Env.Bus, spec, openFile); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, sys.Env.Bus, spec.Run, 90*time.Second)
	return sys
}

// callCounts is how many calls the simulator served each model.
func callCounts(f *fixture, models ...string) map[string]int {
	out := map[string]int{}
	for _, m := range models {
		out[m] = f.sim.Calls(m)
	}
	return out
}

func readReport(t *testing.T, dir string) *document.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep document.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

// withVariant is f's expectation machinery for a spec that gained a
// variant.
func (f *fixture) withVariant(name, model string) {
	f.spec.Variants = append(f.spec.Variants, eval.Variant{Name: name, Model: model})
	f.persona[name], _ = f.sim.Persona(model)
}

func gateEvents(t *testing.T, b *bus.Bus, run string) []eval.GateEvent {
	return bustest.Stored[eval.GateEvent](t, b, bus.StreamEvents, bus.RunEvent(run, bus.EventGated))
}

// TestCheckpoint adds checkpoints to a complete run: only the new variant
// is generated and only its pairs are judged; the report gains it, in the
// checkpoint series; its gate verdict is published; the same checkpoint
// announced twice is evaluated once.
func TestCheckpoint(t *testing.T) {
	f := newFixture(t, "ck", flowPersonas())
	sys := completedRun(t, f)
	b := sys.Env.Bus
	models := []string{"t-base", "t-ft", "t-int4", "t-judge-a", "t-judge-b", "t-ck1", "t-ck2"}
	before := callCounts(f, models...)
	// The judge prompts already paid for: the cache serves them again.
	paid := map[string]map[[3]string]bool{"t-judge-a": {}, "t-judge-b": {}}
	for _, j := range f.spec.Judges {
		for _, cand := range f.spec.Candidates() {
			for _, v := range f.verdicts(j.Name, cand) {
				for _, p := range v.prompts {
					paid[j.Model][p] = true
				}
			}
		}
	}

	out := t.TempDir()
	_, stderr, err := runCLI(t, "checkpoint", "--run", "ck", "--variant", "ck1", "--base-url", f.url, "--model", "t-ck1",
		"--step", "1000", "--wait", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out)
	if err != nil && !isVerdict(err) {
		t.Fatalf("checkpoint: %v\n%s", err, stderr)
	}
	rep := readReport(t, out)
	if passed := rep.Gate.Variants["ck1"]; passed != (err == nil) {
		t.Errorf("exit status says gate passed=%v, report says %v", err == nil, passed)
	}

	f.withVariant("ck1", "t-ck1")
	e := f.expect()
	after := callCounts(f, models...)
	for _, m := range []string{"t-base", "t-ft", "t-int4"} {
		if after[m] != before[m] {
			t.Errorf("%s was called %d more times: an old variant answered again", m, after[m]-before[m])
		}
	}
	if got, want := after["t-ck1"]-before["t-ck1"], e.variants["ck1"].calls; got != want {
		t.Errorf("the checkpoint made %d calls, want %d", got, want)
	}
	for _, j := range f.spec.Judges {
		want := 0
		for _, v := range f.verdicts(j.Name, "ck1") {
			for _, p := range v.prompts {
				if !paid[j.Model][p] {
					paid[j.Model][p] = true
					want++
				}
			}
		}
		if got := after[j.Model] - before[j.Model]; got != want {
			t.Errorf("judge %s made %d calls for the checkpoint, want %d (new pairs only)", j.Name, got, want)
		}
	}
	if len(rep.Variants) != 4 || !rep.Complete {
		t.Fatalf("report variants %v, complete %v", rep.Variants, rep.Complete)
	}
	for _, p := range rep.Pairwise {
		if p.Variant != "ck1" {
			continue
		}
		ep := e.pairs[[2]string{p.Judge, "ck1"}]
		if p.Wins != ep.wins || p.Losses != ep.losses || p.Ties != ep.ties || p.Errors != ep.errors {
			t.Errorf("%s on ck1: %d/%d/%d errors %d, want %d/%d/%d errors %d", p.Judge, p.Wins, p.Losses, p.Ties, p.Errors, ep.wins, ep.losses, ep.ties, ep.errors)
		}
	}
	if len(rep.Checkpoints) != 1 || rep.Checkpoints[0].Variant != "ck1" || rep.Checkpoints[0].Step != 1000 || rep.Checkpoints[0].WinRate == nil {
		t.Fatalf("checkpoints = %+v", rep.Checkpoints)
	}

	// Announced again: nothing happens.
	if _, _, err := runCLI(t, "checkpoint", "--run", "ck", "--variant", "ck1", "--base-url", f.url, "--model", "t-ck1", "--nats", sys.URL, "--nats-nkey", sys.clientSeed()); err != nil {
		t.Fatal(err)
	}
	// A second checkpoint, announced on the subject as a training job would.
	ev := eval.CheckpointEvent{V: 1, Run: "ck", Variant: "ck2", BaseURL: f.url, Model: "t-ck2", Step: 2000, At: time.Now()}
	if _, err := b.Publish(t.Context(), bus.CheckpointSubject, "job-ck2", ev); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := waitCheckpoint(ctx, b, "ck", "ck2", false, out, new(strings.Builder), nil); err != nil && !isVerdict(err) {
		t.Fatal(err)
	}
	if n := f.sim.Calls("t-ck1") - after["t-ck1"]; n != 0 {
		t.Errorf("the checkpoint announced twice was called %d more times", n)
	}
	rep = readReport(t, out)
	var series []string
	for _, cp := range rep.Checkpoints {
		series = append(series, fmt.Sprintf("%d:%s@%d", cp.Seq, cp.Variant, cp.Step))
	}
	if strings.Join(series, " ") != "1:ck1@1000 2:ck2@2000" {
		t.Errorf("checkpoint series %v", series)
	}
	if md, err := os.ReadFile(filepath.Join(out, "report.md")); err != nil || !regexp.MustCompile(`(?m)^\| 2 \| ck2 \| 2000 \| t-ck2 \|`).Match(md) {
		t.Errorf("report.md does not list checkpoint ck2 (%v)", err)
	}
	var gated []string
	for _, g := range gateEvents(t, b, "ck") {
		gated = append(gated, fmt.Sprintf("%s=%v", g.Variant, g.Passed))
		if g.Passed != rep.Gate.Variants[g.Variant] {
			t.Errorf("gate event %+v disagrees with the report", g)
		}
	}
	for _, v := range []string{"ck1", "ck2"} {
		if !strings.Contains(strings.Join(gated, " "), v+"=") {
			t.Errorf("no gate event for %s among %v", v, gated)
		}
	}
	// A checkpoint whose name is taken by another model is refused at once.
	if _, _, err := runCLI(t, "checkpoint", "--run", "ck", "--variant", "ck1", "--base-url", f.url, "--model", "other", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--no-preflight"); err == nil ||
		!strings.Contains(err.Error(), `already has a variant "ck1"`) {
		t.Errorf("a conflicting checkpoint: %v", err)
	}
}

// TestReplay re-judges a complete run with a new judge and re-scores it,
// calling no evaluated model; the same judge again, under any name, costs
// nothing.
func TestReplay(t *testing.T) {
	f := newFixture(t, "rp", flowPersonas())
	sys := completedRun(t, f)
	variantModels := []string{"t-base", "t-ft", "t-int4"}
	before := callCounts(f, "t-base", "t-ft", "t-int4", "t-judge-a", "t-judge-b", "t-judge-c")

	judge := filepath.Join(t.TempDir(), "judge.yaml")
	if err := os.WriteFile(judge, []byte(fmt.Sprintf("name: judge-c\nbase_url: %s\nmodel: t-judge-c\nconcurrency: 8\n", f.url)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, stderr, err := runCLI(t, "replay", "--run", "rp", "--judge", judge, "--wait", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out); err != nil && !isVerdict(err) {
		t.Fatalf("replay: %v\n%s", err, stderr)
	}
	after := callCounts(f, "t-base", "t-ft", "t-int4", "t-judge-a", "t-judge-b", "t-judge-c")
	for _, m := range append(variantModels, "t-judge-a", "t-judge-b") {
		if after[m] != before[m] {
			t.Errorf("%s was called %d times during the replay", m, after[m]-before[m])
		}
	}
	f.spec.Judges = append(f.spec.Judges, eval.Judge{Name: "judge-c", Model: "t-judge-c"})
	f.persona["judge-c"], _ = f.sim.Persona("t-judge-c")
	e := f.expect()
	if got := after["t-judge-c"] - before["t-judge-c"]; got != e.judgeCalls["t-judge-c"] {
		t.Errorf("the new judge made %d calls, want %d", got, e.judgeCalls["t-judge-c"])
	}
	rep := readReport(t, out)
	rows := 0
	for _, p := range rep.Pairwise {
		if p.Judge != "judge-c" {
			continue
		}
		rows++
		ep := e.pairs[[2]string{"judge-c", p.Variant}]
		if p.Wins != ep.wins || p.Losses != ep.losses || p.Ties != ep.ties {
			t.Errorf("judge-c on %s: %d/%d/%d, want %d/%d/%d", p.Variant, p.Wins, p.Losses, p.Ties, ep.wins, ep.losses, ep.ties)
		}
	}
	if rows != 2 {
		t.Errorf("%d pairwise rows for judge-c, want 2", rows)
	}
	// Agreement of judge-a and judge-c on ft, computed from the oracle.
	va, vc := f.verdicts("judge-a", "ft"), f.verdicts("judge-c", "ft")
	var agree, n int
	count := map[string][2]float64{}
	for i := range va {
		if va[i].winner == "" || vc[i].winner == "" {
			continue
		}
		n++
		if va[i].winner == vc[i].winner {
			agree++
		}
		x := count[va[i].winner]
		x[0]++
		count[va[i].winner] = x
		y := count[vc[i].winner]
		y[1]++
		count[vc[i].winner] = y
	}
	pe := 0.0
	for _, c := range count {
		pe += c[0] / float64(n) * c[1] / float64(n)
	}
	po := float64(agree) / float64(n)
	wantKappa := (po - pe) / (1 - pe)
	found := false
	for _, ag := range rep.Agreement {
		if ag.JudgeA == "judge-a" && ag.JudgeB == "judge-c" && ag.Variant == "ft" {
			found = true
			if ag.N != n || math.Abs(ag.Percent-po) > 1e-12 || ag.Kappa == nil || math.Abs(*ag.Kappa-wantKappa) > 1e-12 {
				t.Errorf("agreement %+v, want n=%d po=%v kappa=%v", ag, n, po, wantKappa)
			}
		}
	}
	if !found || len(rep.Agreement) != 6 {
		t.Errorf("agreement rows %d (want 3 judge pairs × 2 candidates); judge-a/judge-c on ft found %v", len(rep.Agreement), found)
	}
	if md, err := os.ReadFile(filepath.Join(out, "report.md")); err != nil || !strings.Contains(string(md), "## Judge agreement") ||
		!strings.Contains(string(md), fmt.Sprintf("| ft | judge-a | judge-c | %d | %.3f | %.3f [", n, po, wantKappa)) {
		t.Errorf("report.md does not show the agreement of judge-a and judge-c (%v)", err)
	}

	// The same judge again: nothing to do. The same judge under another
	// name: judged from the cache.
	if _, _, err := runCLI(t, "replay", "--run", "rp", "--judge", judge, "--wait", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out); err != nil && !isVerdict(err) {
		t.Fatal(err)
	}
	renamed := filepath.Join(t.TempDir(), "judge-d.yaml")
	if err := os.WriteFile(renamed, []byte(fmt.Sprintf("name: judge-d\nbase_url: %s\nmodel: t-judge-c\nconcurrency: 8\n", f.url)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "replay", "--run", "rp", "--judge", renamed, "--wait", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out); err != nil && !isVerdict(err) {
		t.Fatal(err)
	}
	if n := f.sim.Calls("t-judge-c") - after["t-judge-c"]; n != 0 {
		t.Errorf("replaying the same judge again made %d calls", n)
	}
	rep = readReport(t, out)
	byJudge := map[string]string{}
	for _, p := range rep.Pairwise {
		byJudge[p.Judge+"/"+p.Variant] = fmt.Sprintf("%d/%d/%d", p.Wins, p.Losses, p.Ties)
	}
	if byJudge["judge-d/ft"] != byJudge["judge-c/ft"] || byJudge["judge-d/int4"] != byJudge["judge-c/int4"] {
		t.Errorf("the same judge under another name judged differently: %v", byJudge)
	}

	// Re-scoring: qa gains ROUGE-L; no model is called, every score is
	// made again.
	calls := callCounts(f, "t-base", "t-ft", "t-int4", "t-judge-a", "t-judge-b", "t-judge-c")
	gated := len(gateEvents(t, sys.Env.Bus, "rp"))
	if _, _, err := runCLI(t, "replay", "--run", "rp", "--metrics", "em,f1,rougeL", "--suite", "qa", "--wait", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out); err != nil && !isVerdict(err) {
		t.Fatal(err)
	}
	if now := callCounts(f, "t-base", "t-ft", "t-int4", "t-judge-a", "t-judge-b", "t-judge-c"); fmt.Sprint(now) != fmt.Sprint(calls) {
		t.Errorf("re-scoring called models: %v, then %v", calls, now)
	}
	rep = readReport(t, out)
	rouge := 0
	for _, m := range rep.Metrics {
		if m.Suite == "qa" && m.Metric == "rougeL" {
			rouge++
		}
	}
	if rouge != 3 || !rep.Complete || rep.Progress.Scores != 3*len(f.samples) {
		t.Errorf("after re-scoring: %d rougeL rows, complete %v, progress %+v", rouge, rep.Complete, rep.Progress)
	}
	if !slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "another scoring") }) {
		t.Errorf("warnings %q do not mention the earlier scoring", rep.Warnings)
	}
	// The re-scored run's verdicts are announced again, though its counts
	// are those of the last completion.
	if n := len(gateEvents(t, sys.Env.Bus, "rp")) - gated; n != len(rep.Gate.Variants) {
		t.Errorf("re-scoring published %d gate events, want %d", n, len(rep.Gate.Variants))
	}
}
