package score

import (
	"os/exec"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/score/codeexec"
)

// TestCodeRunner runs real answers in the sandbox, HumanEval and MBPP
// style, the way the scoring stage does for code_pass.
func TestCodeRunner(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH; install it (apt-get install python3) to run the sandbox")
	}
	humanEval := &eval.CodeTest{
		Prompt:     "def add(a, b):\n    \"\"\"Return a + b.\"\"\"\n",
		Test:       "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n",
		EntryPoint: "add",
	}
	mbpp := &eval.CodeTest{Test: "assert is_even(4)\nassert not is_even(3)", Setup: "import math"}
	run := CodeRunner(2, codeexec.Limits{})
	for _, c := range []struct {
		name, answer string
		test         *eval.CodeTest
		passed       bool
		status       string
	}{
		{"a HumanEval body", "    return a + b\n", humanEval, true, "passed"},
		{"the whole function in a fence", "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nIt adds.", humanEval, true, "passed"},
		{"a wrong body", "    return a - b\n", humanEval, false, "failed"},
		{"broken code", "```python\ndef add(a, b)\n    return a + b\n```", humanEval, false, "syntax_error"},
		{"MBPP", "```py\ndef is_even(n):\n    return n % 2 == 0\n```", mbpp, true, "passed"},
		{"MBPP wrong", "def is_even(n):\n    return True", mbpp, false, "failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := run(t.Context(), c.answer, c.test)
			if err != nil {
				t.Fatal(err)
			}
			if got.Passed != c.passed || got.Status != c.status {
				t.Errorf("passed %v, status %s (%s); want %v, %s", got.Passed, got.Status, got.Detail, c.passed, c.status)
			}
		})
	}
}
