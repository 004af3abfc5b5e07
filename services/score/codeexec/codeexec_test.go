package codeexec

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// mode is a way this machine can run programs.
type mode struct {
	name string
	host host
}

// allModes are the sandboxes the tests run programs in: the one Run picks;
// rlimits alone; and, when Run's lacks a process limit because nobody
// cannot run the python3 on PATH, Debian's python3 run as nobody.
var allModes = sync.OnceValues(func() ([]mode, error) {
	h, err := findHost()
	if err != nil {
		return nil, err
	}
	ms := []mode{{"default", h}}
	if h.namespaces {
		plain := h
		plain.namespaces, plain.userns, plain.fsview, plain.helper = false, false, false, false
		ms = append(ms, mode{"rlimit-only", plain})
		nnp := plain
		nnp.helper = true
		ms = append(ms, mode{"helper-without-namespaces", nnp})
	}
	if h.fsview && h.userns {
		// The fallbacks where the kernel refuses a user namespace, or the
		// helper cannot run.
		if os.Getuid() == 0 {
			asRoot := h
			asRoot.userns = false
			ms = append(ms, mode{"mntns-without-userns", asRoot})
		}
		nsOnly := h
		nsOnly.fsview, nsOnly.helper, nsOnly.exe, nsOnly.extra = false, false, nil, nil
		ms = append(ms, mode{"userns-without-mntns", nsOnly})
	}
	if !strings.Contains(h.sandbox(), "nproc") {
		if sys, err := filepath.EvalSymlinks("/usr/bin/python3"); err == nil && sys != h.python {
			if s, err := probeHost([]string{sys}); err == nil && strings.Contains(s.sandbox(), "nproc") {
				ms = append(ms, mode{"system-python", s})
			}
		}
	}
	return ms, nil
})

func modes(t *testing.T) []mode {
	t.Helper()
	ms, err := allModes()
	if errors.Is(err, ErrNoPython) {
		t.Skip("python3 is not on PATH; install it (apt-get install python3) to run the sandbox tests")
	}
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// testLimits are the default limits with a generous timeout: on a busy
// machine a program that fills its memory 1 MB at a time took more than 5
// s, and was reported as timed out. The tests of the timeout set their own.
func testLimits() Limits {
	l := DefaultLimits()
	l.Timeout = time.Minute
	return l
}

func run(t *testing.T, h host, program string, lim Limits) Result {
	t.Helper()
	res, err := h.run(t.Context(), program, lim.withDefaults(), nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

// groupGone reports whether the process group pid led is gone, waiting a
// little for init to reap the killed processes (a zombie still counts).
func groupGone(pid int) bool {
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if errors.Is(syscall.Kill(-pid, 0), syscall.ESRCH) {
			return true
		}
	}
	return false
}

func TestRunOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		program  string
		status   Status
		exitCode int
		stdout   string // contained
		stderr   []string
	}{
		{name: "passes", program: "print('hello')\n", status: StatusPassed, stdout: "hello\n"},
		{
			name:     "fails an assertion",
			program:  "def f():\n    return 1\n\nassert f() == 2, 'f is wrong'\n",
			status:   StatusFailed,
			exitCode: 1,
			stderr:   []string{"AssertionError: f is wrong", `program.py", line 4`},
		},
		{
			name:     "raises",
			program:  "print('before')\n{}['k']\n",
			status:   StatusFailed,
			exitCode: 1,
			stdout:   "before\n",
			stderr:   []string{"KeyError: 'k'"},
		},
		{name: "exits non-zero", program: "import sys\nsys.exit(3)\n", status: StatusFailed, exitCode: 3},
		{
			name:     "does not compile",
			program:  "def f(:\n    pass\n",
			status:   StatusSyntaxError,
			exitCode: exitSyntax,
			stderr:   []string{"SyntaxError", "program.py"},
		},
		{
			name:     "is badly indented",
			program:  "def f():\nreturn 1\n",
			status:   StatusSyntaxError,
			exitCode: exitSyntax,
			stderr:   []string{"IndentationError"},
		},
		{
			name:     "raises SyntaxError at run time",
			program:  "eval('1 +')\n",
			status:   StatusFailed,
			exitCode: 1,
			stderr:   []string{"SyntaxError"},
		},
		{
			name:     "exhausts memory",
			program:  "x = []\nwhile True:\n    x.append(' ' * 10**6)\n",
			status:   StatusMemory,
			exitCode: exitMemory,
			stderr:   []string{"MemoryError", "program.py"},
		},
		{
			name:    "reads empty stdin",
			program: "import sys\nassert sys.stdin.read() == ''\nprint(__name__, __file__.endswith('program.py'))\n",
			status:  StatusPassed,
			stdout:  "__main__ True",
		},
	}
	for _, m := range modes(t) {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				res := run(t, m.host, tt.program, testLimits())
				if res.Status != tt.status || res.Passed != (tt.status == StatusPassed) || res.ExitCode != tt.exitCode {
					t.Fatalf("status %s (passed %v, exit %d), want %s (exit %d)\nstdout: %s\nstderr: %s",
						res.Status, res.Passed, res.ExitCode, tt.status, tt.exitCode, res.Stdout, res.Stderr)
				}
				if !strings.Contains(res.Stdout, tt.stdout) {
					t.Errorf("stdout %q lacks %q", res.Stdout, tt.stdout)
				}
				for _, s := range tt.stderr {
					if !strings.Contains(res.Stderr, s) {
						t.Errorf("stderr lacks %q:\n%s", s, res.Stderr)
					}
				}
				if res.Sandbox != m.host.sandbox() {
					t.Errorf("sandbox %q, want %q", res.Sandbox, m.host.sandbox())
				}
			})
		}
	}
}

func TestRunTimeout(t *testing.T) {
	t.Parallel()
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			lim := testLimits()
			lim.Timeout = time.Second
			res := run(t, m.host, "while True:\n    pass\n", lim)
			if res.Status != StatusTimeout || res.Passed {
				t.Fatalf("status %s, want timeout; stderr: %s", res.Status, res.Stderr)
			}
			if res.Duration > lim.Timeout+time.Second {
				t.Errorf("took %v for a %v timeout", res.Duration, lim.Timeout)
			}
		})
	}
}

func TestRunCPULimit(t *testing.T) {
	t.Parallel()
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			// The wall clock is far off: on a loaded machine CPU seconds
			// accrue slowly, and only the CPU limit may end this run.
			lim := testLimits()
			lim.Timeout = 60 * time.Second
			lim.CPUSeconds = 1
			res := run(t, m.host, "while True:\n    pass\n", lim)
			if res.Status != StatusTimeout {
				t.Fatalf("status %s, want timeout; stderr: %s", res.Status, res.Stderr)
			}
			if res.Duration >= lim.Timeout {
				t.Errorf("the wall clock ended it after %v, not the 1 s CPU limit", res.Duration)
			}
			t.Logf("the CPU limit ended it after %v", res.Duration)
		})
	}
}

func TestRunOutputFlood(t *testing.T) {
	t.Parallel()
	const program = "import sys\nfor i in range(200000):\n    print('y' * 100)\n" +
		"print('END')\nfor i in range(200000):\n    sys.stderr.write('e' * 100)\nraise ValueError('last words')\n"
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			lim := testLimits()
			lim.MaxOutputBytes = 4096
			res := run(t, m.host, program, lim)
			if res.Status != StatusFailed {
				t.Fatalf("status %s, want failed", res.Status)
			}
			for name, s := range map[string]string{"stdout": res.Stdout, "stderr": res.Stderr} {
				if len(s) > lim.MaxOutputBytes+100 {
					t.Errorf("%s is %d bytes, want at most about %d", name, len(s), lim.MaxOutputBytes)
				}
				if !strings.Contains(s, "bytes truncated]") {
					t.Errorf("%s has no truncation marker", name)
				}
			}
			if !strings.HasSuffix(res.Stdout, "y\nEND\n") {
				t.Errorf("stdout does not end with the program's last line: %q", res.Stdout[len(res.Stdout)-20:])
			}
			if !strings.Contains(res.Stderr, "ValueError: last words") {
				t.Errorf("stderr lost the traceback at its end")
			}
		})
	}
}

func TestRunNetwork(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	program := fmt.Sprintf(`import socket
try:
    socket.create_connection(("127.0.0.1", %d), timeout=2).close()
    print("connected")
except OSError as e:
    print("blocked:", e)
`, ln.Addr().(*net.TCPAddr).Port)
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, m.host, program, testLimits())
			t.Logf("sandbox %s: %s", res.Sandbox, strings.TrimSpace(res.Stdout))
			want := "connected"
			if strings.Contains(res.Sandbox, "netns") {
				want = "blocked"
			}
			if !strings.HasPrefix(res.Stdout, want) {
				t.Errorf("program said %q, want %q under %s; stderr: %s", res.Stdout, want, res.Sandbox, res.Stderr)
			}
		})
	}
}

func TestRunForks(t *testing.T) {
	t.Parallel()
	const counter = `import os, time
n = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    n += 1
print(n)
`
	const bomb = "import os\nwhile True:\n    os.fork()\n"
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			lim := testLimits()
			lim.MaxProcs = 8
			lim.Timeout = 3 * time.Second

			var pid int
			res, err := m.host.run(t.Context(), counter, lim.withDefaults(), func(p int) { pid = p })
			if err != nil {
				t.Fatal(err)
			}
			if !groupGone(pid) {
				t.Errorf("forked children survive")
			}
			var n int
			if _, err := fmt.Sscan(res.Stdout, &n); err != nil {
				t.Fatalf("reading the fork count: %v; stdout %q, stderr %s", err, res.Stdout, res.Stderr)
			}
			t.Logf("forked %d children under MaxProcs %d", n, lim.MaxProcs)
			nproc := strings.Contains(res.Sandbox, "nproc")
			if nproc && m.host.userns && n >= lim.MaxProcs {
				t.Errorf("forked %d children, want fewer than %d", n, lim.MaxProcs)
			}
			if nproc && n >= 200 {
				t.Errorf("forked all %d children: no limit", n)
			}

			if !nproc {
				t.Skipf("no fork bomb under %s: without RLIMIT_NPROC only the timeout would stop it", res.Sandbox)
			}
			start := time.Now()
			res, err = m.host.run(t.Context(), bomb, lim.withDefaults(), func(p int) { pid = p })
			if err != nil {
				t.Fatal(err)
			}
			if res.Passed {
				t.Errorf("fork bomb passed")
			}
			if d := time.Since(start); d > lim.Timeout+2*time.Second {
				t.Errorf("fork bomb took %v for a %v timeout", d, lim.Timeout)
			}
			if !groupGone(pid) {
				t.Errorf("processes of the fork bomb survive")
			}
			t.Logf("fork bomb: %s after %v", res.Status, res.Duration)
		})
	}
}

// TestRunEnvironment cannot be parallel: it sets a variable in this
// process's environment.
func TestRunEnvironment(t *testing.T) {
	t.Setenv("ASSAY_CODEEXEC_SECRET", "hunter2")
	const program = `import os
print(sorted(os.environ))
assert "ASSAY_CODEEXEC_SECRET" not in os.environ
assert "hunter2" not in repr(dict(os.environ))
assert os.environ["HOME"] == os.getcwd(), (os.environ["HOME"], os.getcwd())
assert os.environ["LANG"] == "C.UTF-8"
assert oct(os.stat(".").st_mode & 0o777) == "0o700"
`
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			res := run(t, m.host, program, testLimits())
			if !res.Passed {
				t.Fatalf("status %s\nstdout: %s\nstderr: %s", res.Status, res.Stdout, res.Stderr)
			}
			t.Logf("environment: %s", strings.TrimSpace(res.Stdout))
		})
	}
}

func TestRunRemovesItsDirectory(t *testing.T) {
	t.Parallel()
	const program = `import os
print(os.getcwd())
os.makedirs("locked/deeper")
open("locked/deeper/f.txt", "w").write("x")
os.chmod("locked/deeper", 0)
os.chmod("locked", 0o500)
`
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, m.host, program, testLimits())
			if !res.Passed {
				t.Fatalf("status %s: %s", res.Status, res.Stderr)
			}
			dir := strings.TrimSpace(res.Stdout)
			if !strings.Contains(dir, "assay-codeexec-") {
				t.Fatalf("program ran in %q", dir)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s still there: %v", dir, err)
			}
		})
	}
}

func TestRunKillsStragglers(t *testing.T) {
	t.Parallel()
	// The child keeps stdout open; Run must neither wait for it nor leave it.
	const program = `import os, time
if os.fork() == 0:
    time.sleep(60)
print("parent done")
`
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			var pid int
			res, err := m.host.run(t.Context(), program, testLimits().withDefaults(), func(p int) { pid = p })
			if err != nil {
				t.Fatal(err)
			}
			if !res.Passed || res.Stdout != "parent done\n" {
				t.Errorf("status %s, stdout %q", res.Status, res.Stdout)
			}
			if res.Duration > 2*time.Second {
				t.Errorf("took %v", res.Duration)
			}
			if !groupGone(pid) {
				t.Errorf("the forked child survives")
			}
		})
	}
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	const program = "import os, time\nos.fork()\ntime.sleep(60)\n"
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			var pid int
			var once sync.Once
			start := time.Now()
			res, err := m.host.run(ctx, program, testLimits().withDefaults(), func(p int) {
				pid = p
				once.Do(func() { time.AfterFunc(300*time.Millisecond, cancel) })
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want context.Canceled", err)
			}
			if res.Status != StatusError || res.Passed {
				t.Errorf("status %s, want error", res.Status)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v to stop", d)
			}
			if !groupGone(pid) {
				t.Errorf("processes survive the cancellation")
			}
		})
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := runHello(t, ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

func runHello(t *testing.T, ctx context.Context) (Result, error) {
	t.Helper()
	if _, err := findHost(); errors.Is(err, ErrNoPython) {
		t.Skip("python3 is not on PATH; install it (apt-get install python3) to run the sandbox tests")
	}
	return Run(ctx, "print('hi')\n", Limits{})
}

func TestRunDefaults(t *testing.T) {
	t.Parallel()
	res, err := runHello(t, t.Context())
	if err != nil || !res.Passed || res.Stdout != "hi\n" {
		t.Fatalf("Run: %+v, %v", res, err)
	}
	iso, err := Probe()
	if err != nil || iso.Sandbox != res.Sandbox {
		t.Errorf("Probe() = %+v, %v; Run used %q", iso, err, res.Sandbox)
	}
	line := Describe()
	t.Logf("on this machine (uid %d): %s", os.Getuid(), line)
	if iso.UID == 0 || iso.GID == 0 {
		t.Errorf("programs run as uid %d gid %d", iso.UID, iso.GID)
	}
	for _, want := range []string{iso.Sandbox, iso.Python, fmt.Sprintf("uid %d", iso.UID)} {
		if !strings.Contains(line, want) {
			t.Errorf("Describe() = %q, missing %q", line, want)
		}
	}
	if net := strings.Contains(line, "network: none"); net != strings.Contains(iso.Sandbox, "netns") {
		t.Errorf("Describe() = %q under %s: says network none %v", line, iso.Sandbox, net)
	}
	ms, _ := allModes()
	for _, m := range ms {
		t.Logf("test mode %s: %s with %s", m.name, m.host.sandbox(), m.host.python)
	}
}

// TestNoPython cannot be parallel: it empties PATH.
func TestNoPython(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	hostMu.Lock()
	saved := hostCached
	hostCached = nil
	hostMu.Unlock()
	t.Cleanup(func() {
		hostMu.Lock()
		hostCached = saved
		hostMu.Unlock()
	})
	res, err := Run(t.Context(), "pass\n", Limits{})
	if !errors.Is(err, ErrNoPython) || res.Status != StatusError {
		t.Fatalf("Run without python3: %s, %v; want status error and ErrNoPython", res.Status, err)
	}
	if !strings.Contains(err.Error(), "apt-get install python3") {
		t.Errorf("error %q does not say how to install python3", err)
	}
}

func TestHumanEvalProgram(t *testing.T) {
	t.Parallel()
	const prompt = "from typing import List\n\n\ndef helper(x: int) -> int:\n    return x + 1\n\n\n" +
		"def add_one(xs: List[int]) -> List[int]:\n    \"\"\"Add one to each.\"\"\"\n"
	const test = "def check(candidate):\n    assert candidate([1, 2]) == [2, 3]\n"
	tests := []struct {
		name, prompt, completion, want string
	}{
		{
			name:       "body",
			prompt:     prompt,
			completion: "    return [helper(x) for x in xs]\n",
			want:       prompt + "    return [helper(x) for x in xs]\n\n\n" + test + "\n\ncheck(add_one)\n",
		},
		{
			name:       "whole function",
			prompt:     prompt,
			completion: "def add_one(xs):\n    return [helper(x) for x in xs]\n",
			want: "from typing import List\n\n\ndef helper(x: int) -> int:\n    return x + 1\n\n\n" +
				"def add_one(xs):\n    return [helper(x) for x in xs]\n\n\n" + test + "\n\ncheck(add_one)\n",
		},
		{
			name:       "whole function, prompt without its def",
			prompt:     "import math\nfrom typing import List\nx = 1\n",
			completion: "def add_one(xs):\n    return [x + 1 for x in xs]\n",
			want: "import math\nfrom typing import List\n" +
				"def add_one(xs):\n    return [x + 1 for x in xs]\n\n\n" + test + "\n\ncheck(add_one)\n",
		},
		{
			name:       "nested def of the same name is a body",
			prompt:     prompt,
			completion: "    def add_one(y):\n        return y\n    return [helper(x) for x in xs]\n",
			want: prompt + "    def add_one(y):\n        return y\n    return [helper(x) for x in xs]\n\n\n" +
				test + "\n\ncheck(add_one)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := HumanEvalProgram(tt.prompt, tt.completion, test, "add_one")
			if got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	t.Run("runs", func(t *testing.T) {
		t.Parallel()
		for _, completion := range []string{
			"    return [helper(x) for x in xs]\n",
			ExtractCode("Here you go:\n```python\ndef add_one(xs):\n    return [helper(x) for x in xs]\n```\n"),
			"    return xs\n",
		} {
			res, err := Run(t.Context(), HumanEvalProgram(prompt, completion, test, "add_one"), Limits{})
			if errors.Is(err, ErrNoPython) {
				t.Skip("python3 is not on PATH; install it (apt-get install python3)")
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := completion != "    return xs\n"; res.Passed != want {
				t.Errorf("completion %q: passed %v, want %v; stderr: %s", completion, res.Passed, want, res.Stderr)
			}
		}
	})
}

func TestMBPPProgram(t *testing.T) {
	t.Parallel()
	got := MBPPProgram("def sq(x):\n    return x * x", "import math",
		[]string{"assert sq(2) == 4", "assert sq(3) == math.pow(3, 2)\n"})
	want := "def sq(x):\n    return x * x\nimport math\nassert sq(2) == 4\nassert sq(3) == math.pow(3, 2)\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if got := MBPPProgram("x = 1\n", "", nil); got != "x = 1\n" {
		t.Errorf("no setup, no tests: %q", got)
	}
}

func TestExtractCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, answer, want string
	}{
		{"no fence", "    return x + 1\n", "    return x + 1\n"},
		{"empty", "", ""},
		{"python fence", "Sure:\n```python\ndef f():\n    return 1\n```\nDone.", "def f():\n    return 1\n"},
		{"py fence", "```py\nx = 1\n```", "x = 1\n"},
		{"capitalised tag", "```Python3\nx = 1\n```", "x = 1\n"},
		{"untagged fence", "Code:\n```\nx = 2\n```\n", "x = 2\n"},
		{"python preferred to an earlier untagged one", "```\n$ run it\n```\n```python\nx = 3\n```\n", "x = 3\n"},
		{"first python fence wins", "```python\na = 1\n```\n```python\nb = 2\n```\n", "a = 1\n"},
		{"other language ignored", "```bash\npip install x\n```\nthen\n```\nx = 4\n```", "x = 4\n"},
		{"only another language", "```text\nhello\n```", "```text\nhello\n```"},
		{"unterminated", "```python\ndef f():\n    return 1\n", "def f():\n    return 1\n"},
		{"unterminated without newline", "```python\nx = 5", "x = 5"},
		{"indented fence", "1. Code:\n   ```python\n   x = 6\n   ```\n", "   x = 6\n"},
		{"longer fence holds a shorter one", "````python\ns = '''\n```\n'''\n````\n", "s = '''\n```\n'''\n"},
		{"closing fence with text is content", "```python\nx = 1\n```not a close\ny = 2\n```\n", "x = 1\n```not a close\ny = 2\n"},
		{"inline triple backticks are not a fence", "Use ```x``` here.\n```python\nx = 7\n```", "x = 7\n"},
		{"crlf", "```python\r\nx = 8\r\n```\r\n", "x = 8\r\n"},
		{"info string with attributes", "```python {.numberLines}\nx = 9\n```", "x = 9\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ExtractCode(tt.answer); got != tt.want {
				t.Errorf("ExtractCode(%q) = %q, want %q", tt.answer, got, tt.want)
			}
		})
	}
}

func FuzzExtractCode(f *testing.F) {
	for _, s := range []string{
		"", "x = 1", "```python\nx = 1\n```", "```\n", "````py\n```\n````", "a\n```py", "```x```\n```\ny",
		"\r\n```python\r\n\r\n```", "``` ```\n``",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, answer string) {
		got := ExtractCode(answer)
		if !strings.Contains(answer, got) {
			t.Fatalf("ExtractCode(%q) = %q, not a substring", answer, got)
		}
	})
}

func TestPassAtK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, c, k int
		want    float64
	}{
		{10, 3, 1, 0.3},
		{10, 3, 5, 1 - 21.0/252},
		{10, 0, 1, 0},
		{5, 5, 1, 1},
		{200, 0, 100, 0},
		{200, 0, 1, 0},
		{10, 8, 3, 1}, // n-c = 2 < k
		{10, 7, 3, 1 - 1.0/120},
		{1, 1, 1, 1},
		{1, 0, 1, 0},
		{200, 37, 10, 1 - binom(163, 10)/binom(200, 10)},
		{200, 1, 200, 1},
	}
	for _, tt := range tests {
		got, err := PassAtK(tt.n, tt.c, tt.k)
		if err != nil {
			t.Errorf("PassAtK(%d, %d, %d): %v", tt.n, tt.c, tt.k, err)
			continue
		}
		if math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("PassAtK(%d, %d, %d) = %.15g, want %.15g", tt.n, tt.c, tt.k, got, tt.want)
		}
	}
	for _, bad := range [][3]int{{0, 0, 1}, {-1, 0, 1}, {10, -1, 1}, {10, 11, 1}, {10, 3, 0}, {10, 3, -2}, {10, 3, 11}} {
		if _, err := PassAtK(bad[0], bad[1], bad[2]); !errors.Is(err, ErrPassAtK) {
			t.Errorf("PassAtK(%d, %d, %d): err %v, want ErrPassAtK", bad[0], bad[1], bad[2], err)
		}
	}
}

// binom is C(n, k) in floating point, exact enough for the sizes above.
func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

func TestCapture(t *testing.T) {
	t.Parallel()
	t.Run("fits", func(t *testing.T) {
		c := newCapture(10)
		c.Write([]byte("hello"))
		c.Write([]byte("world"))
		if got := c.String(); got != "helloworld" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("keeps head and tail", func(t *testing.T) {
		c := newCapture(10)
		for _, s := range []string{"abc", "defgh", strings.Repeat("-", 1000), "vw", "xyz"} {
			c.Write([]byte(s))
		}
		if got, want := c.String(), "abcde\n[codeexec: 1003 bytes truncated]\nvwxyz"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if c.Tail() != "vwxyz" {
			t.Errorf("tail %q", c.Tail())
		}
	})
	t.Run("cuts at characters", func(t *testing.T) {
		c := newCapture(8)
		c.Write([]byte(strings.Repeat("é", 100)))
		got := c.String()
		if !utf8.ValidString(got) || !strings.HasPrefix(got, "éé\n") || !strings.HasSuffix(got, "\néé") {
			t.Errorf("got %q", got)
		}
	})
}
