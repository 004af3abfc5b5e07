package aggregate

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// TestReportSandbox: the report lists each code sandbox with the code
// scores that ran in it (replicas with different sandboxes give several
// rows), the full ones first, the same whatever order scores arrive in;
// it warns of degraded and unrecorded sandboxes; scores of an earlier
// scoring (a re-scored run) count nowhere; and a run without code has an
// empty list and no such warning.
func TestReportSandbox(t *testing.T) {
	full := &eval.CodeSandbox{Kind: "userns+mntns+netns+pidns+nobody+nnp+rlimit+nproc", UID: 65534, Network: eval.SandboxNone, Filesystem: eval.SandboxPrivate, Full: true}
	degraded := &eval.CodeSandbox{Kind: "nobody+nnp+rlimit+nproc", UID: 65534, Network: eval.SandboxHost, Filesystem: eval.SandboxHost}
	spec := testSpec()
	spec.Suites = append(spec.Suites, eval.Suite{Name: "code", Role: eval.RoleBenchmark, Metrics: []string{"code_pass"}})
	scores := func() []*eval.Score {
		var out []*eval.Score
		for i, sb := range []*eval.CodeSandbox{full, degraded, full, nil, full, degraded} {
			for _, v := range []string{"base", "ft"} {
				s := mkScore(spec, v, "code", string(rune('a'+i)), uint64(10+i), eval.BucketOK, map[string]float64{"code_pass": 1})
				s.Sandbox = sb
				out = append(out, s)
			}
		}
		// A failed generation ran no code.
		out = append(out, mkScore(spec, "base", "code", "z", 30, eval.BucketError, map[string]float64{}))
		return out
	}
	var first []byte
	for round := range 3 {
		c := New(spec)
		ss := scores()
		rand.New(rand.NewPCG(uint64(round), 7)).Shuffle(len(ss), func(i, j int) { ss[i], ss[j] = ss[j], ss[i] })
		mustAdd(t, c, ss...)
		// A score of the run's scoring before a re-score is left out, and
		// so is the sandbox it ran in.
		old := mkScore(spec, "base", "code", "y", 40, eval.BucketOK, map[string]float64{"code_pass": 1})
		old.Scoring, old.Sandbox = "before", &eval.CodeSandbox{Kind: "rlimit", UID: 1000, Network: eval.SandboxHost, Filesystem: eval.SandboxHost}
		if c.AddScore(old) {
			t.Fatal("a score of another scoring was added")
		}
		rep := report(t, c, nil)
		want := []document.Sandbox{{CodeSandbox: *full, Scores: 6}, {CodeSandbox: *degraded, Scores: 4},
			{CodeSandbox: eval.CodeSandbox{Kind: document.SandboxUnrecorded, UID: -1}, Scores: 2}}
		if len(rep.Sandbox) != len(want) {
			t.Fatalf("sandbox %+v, want %+v", rep.Sandbox, want)
		}
		for i := range want {
			if rep.Sandbox[i] != want[i] {
				t.Errorf("sandbox[%d] = %+v, want %+v", i, rep.Sandbox[i], want[i])
			}
		}
		warnings := strings.Join(rep.Warnings, "\n")
		for _, w := range []string{"code_pass: 4 of 12 code scores ran their code in a degraded sandbox, nobody+nnp+rlimit+nproc (network host, filesystem host)",
			"code_pass: 2 of 12 code scores do not say which sandbox"} {
			if !strings.Contains(warnings, w) {
				t.Errorf("warnings lack %q:\n%s", w, warnings)
			}
		}
		got := encode(t, rep)
		if first == nil {
			first = got
		} else if !bytes.Equal(got, first) {
			t.Errorf("round %d: report.json differs with the scores in another order", round)
		}
		c.Release()
	}

	c := fixture(t)
	rep := report(t, c, nil)
	if rep.Sandbox == nil || len(rep.Sandbox) != 0 || strings.Contains(strings.Join(rep.Warnings, "\n"), "sandbox") {
		t.Errorf("a run without code: sandbox %#v, warnings %q", rep.Sandbox, rep.Warnings)
	}
	if !bytes.Contains(encode(t, rep), []byte(`"sandbox": []`)) {
		t.Error(`report.json lacks "sandbox": []`)
	}
}
