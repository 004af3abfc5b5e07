package llm

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// spacedSSE streams events, pausing gap after each one that carries text.
func spacedSSE(gap time.Duration, events ...string) handler {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for _, e := range events {
			fmt.Fprintf(w, "%s\n\n", e)
			fl.Flush()
			select {
			case <-time.After(gap):
			case <-r.Context().Done():
				return
			}
		}
	}
}

func delta(field, text string) string {
	return fmt.Sprintf(`data: {"choices":[{"index":0,"delta":{%q:%q}}]}`, field, text)
}

const (
	roleEvent   = `data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}`
	finishEvent = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	usageEvent  = `data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":4,"total_tokens":5}}`
	doneEvent   = "data: [DONE]"
)

// TestChatStreamLatency checks time to first token and inter-token
// latency. Timings on a busy machine are only bounded one way, so the
// checks are orderings: the first token comes before the end, the text
// chunks' gaps fit within the call, and a stream spaced by gap shows gaps
// of about that size in at least one of a few tries.
func TestChatStreamLatency(t *testing.T) {
	const gap = 30 * time.Millisecond
	for _, tc := range []struct {
		name   string
		events []string
		chunks int // with text
		stream bool
	}{
		{"answer chunks", []string{roleEvent, delta("content", "The"), delta("content", " answer"), delta("content", " is"), delta("content", " 4."), finishEvent, usageEvent, doneEvent}, 4, true},
		{"reasoning chunks count", []string{roleEvent, delta("reasoning_content", "2+2"), delta("reasoning_content", "=4"), delta("content", "4"), finishEvent, doneEvent}, 3, true},
		{"one chunk", []string{roleEvent, delta("content", "4"), finishEvent, usageEvent, doneEvent}, 1, true},
		{"no text", []string{roleEvent, finishEvent, doneEvent}, 0, true},
		{"not streamed", nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := spacedSSE(gap, tc.events...)
			if !tc.stream {
				h = ok("4")
			}
			srv := newServer(t, h)
			c, _ := newClient(t)
			ep := srv.endpoint()
			ep.Stream = tc.stream
			spaced := false
			for try := 0; try < 5 && !spaced; try++ {
				r, err := c.Chat(t.Context(), ep, request(), RetryPolicy{MaxAttempts: 1}, "")
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tc.chunks == 0:
					if r.TTFT != 0 || r.ITL != 0 {
						t.Fatalf("TTFT %v, ITL %v without text chunks", r.TTFT, r.ITL)
					}
					return
				case r.TTFT <= 0 || r.TTFT >= r.Latency:
					t.Fatalf("TTFT %v, latency %v: want 0 < TTFT < latency", r.TTFT, r.Latency)
				case tc.chunks == 1:
					if r.ITL != 0 {
						t.Fatalf("ITL %v for one chunk", r.ITL)
					}
					return
				case r.ITL <= 0:
					t.Fatalf("ITL %v over %d chunks", r.ITL, tc.chunks)
				}
				// The first text chunk, then chunks-1 gaps, all before the
				// call ends.
				if end := r.TTFT + time.Duration(tc.chunks-1)*r.ITL; end > r.Latency {
					t.Fatalf("TTFT %v + %d × ITL %v = %v, after the call's end %v", r.TTFT, tc.chunks-1, r.ITL, end, r.Latency)
				}
				spaced = r.ITL >= gap/2
			}
			if !spaced {
				t.Errorf("a stream spaced by %v never showed an ITL of at least %v", gap, gap/2)
			}
		})
	}
}
