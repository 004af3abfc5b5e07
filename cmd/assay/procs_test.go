package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The binaries the multi-process tests run, built once per test process.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

var binaries = map[string]string{
	"assay":        "github.com/assay-eval/assay/cmd/assay",
	"assay-ingest": "github.com/assay-eval/assay/services/ingest/cmd/assay-ingest",
	"assay-infer":  "github.com/assay-eval/assay/services/infer/cmd/assay-infer",
	"assay-score":  "github.com/assay-eval/assay/services/score/cmd/assay-score",
	"assay-judge":  "github.com/assay-eval/assay/services/judge/cmd/assay-judge",
	"assay-report": "github.com/assay-eval/assay/services/report/cmd/assay-report",
}

func TestMain(m *testing.M) {
	// Local runs keep their state under the user's cache directory: give
	// the tests one of their own, so that no test resumes another's run
	// (or a person's). The Go build cache stays where it is.
	cache, err := os.MkdirTemp("", "assay-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if gocache, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
		os.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	removeTestImages()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.RemoveAll(cache)
	os.Exit(code)
}

// binary returns the path of a built binary.
func binary(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts processes; skipped with -short")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "assay-bin-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + string(os.PathSeparator)}
		for _, pkg := range binaries {
			args = append(args, pkg)
		}
		cmd := exec.Command("go", args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// process is a started binary whose output is kept for failure messages.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t testing.TB, name string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(binary(t, name), args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

// stop ends the process politely (SIGTERM), then for good.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process with SIGKILL: no chance to clean up.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func freePort(t testing.TB) int {
	t.Helper()
	return freePorts(t, 1)[0]
}

// freePorts returns n distinct free ports: the listeners are held until
// all are chosen, as a port closed and asked for again may come back.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}
