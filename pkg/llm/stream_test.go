package llm

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestChatAttemptTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		slow handler // the first call's answer: too slow
	}{
		{"no headers in time", func(w http.ResponseWriter, r *http.Request, _ int) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}},
		{"stream stalls", func(w http.ResponseWriter, r *http.Request, _ int) {
			sse(w, `data: {"choices":[{"index":0,"delta":{"content":"par"}}]}`)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					tc.slow(w, r, n)
					return
				}
				sse(w, `data: {"choices":[{"index":0,"delta":{"content":"fast"},"finish_reason":"stop"}]}`, "data: [DONE]")
			})
			c, sl := newClient(t)
			ep := srv.endpoint()
			ep.Timeout, ep.Stream = 100*time.Millisecond, true
			r, err := c.Chat(t.Context(), ep, request(), fastRetry, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.Attempts != 2 || r.Output != "fast" || len(sl.get()) != 1 {
				t.Errorf("response %+v after sleeps %v, want the second attempt", r, sl.get())
			}
		})
	}
}

func TestChatStream(t *testing.T) {
	const (
		role    = `data: {"id":"c","model":"served","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}`
		think1  = `data: {"choices":[{"index":0,"delta":{"reasoning_content":"2+2 "}}]}`
		think2  = `data:{"choices":[{"index":0,"delta":{"reasoning_content":"is 4"}}]}`
		word1   = `data: {"choices":[{"index":0,"delta":{"content":"The answer"}}]}`
		word2   = `data: {"choices":[{"index":0,"delta":{"content":" is 4."}}]}`
		other   = `data: {"choices":[{"index":1,"delta":{"content":"IGNORED"}}]}`
		finish  = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
		length  = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`
		usage   = `data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}}`
		done    = `data: [DONE]`
		comment = `: keep-alive`
		event   = "event: message"
	)
	for _, tc := range []struct {
		name      string
		events    []string
		output    string
		reasoning string
		finish    string
		usage     WireUsage
		err       bool
	}{
		{
			name:   "complete",
			events: []string{role, think1, comment, think2, word1, event + "\n" + word2, other, finish, usage, done},
			output: "The answer is 4.", reasoning: "2+2 is 4", finish: "stop", usage: WireUsage{7, 5, 12},
		},
		{
			name:   "no [DONE] but a finish_reason",
			events: []string{role, word1, word2, length, usage},
			output: "The answer is 4.", finish: "length", usage: WireUsage{7, 5, 12},
		},
		{
			name:   "inline think tags",
			events: []string{role, `data: {"choices":[{"index":0,"delta":{"content":"<think>plan"}}]}`, `data: {"choices":[{"index":0,"delta":{"content":"</think>\n\nThe answer is 4."}}]}`, finish, done},
			output: "The answer is 4.", reasoning: "plan", finish: "stop",
		},
		{
			name: "reasoning under both names is not doubled",
			events: []string{role, `data: {"choices":[{"index":0,"delta":{"reasoning_content":"hmm","reasoning":"hmm"}}]}`,
				`data: {"choices":[{"index":0,"delta":{"reasoning":" ok"}}]}`, word1, finish, done},
			output: "The answer", reasoning: "hmm ok", finish: "stop",
		},
		{name: "cut before finish_reason", events: []string{role, word1}, err: true},
		{name: "empty stream", events: nil, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
				fl := w.(http.Flusher)
				for _, e := range tc.events {
					fmt.Fprintf(w, "%s\n\n", e)
					fl.Flush()
					time.Sleep(2 * time.Millisecond) // so that TTFT < latency
				}
			})
			c, _ := newClient(t)
			ep := srv.endpoint()
			ep.Stream = true
			r, err := c.Chat(t.Context(), ep, request(), RetryPolicy{MaxAttempts: 1}, "")
			if tc.err {
				var api *APIError
				if !errors.As(err, &api) || api.Status != http.StatusBadGateway || !api.Retryable() {
					t.Fatalf("error = %v, want a retryable 502 APIError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Output != tc.output || r.Reasoning != tc.reasoning || r.FinishReason != tc.finish || r.Usage != tc.usage {
				t.Errorf("response = %+v\nwant output %q, reasoning %q, finish %q, usage %+v", r, tc.output, tc.reasoning, tc.finish, tc.usage)
			}
			if r.Model != "served" {
				t.Errorf("model = %q", r.Model)
			}
			if r.TTFT <= 0 || r.TTFT >= r.Latency {
				t.Errorf("TTFT %v, latency %v: want 0 < TTFT < latency", r.TTFT, r.Latency)
			}
		})
	}
}

func TestChatStreamRetried(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 1: // cut
			sse(w, `data: {"choices":[{"index":0,"delta":{"content":"The"}}]}`)
		case 2: // error event mid-stream, as vLLM sends it
			sse(w, `data: {"choices":[{"index":0,"delta":{"content":"The"}}]}`, `data: {"error":{"message":"engine died","code":500}}`)
		default:
			sse(w, `data: {"choices":[{"index":0,"delta":{"content":"done"},"finish_reason":"stop"}]}`, "data: [DONE]")
		}
	})
	c, sl := newClient(t)
	ep := srv.endpoint()
	ep.Stream = true
	r, err := c.Chat(t.Context(), ep, request(), fastRetry, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 3 || r.Output != "done" || len(sl.get()) != 2 {
		t.Errorf("response %+v, sleeps %v", r, sl.get())
	}
}

// TestChatStreamAnsweredPlain covers servers that ignore "stream": true and
// answer with one JSON body.
func TestChatStreamAnsweredPlain(t *testing.T) {
	srv := newServer(t, ok("plain"))
	c, _ := newClient(t)
	ep := srv.endpoint()
	ep.Stream = true
	r, err := c.Chat(t.Context(), ep, request(), fastRetry, "")
	if err != nil || r.Output != "plain" || r.TTFT != 0 || r.Usage.TotalTokens != 8 {
		t.Errorf("response = %+v, %v", r, err)
	}
}
