package llm

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// APIError is a non-2xx answer from an endpoint.
type APIError struct {
	Status int
	// Message is the server's reason, sanitised (one line, at most about
	// 160 bytes): the message of a JSON error body only. An endpoint's
	// body is untrusted and may be a page it should never have shown, so
	// no other body content is ever kept.
	Message string
	// Withheld says what of the body was left out when it gave no reason:
	// "non-JSON body, 1234 bytes".
	Withheld   string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	switch {
	case e.Message != "":
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	case e.Withheld != "":
		return fmt.Sprintf("HTTP %d (%s)", e.Status, e.Withheld)
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// Retryable reports whether the status may succeed on a later attempt.
func (e *APIError) Retryable() bool {
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

var (
	// ErrMalformed marks a 200 answer whose body is not JSON or is cut off
	// (`{"id": "x", "choices": [`, an HTML page from a proxy, a stream
	// event broken mid-way). The server or a proxy lost part of it on the
	// way, as when a connection drops, so it is retried like one.
	ErrMalformed = errors.New("malformed response")
	// ErrBadResponse marks a well-formed answer that is not a chat
	// completion: JSON without choices, an error object with status 200.
	// The server meant it, so asking again would get the same: it is not
	// retried.
	ErrBadResponse = errors.New("not a chat completion")
	// ErrBadEmbeddings marks a well-formed answer to an embeddings call
	// that is not the embeddings asked for: a vector missing or twice,
	// vectors of different lengths, a number that is not finite. It is an
	// [ErrBadResponse] too, so it is not retried.
	ErrBadEmbeddings error = badEmbeddings{}
)

// badEmbeddings is [ErrBadEmbeddings].
type badEmbeddings struct{}

func (badEmbeddings) Error() string        { return "not an embeddings response" }
func (badEmbeddings) Is(target error) bool { return target == ErrBadResponse }

// streamCut is the message of the APIError for a stream that ended before
// [DONE] and without a finish reason.
const streamCut = "stream ended before [DONE]"

// inStream prefixes the message of the APIError for an error event in a
// stream.
const inStream = "in stream: "

// CallError is the final failure of a call after its attempts.
type CallError struct {
	Endpoint string
	Attempts int
	Err      error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("calling %s: %v (after %d attempts)", e.Endpoint, e.Err, e.Attempts)
}
func (e *CallError) Unwrap() error { return e.Err }
