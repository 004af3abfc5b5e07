package llm

import (
	"bytes"
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
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := readStream(bytes.NewReader(data), time.Now())
		if err != nil {
			var api *APIError
			if !errors.Is(err, ErrBadResponse) && !errors.As(err, &api) && !strings.HasPrefix(err.Error(), "reading stream") {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if r.TTFT < 0 || r.Attempts != 0 || r.Latency != 0 {
			t.Fatalf("response %+v", r)
		}
		if !bytes.Contains(data, []byte("[DONE]")) && r.FinishReason == "" {
			t.Fatalf("a stream without [DONE] or finish_reason was accepted: %q", data)
		}
	})
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
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := readResponse(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v is not ErrBadResponse", err)
			}
			return
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
