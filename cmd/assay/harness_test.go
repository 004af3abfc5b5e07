package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/cmd/assay/demo"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/ingest/dataset"
	"github.com/assay-eval/assay/services/report/document"
)

// extraSuite is a suite with the faults ingest must survive: an exact
// duplicate (different case and spacing), a line that is not JSON, and a
// line without the reference its metric needs.
const extraSuite = `{"id": "x-1", "prompt": "Name the largest planet in the solar system. Answer with a short phrase only.", "reference": ["Jupiter"]}
{"id": "x-2", "prompt": "What gas do plants take in for photosynthesis? Answer with a short phrase only.", "reference": ["carbon dioxide", "CO2"]}
{"id": "x-3", "prompt": "name the LARGEST planet in the solar   system. Answer with a short phrase only.", "reference": ["Jupiter"]}
{"id": "x-4", "prompt": "What is the boiling point of water at sea level in Celsius? Answer with a short phrase only.", "reference": ["100", "100 °C"]
{"id": "x-5", "prompt": "Which metal is liquid at room temperature? Answer with a short phrase only."}
{"id": "x-6", "prompt": "光速大约是每秒多少公里？只用一个简短的词语回答。", "reference": ["30万公里", "300000公里"]}
`

// specTemplate is the test run: three variants, two judges, the bundled
// suites and the faulty one. %[1]s is the simulator's URL.
const specTemplate = `run: %[2]s
baseline: base
variants:
  - {name: base, base_url: %[1]s, model: t-base, concurrency: 8}
  - {name: ft,   base_url: %[1]s, model: t-ft,   concurrency: 8}
  - {name: int4, base_url: %[1]s, model: t-int4, concurrency: 8, stream: false}
decoding: {temperature: 0, max_tokens: 256, seed: 1}
template: {system: "You are a helpful assistant."}
retry: {max_attempts: 3, initial_backoff: 5ms, max_backoff: 20ms}
suites:
  - {name: business, role: business,   path: business.jsonl, metrics: [json_valid, json_schema, json_fields]}
  - {name: qa,       role: benchmark,  path: qa.jsonl,       metrics: [em, f1]}
  - {name: mc,       role: benchmark,  path: mc.jsonl,       metrics: [mc_acc]}
  - {name: math,     role: benchmark,  path: math.jsonl,     metrics: [num_match]}
  - {name: safety,   role: regression, path: safety.jsonl,   metrics: [safety, refusal]}
  - {name: writing,  role: regression, path: writing.jsonl,  metrics: [rougeL, length]}
  - {name: extra,    role: regression, path: extra.jsonl,    metrics: [em, f1]}
judges:
  - {name: judge-a, base_url: %[1]s, model: t-judge-a, concurrency: 8}
  - {name: judge-b, base_url: %[1]s, model: t-judge-b, concurrency: 8, response_format: false}
gate:
  win_rate_min: 0.4
  refusal_rate_delta_max: 0.02
  # The personas fail up to 5%% of calls for good, and judge-b gives no
  # verdict on about 8%% of pairs, on purpose: the gate tolerates that
  # many, so that its verdict comes from its checks.
  error_rate_max: 0.1
`

// testPersonas exercise every habit: retries (flaky), failures for good
// (down), broken JSON, refusals, padding, thinking, truncation, and judges
// with position bias, free-text verdicts and verdict-less answers.
func testPersonas() []llmsim.Persona {
	return []llmsim.Persona{
		{Name: "t-base", Accuracy: 0.6, Refusal: 0.05, SafetyRefusal: 0.6, JSONBreak: 0.15, Verbosity: 0.2, Truncate: 0.05, Flaky: 0.05, Down: 0.03},
		{Name: "t-ft", Accuracy: 0.7, TagAccuracy: map[string]float64{"extraction": 0.9}, Refusal: 0.15, SafetyRefusal: 0.9, JSONBreak: 0.05, Verbosity: 0.1, Think: true, Flaky: 0.05},
		{Name: "t-int4", Accuracy: 0.5, Refusal: 0.05, SafetyRefusal: 0.5, JSONBreak: 0.25, Verbosity: 0.3, Truncate: 0.1, Down: 0.05},
		{Name: "t-judge-a", Judge: true, PositionBias: 0.2, TagFallback: 0.3},
		{Name: "t-judge-b", Judge: true, PositionBias: 0.1, TagFallback: 0.1, Garbage: 0.04},
	}
}

// fixture is a run of the test spec against a simulator.
type fixture struct {
	dir     string
	spec    *eval.RunSpec
	samples []eval.Sample
	sim     *llmsim.Sim
	url     string
	// personas by variant and judge name
	persona map[string]llmsim.Persona
}

// readSamples reads spec's suites as ingest does, for a simulator's answer
// key and a test's oracle.
func readSamples(t testing.TB, spec *eval.RunSpec) []eval.Sample {
	t.Helper()
	var samples []eval.Sample
	for _, su := range spec.Suites {
		b, err := os.ReadFile(su.File)
		if err != nil {
			t.Fatal(err)
		}
		rd := dataset.NewReader(spec.Run, su, su.Path)
		if _, err := rd.Read(bytes.NewReader(b), func(s eval.Sample) error { samples = append(samples, s); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return samples
}

// writeDemoSuites writes the bundled demo suites named into dir, as
// <name>.jsonl.
func writeDemoSuites(t testing.TB, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		b, err := demo.Suite("suites/" + name + ".jsonl")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".jsonl"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newFixture(t testing.TB, run string, personas []llmsim.Persona) *fixture {
	t.Helper()
	dir := t.TempDir()
	writeDemoSuites(t, dir, "business", "qa", "mc", "math", "safety", "writing")
	if err := os.WriteFile(filepath.Join(dir, "extra.jsonl"), []byte(extraSuite), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fixture{dir: dir, persona: map[string]llmsim.Persona{}}
	// The spec names the simulator's URL, which needs the key, which needs
	// the samples: parse once with a placeholder to read the suites.
	spec := f.load(t, run, "http://127.0.0.1:1/v1")
	f.samples = readSamples(t, spec)
	f.sim = llmsim.New(llmsim.Options{Seed: 42, Personas: personas, Key: llmsim.KeyFromSamples(f.samples), Record: true})
	srv := httptest.NewServer(f.sim.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/v1"
	f.spec = f.load(t, run, f.url)
	for _, v := range f.spec.Variants {
		f.persona[v.Name], _ = f.sim.Persona(v.Model)
	}
	for _, j := range f.spec.Judges {
		f.persona[j.Name], _ = f.sim.Persona(j.Model)
	}
	return f
}

func (f *fixture) load(t testing.TB, run, url string) *eval.RunSpec {
	t.Helper()
	p := filepath.Join(f.dir, "run.yaml")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(specTemplate, url, run)), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := eval.LoadSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// runFixture runs f's spec in a system of its own, in process, until the
// run completes (two minutes at most), and returns a context for the rest
// of the test (three minutes from the start), the system's bus and the
// run's final status. The system stops when the test ends.
func runFixture(t *testing.T, f *fixture) (context.Context, *bus.Bus, *eval.RunStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sys.Stop(); err != nil {
			t.Errorf("stopping: %v", err)
		}
	})
	b := sys.Env.Bus
	if err := submit(ctx, b, f.spec, openFile); err != nil {
		t.Fatal(err)
	}
	return ctx, b, waitComplete(t, b, f.spec.Run, 2*time.Minute)
}

// waitComplete waits for the run's status to be complete.
func waitComplete(t testing.TB, b *bus.Bus, run string, total time.Duration) *eval.RunStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), total)
	defer cancel()
	st, err := waitRun(ctx, b, run, nil)
	if err != nil {
		var state []string
		if st, err := b.Status(context.Background(), run); err == nil {
			state = append(state, fmt.Sprintf("status %+v", *st))
		}
		for _, s := range []string{bus.StreamSamples, bus.StreamGens, bus.StreamScores, bus.StreamJudgments, bus.StreamDLQ} {
			if info, err := b.Stream(s).Info(context.Background()); err == nil {
				state = append(state, fmt.Sprintf("%s %d", s, info.State.Msgs))
			}
		}
		lister := b.Stream(bus.StreamGens).ListConsumers(context.Background())
		for ci := range lister.Info() {
			state = append(state, fmt.Sprintf("consumer %s: pending %d, ack pending %d, waiting %d", ci.Name, ci.NumPending, ci.NumAckPending, ci.NumWaiting))
		}
		lister = b.Stream(bus.StreamSamples).ListConsumers(context.Background())
		for ci := range lister.Info() {
			state = append(state, fmt.Sprintf("consumer %s: pending %d, ack pending %d, waiting %d", ci.Name, ci.NumPending, ci.NumAckPending, ci.NumWaiting))
		}
		t.Fatalf("run %s did not complete within %v: %v\n%s", run, total, err, strings.Join(state, "\n"))
	}
	return st
}

// comparable strips what legitimately differs between two executions of
// the same run: timing, and the simulator's address in error messages.
func comparable(t testing.TB, rep *document.Report, f *fixture) string {
	t.Helper()
	r := *rep
	r.Timing = document.Timing{}
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), f.url, "SIM")
}

// diffLines returns the first differing line of two texts, for messages.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(al), len(bl))
}

// isVerdict reports whether err is only the gate's verdict — failed,
// inconclusive, or could not be evaluated — which tests that check
// something else accept.
func isVerdict(err error) bool {
	return errors.Is(err, errGateFailed) || errors.Is(err, errGateInconclusive) || errors.Is(err, errUnevaluated)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// runSimSpec runs, in dir, a spec with two simulated variants (base and ft)
// answered by sim and the suites given as YAML list items, and waits for
// it to complete.
func runSimSpec(t *testing.T, dir, run string, sim *llmsim.Sim, suites string) *system {
	t.Helper()
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	file := filepath.Join(dir, "run.yaml")
	spec := fmt.Sprintf("run: %s\nbaseline: base\nvariants:\n  - {name: base, base_url: %[2]s/v1, model: sim-base}\n  - {name: ft,   base_url: %[2]s/v1, model: sim-ft}\nsuites:\n%s", run, srv.URL, suites)
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := eval.LoadSpec(file)
	if err != nil {
		t.Fatal(err)
	}
	return runToCompletion(t, s)
}

// writeReport writes run's report in formats into a new directory, as
// `assay report` does (a failed gate or an error verdict is no error
// here), and returns it.
func writeReport(t *testing.T, sys *system, run, formats string) string {
	t.Helper()
	out := t.TempDir()
	if _, stderr, err := runCLI(t, "report", "--run", run, "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out, "--format", formats); err != nil && !isVerdict(err) {
		t.Fatalf("report: %v\n%s", err, stderr)
	}
	return out
}
