package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The response parsers read what an endpoint sends: outside input. These
// targets check that no answer, however broken, panics the client, and
// that every failure is one the retry policy can classify.

func FuzzReadStream(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"x\",\"reasoning\":\"x\"}}]}\n\n",
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n",
		"data: {\"error\":{\"message\":\"boom\",\"code\":500}}\n\n",
		": ping\nevent: x\ndata:[DONE]\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"<think>a</think>b\"},\"finish_reason\":\"length\"}]}",
		"data: {not json}\n\n",
		"data: null\n\n",
		"data: {\"choices\":[null]}\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"con",
		"data: [1]\n\n",
		"data: <html>\n\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := readStream(bytes.NewReader(data), time.Now(), redactor{})
		if err != nil {
			checkClassified(t, err)
			var api *APIError
			if !errors.Is(err, ErrBadResponse) && !errors.Is(err, ErrMalformed) && !errors.As(err, &api) && !strings.HasPrefix(err.Error(), "reading stream") {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if r.TTFT < 0 || r.ITL < 0 || r.Attempts != 0 || r.Latency != 0 {
			t.Fatalf("response %+v", r)
		}
		if r.ITL > 0 && r.TTFT == 0 {
			t.Fatalf("an inter-token latency without a first token: %+v", r)
		}
		if !bytes.Contains(data, []byte("[DONE]")) && r.FinishReason == "" {
			t.Fatalf("a stream without [DONE] or finish_reason was accepted: %q", data)
		}
	})
}

// checkClassified checks that the retry policy and Cause know err: a
// malformed answer is retried, a well-formed non-completion is not, and
// every failure has a class.
func checkClassified(t *testing.T, err error) {
	t.Helper()
	_, retry := RetryPolicy{}.withDefaults().wait(1, err)
	switch {
	case errors.Is(err, ErrMalformed) && !retry:
		t.Fatalf("malformed answer %v is not retried", err)
	case errors.Is(err, ErrBadResponse) && retry:
		t.Fatalf("non-completion %v is retried", err)
	}
	if c := Cause(err); c == "" || c == causeOther {
		t.Fatalf("Cause(%v) = %q", err, c)
	}
}

func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi","reasoning_content":"r"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`,
		`{"choices":[]}`,
		`{"choices":[null]}`,
		`{"choices":[{"message":null}]}`,
		`{"error":{"message":"x"}}`,
		`null`,
		`[]`,
		`{"choices": [`,
		`{"id": "x", "choices": [{"message":`,
		`<html>502</html>`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := readResponse(bytes.NewReader(data), redactor{})
		if err != nil {
			checkClassified(t, err)
			// Text that is not JSON was garbled on the way and is asked
			// again; JSON that is not a completion was meant.
			if want := !json.Valid(data); errors.Is(err, ErrMalformed) != want || errors.Is(err, ErrBadResponse) == want {
				t.Fatalf("error %v for %q: malformed %v, want %v", err, data, errors.Is(err, ErrMalformed), want)
			}
			return
		}
		if r.TTFT != 0 || r.ITL != 0 {
			t.Fatalf("a plain answer has stream timings: %+v", r)
		}
		// The client's next step on a response.
		answer, _ := splitWithServerReasoning(r.Raw, r.Reasoning)
		if strings.Contains(answer, thinkOpen) || strings.Contains(answer, thinkClose) {
			t.Fatalf("answer %q keeps a tag", answer)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "2", "1.5", "-1", "NaN", "Inf", "1e300", "0x10", now.Format("Mon, 02 Jan 2006 15:04:05 GMT"), "Sat, 01 Mar 2025 12:01:00 GMT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 {
			t.Fatalf("parseRetryAfter(%q) = %v: negative", v, d)
		}
		// Whatever the server says, the policy bounds the wait.
		p := RetryPolicy{}.withDefaults()
		w, retry := p.wait(1, &APIError{Status: 429, RetryAfter: d})
		if !retry || w <= 0 || w > p.MaxRetryAfter {
			t.Fatalf("wait for Retry-After %q = %v, %v", v, w, retry)
		}
	})
}
