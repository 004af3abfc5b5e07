package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/natsembed"
)

// TestLocalRunResumesAfterCtrlC interrupts a local `assay run` (every stage
// in its process) with SIGINT in the middle of the run, runs the same
// command again, and expects the run to finish without paying again for
// anything the endpoint answered before the interrupt.
func TestLocalRunResumesAfterCtrlC(t *testing.T) {
	f := newFixture(t, "resumed", slowPersonas())
	// The run calls the simulator through the endpoint's answer log.
	answers := newAnswerLog(f.sim.Handler())
	srv := httptest.NewServer(answers)
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/v1"
	f.spec = f.load(t, "resumed", f.url)
	data := filepath.Join(t.TempDir(), "state")
	args := []string{"run", "-f", filepath.Join(f.dir, "run.yaml"), "--data", data, "--out", t.TempDir()}
	models := []string{"t-base", "t-ft", "t-int4"}
	answered := func() int {
		n := 0
		for _, m := range models {
			n += f.sim.Calls(m)
		}
		return n
	}

	first := start(t, "assay", args...)
	total := len(models) * len(f.samples)
	bustest.Eventually(t, 90*time.Second, func() error {
		if n := answered(); n < total/3 {
			return fmt.Errorf("%d of %d generations asked for", n, total)
		}
		return nil
	})
	// From here the endpoint answers nothing more. Once every variant
	// has as many requests held as its concurrency, the run has read
	// every answer it got (a request holds its slot until its answer is
	// read): the interrupt lands with no answer half-received, whatever
	// the machine's load.
	answers.freeze()
	bustest.Eventually(t, 90*time.Second, func() error {
		for _, v := range f.spec.Variants {
			if n := answers.holding(v.Model); n < v.Concurrency {
				return fmt.Errorf("%s: %d of %d requests held", v.Model, n, v.Concurrency)
			}
		}
		return nil
	})
	before := answers.answered()
	if err := first.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := exitStatus(t, first, time.Minute); code != exitInterrupted {
		t.Fatalf("interrupted run: exit %d, want %d\n%s", code, exitInterrupted, first.out)
	}
	if want := "assay: interrupted: the state is kept in " + data; !strings.Contains(first.out.String(), want) {
		t.Errorf("the interrupted run does not say %q:\n%s", want, first.out)
	}

	// What the interrupted run stored.
	gens := storedGenerations(t, data, f.spec.Run)
	if len(gens) == 0 || len(gens) >= total {
		t.Fatalf("%d of %d generations stored before the interrupt: it did not land mid-run", len(gens), total)
	}
	asked := answered()

	answers.thaw()
	again := start(t, "assay", args...)
	if code := exitStatus(t, again, 3*time.Minute); code != 0 && code != exitGateFailed && code != exitInconclusive {
		t.Fatalf("resumed run: exit %d, want a gate verdict\n%s", code, again.out)
	}
	if !strings.Contains(again.out.String(), "gate: ") {
		t.Errorf("the resumed run printed no summary:\n%s", again.out)
	}
	// The endpoint's side: nothing it answered in full before the
	// interrupt is asked again.
	n := 0
	for _, v := range f.spec.Variants {
		for k := range before {
			if k.model != v.Model {
				continue
			}
			n++
			if m := answers.askedAgain(k); m > 0 {
				t.Errorf("%s was answered before the interrupt and asked %d times again: %.60q", k.model, m, k.prompt)
			}
		}
	}
	if n == 0 {
		t.Fatal("the endpoint answered no generation before the interrupt")
	}
	for _, g := range gens {
		model := f.spec.Variants[variantIndex(f.spec, g.gen.Variant)].Model
		if n := f.sim.PromptCalls(model, promptOf(f, g.gen.Sample)); n != 1 {
			t.Errorf("%s/%s of %s was stored before the interrupt and paid for %d times", g.gen.Sample.Suite, g.gen.Sample.ID, g.gen.Variant, n)
		}
	}
	// Every generation was asked for once (held requests never reached
	// the simulator).
	if paid := answered(); paid != total {
		t.Errorf("%d generation calls for %d generations: %d stored and %d asked for before the interrupt", paid, total, len(gens), asked)
	}
	t.Logf("interrupted after %d of %d generations stored (%d answered); %d calls in all", len(gens), total, asked, answered())
}

// answerLog stands between a run and the endpoint: it keeps which chat
// requests the endpoint answered in full, and, once frozen, holds every new
// chat request unanswered until its caller gives up.
type answerLog struct {
	next http.Handler

	mu     sync.Mutex
	frozen bool
	thawed bool
	held   map[string]int    // model -> requests held now
	done   map[promptKey]int // answers written in full
	again  map[promptKey]int // requests received after thaw
}

type promptKey struct{ model, prompt string }

func newAnswerLog(next http.Handler) *answerLog {
	return &answerLog{next: next, held: map[string]int{}, done: map[promptKey]int{}, again: map[promptKey]int{}}
}

func (a *answerLog) freeze() { a.mu.Lock(); a.frozen = true; a.mu.Unlock() }

func (a *answerLog) thaw() { a.mu.Lock(); a.frozen, a.thawed = false, true; a.mu.Unlock() }

func (a *answerLog) holding(model string) int { a.mu.Lock(); defer a.mu.Unlock(); return a.held[model] }

func (a *answerLog) answered() map[promptKey]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.done)
}

func (a *answerLog) askedAgain(k promptKey) int { a.mu.Lock(); defer a.mu.Unlock(); return a.again[k] }

func (a *answerLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		a.next.ServeHTTP(w, r)
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	var req llm.ChatRequest
	_ = json.Unmarshal(b, &req)
	msgs := make([]eval.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = eval.Message{Role: m.Role, Content: m.Content}
	}
	k := promptKey{req.Model, llmsim.PromptKey(msgs)}
	a.mu.Lock()
	if a.thawed {
		a.again[k]++
	}
	if a.frozen {
		a.held[k.model]++
		a.mu.Unlock()
		<-r.Context().Done()
		a.mu.Lock()
		a.held[k.model]--
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	a.next.ServeHTTP(sw, r)
	// In full: the last byte is out of the server.
	if sw.status == http.StatusOK && http.NewResponseController(w).Flush() == nil {
		a.mu.Lock()
		a.done[k]++
		a.mu.Unlock()
	}
}

// statusWriter notes a response's status.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// exitStatus waits for p to end and returns its exit status.
func exitStatus(t *testing.T, p *process, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("%s did not end within %v:\n%s", p.name, within, p.out)
	}
	// -1 when a signal ended it: assay itself exits 130 on SIGINT.
	return p.cmd.ProcessState.ExitCode()
}

// storedGenerations reads a run's generations from a local run's data
// directory, once no process holds it.
func storedGenerations(t *testing.T, data, run string) []storedGen {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Options{Dir: data, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	b, err := bus.Open(ctx, nc, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return streamGenerations(t, ctx, b, run)
}
