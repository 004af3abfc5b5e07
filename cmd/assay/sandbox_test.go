package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/score"
	"github.com/assay-eval/assay/services/score/codeexec"
)

// TestCodeSandboxReport: a run of HumanEval items says in report.json and
// report.md which sandbox code_pass ran the answers' code in, as the
// scoring stage probed it; forced to the degraded sandbox
// (ASSAY_CODE_SANDBOX=rlimit) it warns. It cannot be parallel: it sets
// the environment.
func TestCodeSandboxReport(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH; install it (apt-get install python3) to run HumanEval's tests")
	}
	t.Setenv("ASSAY_NATS", "")
	dir := t.TempDir()
	writeJSONL(t, filepath.Join(dir, "humaneval.jsonl"), humanEvalRecords, false)
	ep := newScriptedEndpoint(t, "base")
	ep.answer = func(_, q string) string {
		for _, r := range humanEvalRecords {
			if q == r["prompt"] {
				return r["canonical_solution"].(string)
			}
		}
		return "no code"
	}
	spec := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(spec, fmt.Appendf(nil, `run: sandboxed
variants:
  - {name: base, base_url: %s, model: base, stream: false}
suites:
  - {name: humaneval, path: humaneval.jsonl, preset: humaneval, metrics: [code_pass]}
`, ep.url()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{codeexec.ModeAuto, codeexec.ModeRlimit} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv(codeexec.SandboxEnv, mode)
			iso, err := codeexec.Probe()
			if err != nil {
				t.Fatal(err)
			}
			want := score.Sandbox(iso)
			out := t.TempDir()
			_, stderr, err := runCLI(t, "run", "-f", spec, "--data", t.TempDir(), "--out", out)
			if err != nil {
				t.Fatalf("assay run: %v\n%s", err, stderr)
			}
			data, err := os.ReadFile(filepath.Join(out, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep document.Report
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatal(err)
			}
			n := len(humanEvalRecords)
			for _, m := range rep.Metrics {
				if m.Metric == "code_pass" && (m.N != n || m.Mean == nil || *m.Mean != 1) {
					t.Errorf("code_pass: n %d, mean %v; every answer is right", m.N, m.Mean)
				}
			}
			if len(rep.Sandbox) != 1 || rep.Sandbox[0].CodeSandbox != *want || rep.Sandbox[0].Scores != n {
				t.Fatalf("report.json sandbox %+v; want %d code scores under %+v", rep.Sandbox, n, *want)
			}
			md, err := os.ReadFile(filepath.Join(out, "report.md"))
			if err != nil {
				t.Fatal(err)
			}
			full := "yes"
			if !want.Full {
				full = "**no (degraded)**"
			}
			row := fmt.Sprintf("| %s | %d | %s | %s | %s | %d |", want.Kind, want.UID, want.Network, want.Filesystem, full, n)
			if !strings.Contains(string(md), "### Code sandbox") || !strings.Contains(string(md), row) {
				t.Errorf("report.md lacks the code sandbox row %q", row)
			}
			warned := strings.Contains(strings.Join(rep.Warnings, "\n"), "ran their code in a degraded sandbox")
			if warned != !want.Full {
				t.Errorf("sandbox %s (full %v): warnings %q", want.Kind, want.Full, rep.Warnings)
			}
			if mode == codeexec.ModeRlimit && want.Full {
				t.Errorf("%s=rlimit gave the full sandbox %+v", codeexec.SandboxEnv, want)
			}
		})
	}
}
