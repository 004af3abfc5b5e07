package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/services/report/document"
)

func fptr(v float64) *float64 { return &v }

// pilotReport is a pilot run's report with one delta of each kind, a
// refusal delta and a win rate, and a gate on three of them.
func pilotReport() *document.Report {
	return &document.Report{
		Run: "pilot", Baseline: "base", Variants: []string{"base", "ft"},
		Deltas: []document.Delta{
			{Suite: "qa", Metric: "f1", Variant: "ft", Baseline: "base",
				DeltaEstimate: document.DeltaEstimate{N: 30, Delta: 0.05, Test: "paired_t", SD: fptr(0.2)}},
			{Suite: "qa", Metric: "em", Variant: "ft", Baseline: "base",
				DeltaEstimate: document.DeltaEstimate{N: 40, Delta: 0.1, Test: "mcnemar", Discordant: &[2]int{6, 2}}},
			{Suite: "docs", Metric: "f1", Variant: "ft", Baseline: "base",
				DeltaEstimate: document.DeltaEstimate{N: 60, Delta: -0.1, Test: "paired_t", SD: fptr(0.3), MDE: fptr(0.2), Clusters: 10}},
			{Suite: "docs", Metric: "rougeL", Variant: "ft", Baseline: "base",
				DeltaEstimate: document.DeltaEstimate{N: 60, Delta: 0.1, Test: "paired_t", SD: fptr(0), Undefined: "every pair differs by the same amount"}},
		},
		RateDeltas: []document.RateDelta{{Rate: "refusal", Variant: "ft", Baseline: "base",
			DeltaEstimate: document.DeltaEstimate{N: 100, Delta: 0.06, Test: "mcnemar", Discordant: &[2]int{8, 2}}}},
		Pairwise: []document.Pairwise{{Judge: "j1", Variant: "ft", Baseline: "base", N: 60, Wins: 30, Losses: 20, Ties: 10}},
		Gate: document.Gate{Checks: []document.Check{
			{Name: "qa/f1 delta_min", Variant: "ft", Threshold: -0.02},
			{Name: "refusal_rate_delta_max", Variant: "ft", Threshold: 0.02},
			{Name: "win_rate_min", Variant: "ft", Threshold: 0.55},
		}},
	}
}

func writePilot(t *testing.T, rep any) string {
	t.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func planJSON(t *testing.T, args ...string) Plan {
	t.Helper()
	out, errOut, err := runCLI(t, append([]string{"plan", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, errOut)
	}
	var p Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	return p
}

// needs are a row's sizes by the effect's source (-1: none detects it).
func needs(r PlanRow) map[string]int {
	out := map[string]int{}
	for _, n := range r.Needs {
		out[n.Source] = -1
		if n.N != nil {
			out[n.Source] = *n.N
		}
	}
	return out
}

func TestPlan(t *testing.T) {
	path := writePilot(t, pilotReport())
	p := planJSON(t, "--report", path)
	// Golden values: Debian python3-statsmodels 0.13.5, scipy 1.10.1.
	//   paired t: n = ceil(TTestPower().solve_power(effect_size=e/sd,
	//     alpha=0.05, power=0.8)); MDE = sd·brentq(lambda e: TTestPower().power(
	//     effect_size=e, nobs=n, alpha=0.05) - 0.8, 1e-6, 100).
	//   McNemar (Connor 1987): n = ceil((z.975·√ψ + z.8·√(ψ − e²))²/e²), the
	//     MDE that n solved for e by brentq.
	//   win rate: sd = np.std([1]*30 + [0]*20 + [.5]*10, ddof=1) = 0.45255083679848135.
	//   clustered: deff = (0.2/MDE(0.3, 60))² = 3.287153819395164, n =
	//     ceil(73·deff).
	//   gate: the distance from the observed value to the threshold, which
	//     deciding the check must tell apart: f1 |−0.02 − 0.05| = 0.07,
	//     refusal |0.02 − 0.06| = 0.04, win rate |0.55 − 35/60| = 1/30.
	want := []struct {
		kind, where, metric string
		mde                 float64
		needs               map[string]int
	}{
		{"delta", "qa", "f1", 0.10584712302259058, map[string]int{"observed": 128, "gate": 67}},
		{"delta", "qa", "em", 0.19231814813360726, map[string]int{"observed": 155}},
		{"delta", "docs", "f1", 0.2, map[string]int{"observed": 240}},
		{"delta", "docs", "rougeL", math.NaN(), map[string]int{"observed": -1}},
		{"rate_delta", "", "refusal", 0.08755348893461397, map[string]int{"observed": 216, "gate": 489}},
		{"win_rate", "j1", "", 0.1664048958783855, map[string]int{"observed": 234, "gate": 1449}},
	}
	if len(p.Rows) != len(want) || p.Run != "pilot" {
		t.Fatalf("plan %+v", p)
	}
	for i, w := range want {
		r := p.Rows[i]
		name := w.kind + " " + w.where + " " + w.metric
		if r.Kind != w.kind || r.Suite+r.Judge != w.where || r.Metric != w.metric {
			t.Errorf("row %d is %s %s%s %s, want %s", i, r.Kind, r.Suite, r.Judge, r.Metric, name)
			continue
		}
		switch {
		case math.IsNaN(w.mde) && r.MDE != nil:
			t.Errorf("%s: MDE %v, want none", name, *r.MDE)
		case !math.IsNaN(w.mde) && (r.MDE == nil || math.Abs(*r.MDE-w.mde) > 1e-9):
			t.Errorf("%s: MDE %v, want %v", name, r.MDE, w.mde)
		}
		got := needs(r)
		if len(got) != len(w.needs) {
			t.Errorf("%s: needs %v, want %v", name, got, w.needs)
		}
		for src, n := range w.needs {
			if got[src] != n {
				t.Errorf("%s: n for the %s effect is %d, want %d", name, src, got[src], n)
			}
		}
	}
	if r := p.Rows[3]; r.Note == "" {
		t.Errorf("undefined delta %+v has no note", r)
	}
	// The MDE comes from gonum's noncentral t, which agrees with scipy's to
	// about 1e-10, and squaring the ratio doubles that: 1e-8 relative.
	if r := p.Rows[2]; r.DesignEffect == nil || math.Abs(*r.DesignEffect/3.287153819395164-1) > 1e-8 {
		t.Errorf("clustered design effect %v", *r.DesignEffect)
	}

	t.Run("effect", func(t *testing.T) {
		// 0.3 is beyond the em pilot's discordant share 0.2: no n.
		p := planJSON(t, "--report", path, "--effect", "0.3")
		for _, r := range p.Rows {
			if len(r.Needs) != 1 || r.Needs[0].Source != "--effect" || r.Needs[0].Effect != 0.3 {
				t.Errorf("%s %s: needs %+v, want one for --effect 0.3", r.Kind, r.Metric, r.Needs)
			}
		}
		if n := needs(p.Rows[1])["--effect"]; n != -1 {
			t.Errorf("em: n %d for an effect above ψ", n)
		}
	})

	t.Run("table", func(t *testing.T) {
		out, errOut, err := runCLI(t, "plan", "--report", path)
		if err != nil {
			t.Fatalf("plan: %v\n%s", err, errOut)
		}
		for _, s := range []string{"KIND", "NEEDED", "run pilot", "1449", "ψ 0.2", "deff 3.29, 10 clusters", "no spread to plan with"} {
			if !strings.Contains(out, s) {
				t.Errorf("table lacks %q:\n%s", s, out)
			}
		}
	})

	t.Run("stdin", func(t *testing.T) {
		b, _ := os.ReadFile(path)
		var out bytes.Buffer
		cmd := newRoot()
		cmd.SetArgs([]string{"plan", "--report", "-"})
		cmd.SetIn(bytes.NewReader(b))
		cmd.SetOut(&out)
		if err := cmd.ExecuteContext(t.Context()); err != nil || !strings.Contains(out.String(), "1449") {
			t.Errorf("plan from stdin: %v\n%s", err, out.String())
		}
	})
}

func TestPlanUsage(t *testing.T) {
	good := writePilot(t, pilotReport())
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"run": "x",`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no source", nil, "--report FILE or --run R"},
		{"both sources", []string{"--report", good, "--run", "r"}, "one of the two"},
		{"missing file", []string{"--report", filepath.Join(t.TempDir(), "nope.json")}, "no such file"},
		{"not json", []string{"--report", bad}, "not a report.json"},
		{"no run", []string{"--report", writePilot(t, map[string]any{"deltas": []any{}})}, "names no run"},
		{"negative effect", []string{"--report", good, "--effect", "-0.1"}, "positive number"},
		{"effect not a number", []string{"--report", good, "--effect", "big"}, "invalid argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, append([]string{"plan"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
			if code := exitCode(err, false); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
		})
	}
}

// FuzzPlan reads whatever a report file may hold: no panic, and a plan
// that encodes as JSON and prints.
func FuzzPlan(f *testing.F) {
	b, _ := json.Marshal(pilotReport())
	f.Add(b)
	f.Add([]byte(`{"run":"r","pairwise":[{"n":2,"wins":-5,"losses":9,"ties":0}]}`))
	f.Add([]byte(`{"run":"r","deltas":[{"n":-1,"test":"mcnemar","discordant":[9,9]},{"n":3,"sd":1e308,"delta":1e-308}]}`))
	f.Add([]byte(`{"run":"r"} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := decodeReport(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, effect := range []float64{0, 0.05} {
			p := newPlan(rep, effect)
			if _, err := json.Marshal(p); err != nil {
				t.Fatalf("plan does not encode: %v", err)
			}
			if err := p.write(&bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestPlanGateJudge: win_rate_min bears on the gate's judge only; another
// judge's win rate is planned for its observed effect alone.
func TestPlanGateJudge(t *testing.T) {
	rep := pilotReport()
	rep.Pairwise = append(rep.Pairwise, document.Pairwise{Judge: "j2", Variant: "ft", Baseline: "base", N: 60, Wins: 30, Losses: 20, Ties: 10})
	rep.Gate.Checks[2].Judge = "j2"
	p := planJSON(t, "--report", writePilot(t, rep))
	for _, r := range p.Rows {
		if r.Kind != "win_rate" {
			continue
		}
		_, gated := needs(r)["gate"]
		if gated != (r.Judge == "j2") {
			t.Errorf("judge %s: planned for the gate %v, want %v", r.Judge, gated, r.Judge == "j2")
		}
	}
}

// TestPlanDeltaOverNothing: a delta whose every pair was left out
// because a generation failed plans nothing, and says why, instead of
// asking for an SD the report cannot give.
func TestPlanDeltaOverNothing(t *testing.T) {
	sd := 0.3
	r := planDelta(PlanRow{Kind: "delta"}, document.DeltaEstimate{Test: "paired_t", N: 0, SD: &sd}, 0, 0.05, true)
	if len(r.Needs) != 0 || r.MDE != nil || !strings.Contains(r.Note, "every pair was left out") {
		t.Errorf("a delta over no pair plans %+v", r)
	}
}
