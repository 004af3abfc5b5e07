package score

import (
	"log/slog"
	"os/exec"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/score/codeexec"
)

// TestHandleRecordsSandbox: a score of code_pass carries the sandbox its
// code ran in, as codeexec describes it, the degraded one included
// (ASSAY_CODE_SANDBOX=rlimit); a score without code carries none. It
// cannot be parallel: it sets the environment.
func TestHandleRecordsSandbox(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH; install it (apt-get install python3) to run the sandbox")
	}
	s := New(Config{}, &stage.Env{Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()})
	spec := &eval.RunSpec{Run: "r", Suites: []eval.Suite{{Name: "code", Metrics: []string{"code_pass"}}, {Name: "qa", Metrics: []string{"em"}}}}
	code := &eval.Sample{Run: "r", ID: "1", Suite: "code", Reference: &eval.Reference{Code: &eval.CodeTest{Test: "assert one() == 1"}}}
	qa := &eval.Sample{Run: "r", ID: "2", Suite: "qa", Reference: &eval.Reference{Answers: []string{"Paris"}}}
	score := func(sample *eval.Sample, output string) *eval.Score {
		t.Helper()
		sc, err := s.Handle(t.Context(), spec, sample, &eval.Generation{Run: "r", Variant: "ft", Sample: sample.Ref(1), Output: output})
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	for _, mode := range []string{codeexec.ModeAuto, codeexec.ModeRlimit} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv(codeexec.SandboxEnv, mode)
			iso, err := codeexec.Probe()
			if err != nil {
				t.Fatal(err)
			}
			sc := score(code, "def one():\n    return 1\n")
			if sc.Metrics["code_pass"] != 1 || sc.Sandbox == nil || *sc.Sandbox != *Sandbox(iso) {
				t.Fatalf("code_pass %v under %+v; want 1 under %+v", sc.Metrics["code_pass"], sc.Sandbox, Sandbox(iso))
			}
			sb := sc.Sandbox
			if sb.Kind != iso.Sandbox || sb.UID != iso.UID || sb.UID == 0 || sb.Full != iso.Full {
				t.Errorf("sandbox %+v from %+v", sb, iso)
			}
			if mode == codeexec.ModeRlimit && (sb.Full || sb.Network != eval.SandboxHost || sb.Filesystem != eval.SandboxHost) {
				t.Errorf("rlimit: %+v; want a degraded sandbox with the host's network and filesystem", sb)
			}
			if iso.Full && (sb.Network != eval.SandboxNone || sb.Filesystem != eval.SandboxPrivate) {
				t.Errorf("full: %+v; want no network and the private filesystem", sb)
			}
			if sc := score(qa, "Paris"); sc.Sandbox != nil {
				t.Errorf("a score without code has sandbox %+v", sc.Sandbox)
			}
		})
	}
}
