package llmsim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// samples builds n multiple-choice items the simulator knows.
func samples(n int) []eval.Sample {
	var out []eval.Sample
	for i := range n {
		out = append(out, eval.Sample{
			ID:        fmt.Sprint(i),
			Messages:  []eval.Message{{Role: "user", Content: fmt.Sprintf("Question %d?\nA. x\nB. y\nC. z\nD. w", i)}},
			Reference: &eval.Reference{Choices: []string{"x", "y", "z", "w"}, Label: "B"},
		})
	}
	return out
}

func TestDecisionsAreDeterministicAndFollowThePersona(t *testing.T) {
	ss := samples(4000)
	p := llmsim.Persona{Name: "p", Accuracy: 0.7, Refusal: 0.1, Verbosity: 0.3, Truncate: 0.05}
	a := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{p}, Key: llmsim.KeyFromSamples(ss)})
	b := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{p}, Key: llmsim.KeyFromSamples(ss)})
	c := llmsim.New(llmsim.Options{Seed: 2, Personas: []llmsim.Persona{p}, Key: llmsim.KeyFromSamples(ss)})
	var correct, refused, verbose, truncated, differ int
	for _, s := range ss {
		q := llmsim.PromptKey(s.Messages)
		d := a.Decide(p, q)
		if d != b.Decide(p, q) {
			t.Fatalf("two simulators with one seed decided %q differently", q)
		}
		if d != c.Decide(p, q) {
			differ++
		}
		switch d.Outcome {
		case llmsim.OutcomeCorrect:
			correct++
			if !d.Truncated && !strings.Contains(d.Text, "The answer is B.") {
				t.Fatalf("a correct answer %q does not name B", d.Text)
			}
		case llmsim.OutcomeRefuse:
			refused++
		}
		if d.Verbose {
			verbose++
		}
		if d.Truncated {
			truncated++
		}
	}
	n := float64(len(ss))
	near := func(name string, got int, want float64) {
		t.Helper()
		if f := float64(got) / n; f < want-0.03 || f > want+0.03 {
			t.Errorf("%s rate %.3f, want about %.2f", name, f, want)
		}
	}
	near("refusal", refused, 0.1)
	near("correct", correct, 0.9*0.7)
	near("verbose", verbose, 0.9*0.3)
	if differ == 0 {
		t.Error("another seed made the same choices")
	}
}

func TestJudgePositionBias(t *testing.T) {
	ss := samples(2000)
	s := llmsim.New(llmsim.Options{Seed: 1, Key: llmsim.KeyFromSamples(ss)})
	judge := llmsim.Persona{Name: "j", Judge: true, PositionBias: 0.25}
	var biased, flips int
	for _, x := range ss {
		q := llmsim.PromptKey(x.Messages)
		good, bad := "The answer is B.", "The answer is C."
		first, second := s.Judge(judge, q, good, bad), s.Judge(judge, q, bad, good)
		if second.Biased {
			biased++
			if second.Winner != "A" {
				t.Fatalf("a biased verdict picked %s, not the first answer", second.Winner)
			}
		}
		if first.Winner != "A" {
			t.Fatalf("the better answer shown first lost: %+v", first)
		}
		if second.Winner == "A" {
			flips++ // the order changed the verdict
		}
	}
	if f := float64(biased) / float64(len(ss)); f < 0.22 || f > 0.28 {
		t.Errorf("bias rate %.3f, want about 0.25", f)
	}
	if flips != biased {
		t.Errorf("%d verdicts flipped with the order, %d were biased", flips, biased)
	}
}

// TestJudgeFlip: a noisy judge flips its verdict at the persona's rate,
// drawn afresh for every call, so that the same question asked twice gets
// the same verdict with chance 1 - 2f(1-f); a judge without noise never
// flips.
func TestJudgeFlip(t *testing.T) {
	ss := samples(4000)
	s := llmsim.New(llmsim.Options{Seed: 3, Key: llmsim.KeyFromSamples(ss)})
	const f = 0.2
	noisy := llmsim.Persona{Name: "j", Judge: true, Flip: f}
	calm := llmsim.Persona{Name: "k", Judge: true}
	var flipped, same int
	for _, x := range ss {
		q := llmsim.PromptKey(x.Messages)
		good, bad := "The answer is B.", "The answer is C."
		first, second := s.JudgeCall(noisy, q, good, bad, 1), s.JudgeCall(noisy, q, good, bad, 2)
		if first.Flipped {
			flipped++
			if first.Winner != "B" {
				t.Fatalf("a flipped verdict picked %s, not the worse answer", first.Winner)
			}
		}
		if first.Winner == second.Winner {
			same++
		}
		if d := s.JudgeCall(calm, q, good, bad, 2); d.Flipped || d.Winner != "A" {
			t.Fatalf("a judge without noise: %+v", d)
		}
	}
	n := float64(len(ss))
	if r := float64(flipped) / n; r < 0.18 || r > 0.22 {
		t.Errorf("flip rate %.3f, want about %.2f", r, f)
	}
	if r, want := float64(same)/n, 1-2*f*(1-f); r < want-0.03 || r > want+0.03 {
		t.Errorf("same verdict on two calls %.3f, want about %.2f", r, want)
	}
}

func TestServerSpeaksOpenAI(t *testing.T) {
	ss := samples(3)
	sim := llmsim.New(llmsim.Options{Seed: 1, Key: llmsim.KeyFromSamples(ss),
		Personas: []llmsim.Persona{{Name: "m", Accuracy: 1, Think: true}}})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	c := llm.New()
	for _, stream := range []bool{false, true} {
		req := llm.Build("m", ss[0].Messages, eval.Decoding{MaxTokens: 16, TopP: 1}, eval.Template{})
		r, err := c.Chat(context.Background(), llm.Endpoint{BaseURL: srv.URL + "/v1", Concurrency: 1, Stream: stream}, req, llm.RetryPolicy{MaxAttempts: 1}, "")
		if err != nil {
			t.Fatalf("stream=%v: %v", stream, err)
		}
		if r.Output != "The answer is B." || r.Reasoning == "" || r.Usage.CompletionTokens == 0 || r.FinishReason != "stop" {
			t.Errorf("stream=%v: %+v", stream, r)
		}
	}
	if got := sim.Calls("m"); got != 2 {
		t.Errorf("%d calls counted, want 2", got)
	}

	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"model": "nope", "messages": [{"role": "user", "content": "hi"}]}`, http.StatusNotFound},
		{`{"model": "m", "messages": []}`, http.StatusBadRequest},
		{`not json`, http.StatusBadRequest},
	} {
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.body, resp.StatusCode, tc.status)
		}
	}
	resp, err := http.Get(srv.URL + "/v1/models")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/v1/models: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestFlakyPromptsFailOnceThenAnswer(t *testing.T) {
	ss := samples(200)
	p := llmsim.Persona{Name: "f", Accuracy: 1, Flaky: 0.2, Down: 0.05}
	sim := llmsim.New(llmsim.Options{Seed: 1, Key: llmsim.KeyFromSamples(ss), Personas: []llmsim.Persona{p}})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c := llm.New()
	for _, s := range ss {
		d := sim.Decide(p, llmsim.PromptKey(s.Messages))
		req := llm.Build("f", s.Messages, eval.Decoding{MaxTokens: 16, TopP: 1}, eval.Template{})
		// One attempt: a flaky prompt fails it, a down prompt fails always.
		_, err := c.Chat(context.Background(), llm.Endpoint{BaseURL: srv.URL + "/v1", Concurrency: 1}, req, llm.RetryPolicy{MaxAttempts: 1}, "")
		if (err != nil) != (d.Flaky || d.Down) {
			t.Fatalf("sample %s: error %v, flaky %v, down %v", s.ID, err, d.Flaky, d.Down)
		}
		_, err = c.Chat(context.Background(), llm.Endpoint{BaseURL: srv.URL + "/v1", Concurrency: 1}, req, llm.RetryPolicy{MaxAttempts: 1}, "")
		if (err != nil) != d.Down {
			t.Fatalf("sample %s, second call: error %v, down %v", s.ID, err, d.Down)
		}
	}
}
