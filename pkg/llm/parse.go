package llm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxBody bounds what is read of an answer: model output is untrusted.
const maxBody = 32 << 20

// readAPIError reads a non-2xx answer. Only a JSON error's message is kept,
// sanitised (errorReason): the body of an error is untrusted. Keys are
// replaced (red) before the message is cut, so that no part of one is
// kept.
func readAPIError(resp *http.Response, red redactor) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &APIError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	e.Message, e.Withheld = errorReason(red.bytes(b))
	e.Message = red.text(e.Message)
	return e
}

// clipBytes cuts s to at most n bytes on a rune boundary, marking the cut:
// the text ends up in logs and JSON.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// retryAfterForever stands for a Retry-After too long for a Duration;
// RetryPolicy.MaxRetryAfter caps it like any other.
const retryAfterForever = time.Duration(math.MaxInt64)

// parseRetryAfter reads delay-seconds or an HTTP date; 0 means none given.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		switch {
		case math.IsNaN(s) || s <= 0:
			return 0
		case s >= float64(retryAfterForever/time.Second):
			// Converting would overflow into a negative Duration, and
			// the server's wish would be ignored.
			return retryAfterForever
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// decodeError classifies a failure to decode what a 200 carried: text that
// is not JSON, or JSON cut off, is [ErrMalformed] (lost on the way, so
// worth asking again); JSON of another shape is bad ([ErrBadResponse], or
// [ErrBadEmbeddings] for an embeddings call).
func decodeError(what string, data []byte, err, bad error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
		// None of the body is quoted: it is untrusted, and may be a page
		// the endpoint should never have shown.
		return fmt.Errorf("%w: %s is not JSON or is cut off (%d bytes, %s): %v", ErrMalformed, what, len(data), bodyShape(data), err)
	}
	return fmt.Errorf("%w: %s: %v", bad, what, err)
}

// readResponse reads a completion that was not streamed. The body is
// decoded as sent: keys are replaced (red) in the texts taken from it,
// here for an error's message and by the caller ([redactor.response]) for
// the answer, since replacing in the JSON could break it.
func readResponse(body io.Reader, red redactor) (Response, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxBody))
	if err != nil {
		return Response{}, fmt.Errorf("reading response: %w", err)
	}
	var cr struct {
		ChatResponse
		Error *WireError `json:"error"`
	}
	if err := json.Unmarshal(b, &cr); err != nil {
		return Response{}, decodeError("the body", b, err, ErrBadResponse)
	}
	if len(cr.Choices) == 0 {
		if cr.Error != nil {
			return Response{}, fmt.Errorf("%w: an error object with status 200: %s", ErrBadResponse, sanitizeReason(red.text(cr.Error.Message)))
		}
		return Response{}, fmt.Errorf("%w: no choices", ErrBadResponse)
	}
	ch := cr.Choices[0]
	r := Response{Model: cr.Model, Raw: ch.Message.Content, FinishReason: ch.FinishReason,
		Reasoning: firstNonEmpty(ch.Message.ReasoningContent, ch.Message.Reasoning)}
	if cr.Usage != nil {
		r.Usage = *cr.Usage
	}
	return r, nil
}

// readStream reads a streamed completion begun at start. It times the
// chunks that carry text (answer or reasoning): the first gives the time to
// first token, the mean gap between them after it the inter-token latency.
// Events are decoded as sent; keys are replaced (red) in an error event's
// message, and the caller redacts the joined text, in which a key may have
// come in pieces.
func readStream(body io.Reader, start time.Time, red redactor) (Response, error) {
	sc := bufio.NewScanner(io.LimitReader(body, maxBody))
	// Events are small; the scanner grows the buffer for a large one.
	sc.Buffer(make([]byte, 0, 4<<10), 8<<20)
	var content, reasoning strings.Builder
	var r Response
	var first, last time.Time
	chunks := 0
	done := false
	for sc.Scan() {
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue // comments, event names, blank separators
		}
		data = bytes.TrimSpace(data)
		if bytes.Equal(data, []byte("[DONE]")) {
			done = true
			break
		}
		var ch ChatChunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return Response{}, decodeError("a stream event", data, err, ErrBadResponse)
		}
		if ch.Error != nil {
			return Response{}, &APIError{Status: http.StatusInternalServerError, Message: inStream + sanitizeReason(red.text(ch.Error.Message))}
		}
		if ch.Model != "" {
			r.Model = ch.Model
		}
		if ch.Usage != nil {
			r.Usage = *ch.Usage
		}
		text := false
		for _, c := range ch.Choices {
			if c.Index != 0 {
				continue
			}
			d := c.Delta
			text = text || d.Content != "" || d.ReasoningContent != "" || d.Reasoning != ""
			content.WriteString(d.Content)
			// Like readResponse, one of the two names: servers moving from
			// reasoning_content to reasoning send both with the same text.
			reasoning.WriteString(firstNonEmpty(d.ReasoningContent, d.Reasoning))
			if c.FinishReason != nil {
				r.FinishReason = *c.FinishReason
			}
		}
		if text {
			last = time.Now()
			if chunks == 0 {
				first = last
				r.TTFT = max(first.Sub(start), 1)
			}
			chunks++
		}
	}
	if err := sc.Err(); err != nil {
		return Response{}, fmt.Errorf("reading stream: %w", err)
	}
	if !done && r.FinishReason == "" {
		return Response{}, &APIError{Status: http.StatusBadGateway, Message: streamCut}
	}
	if chunks > 1 {
		r.ITL = max(last.Sub(first)/time.Duration(chunks-1), 1)
	}
	r.Raw = content.String()
	r.Reasoning = reasoning.String()
	return r, nil
}

// splitWithServerReasoning strips inline reasoning from the content and
// joins it with what the server reported separately. The blank lines a
// server leaves between the trace it took out and the answer go with the
// trace, as they do for an inline one.
func splitWithServerReasoning(raw, server string) (string, string) {
	answer, inline := SplitReasoning(raw)
	server = strings.TrimSpace(server)
	switch {
	case server == "":
		return answer, inline
	case inline == "":
		return trimBlankLinesBefore(answer), server
	}
	return trimBlankLinesBefore(answer), server + "\n" + inline
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
