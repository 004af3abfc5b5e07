package llm

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestChatMalformedBodies checks the line between a 200 that lost part of
// its body on the way (retried like a dropped connection, the attempts
// counted) and a well-formed answer that is not a completion (permanent).
func TestChatMalformedBodies(t *testing.T) {
	const (
		good    = `data: {"choices":[{"index":0,"delta":{"content":"4"},"finish_reason":"stop"}]}`
		partial = `data: {"choices":[{"index":0,"delta":{"content":"The"}}]}`
	)
	body := func(ctype, s string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", ctype)
			io.WriteString(w, s)
		}
	}
	events := func(es ...string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) { sse(w, es...) }
	}
	for _, tc := range []struct {
		name   string
		stream bool
		// bad answers the first `times` calls; later calls get a good
		// answer.
		bad   func(w http.ResponseWriter)
		times int
		// want is the attempts of the success, or of the final error
		// (wantErr, which errors.Is).
		want    int
		wantErr error
	}{
		{name: "truncated JSON", bad: body("application/json", `{"id": "x", "choices": [`), times: 1, want: 2},
		{name: "truncated JSON twice", bad: body("application/json", `{"id": "x", "choices": [{"message":`), times: 2, want: 3},
		{name: "truncated JSON every time", bad: body("application/json", `{"id": "x", "choices": [`), times: 99, want: 3, wantErr: ErrMalformed},
		{name: "not JSON", bad: body("application/json", `internal proxy hiccup`), times: 1, want: 2},
		{name: "an HTML page", bad: body("text/html", `<html><body>502 Bad Gateway</body></html>`), times: 1, want: 2},
		{name: "empty body", bad: body("application/json", ``), times: 1, want: 2},
		{name: "no choices", bad: body("application/json", `{"id":"x","choices":[]}`), times: 99, want: 1, wantErr: ErrBadResponse},
		{name: "an error object", bad: body("application/json", `{"error":{"message":"quota exceeded"}}`), times: 99, want: 1, wantErr: ErrBadResponse},
		{name: "JSON of another shape", bad: body("application/json", `[1, 2]`), times: 99, want: 1, wantErr: ErrBadResponse},
		{name: "stream: event not JSON", stream: true, bad: events(partial, `data: {not json}`, "data: [DONE]"), times: 1, want: 2},
		{name: "stream: event cut off", stream: true, bad: events(partial, `data: {"choices":[{"index":0,"delta":{"con`), times: 2, want: 3},
		{name: "stream: event not JSON every time", stream: true, bad: events(`data: <html>`), times: 99, want: 3, wantErr: ErrMalformed},
		{name: "stream: event of another shape", stream: true, bad: events(partial, `data: [1]`, "data: [DONE]"), times: 99, want: 1, wantErr: ErrBadResponse},
		// A server that ignores "stream": true answers one body, read as
		// such.
		{name: "stream: answered plain, truncated", stream: true, bad: body("application/json", `{"choices": [`), times: 1, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				switch {
				case n <= tc.times:
					tc.bad(w)
				case tc.stream:
					sse(w, good, "data: [DONE]")
				default:
					completion(w, "4", "")
				}
			})
			c, sl := newClient(t)
			ep := srv.endpoint()
			ep.Stream = tc.stream
			r, err := c.Chat(t.Context(), ep, request(), fastRetry, "")
			if got := int(srv.calls.Load()); got != tc.want {
				t.Errorf("server saw %d calls, want %d", got, tc.want)
			}
			if got := len(sl.get()); got != tc.want-1 {
				t.Errorf("slept %d times between %d attempts", got, tc.want)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if r.Attempts != tc.want || r.Output != "4" {
					t.Errorf("response %+v, want output 4 after %d attempts", r, tc.want)
				}
				return
			}
			var ce *CallError
			if !errors.As(err, &ce) || ce.Attempts != tc.want || !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v in a CallError after %d attempts", err, tc.wantErr, tc.want)
			}
			if errors.Is(err, ErrMalformed) == errors.Is(err, ErrBadResponse) {
				t.Errorf("error %v is both or neither of ErrMalformed and ErrBadResponse", err)
			}
			if want := fmt.Sprintf("after %d attempts", tc.want); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}
