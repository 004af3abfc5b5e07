package llm

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"

	"github.com/assay-eval/assay/pkg/eval"
)

// causeOther is the class of an error no rule knows.
const causeOther = "other error"

// Cause is a short, stable, human-readable class of a call's final error,
// by which failures are counted: "ft: 138 × connection refused". Errors
// with the same cause had the same reason, whatever the sample: request
// ids, addresses and per-request numbers are left out, while a 4xx keeps
// the first words of the server's message ("HTTP 404: The model `sft` does
// not exist."), which names what to fix. Cause of nil is "".
func Cause(err error) string {
	if err == nil {
		return ""
	}
	var (
		p    Problem
		pp   *Problem
		api  *APIError
		dns  *net.DNSError
		uerr *url.Error
		pol  *policyError
	)
	switch {
	case errors.As(err, &pol):
		return pol.summary
	case errors.As(err, &pp) && pp != nil:
		return pp.Cause()
	case errors.As(err, &p):
		return p.Cause()
	case errors.As(err, &api):
		return apiCause(api)
	case errors.Is(err, eval.ErrEndpointURL):
		return "bad base_url"
	case errors.Is(err, ErrRedirect):
		return "redirected elsewhere"
	case errors.Is(err, ErrMalformed):
		return "malformed response"
	case errors.Is(err, ErrBadEmbeddings):
		return "not an embeddings response"
	case errors.Is(err, ErrBadResponse):
		return "not a chat completion"
	case errors.Is(err, context.Canceled):
		return "context canceled"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "no such host"
		}
		return "DNS error"
	case isTLS(err):
		return "TLS error"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "network unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The server closed the connection before a whole answer.
		return "connection closed"
	case errors.Is(err, bufio.ErrTooLong):
		return "stream event too long"
	case errors.As(err, &uerr) && (uerr.Op == "parse" || strings.Contains(uerr.Err.Error(), "unsupported protocol scheme")):
		return "bad base_url"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "network error"
	}
	return causeOther
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTLS(err error) bool {
	var (
		verify  *tls.CertificateVerificationError
		header  tls.RecordHeaderError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) ||
		// net/http replaces the record header error of a plain HTTP
		// server's answer with its own text.
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

func apiCause(e *APIError) string {
	switch {
	case e.Message == streamCut:
		return streamCut
	case strings.HasPrefix(e.Message, inStream):
		return "error in stream"
	case e.Status == http.StatusUnauthorized:
		return "HTTP 401: credentials rejected"
	case e.Status == http.StatusForbidden:
		return "HTTP 403: forbidden"
	case e.Status == http.StatusTooManyRequests:
		return "HTTP 429: rate limited"
	case e.Status >= 400 && e.Status < 500:
		// A client error names what to fix: keep the first words of the
		// server's message.
		msg := causeMessage(e.Message)
		if msg == "" {
			msg = strings.ToLower(http.StatusText(e.Status))
		}
		if msg == "" {
			return fmt.Sprintf("HTTP %d", e.Status)
		}
		return fmt.Sprintf("HTTP %d: %s", e.Status, msg)
	}
	// A server error's message is a trace or an id more often than a
	// reason: the status alone classes it.
	return fmt.Sprintf("HTTP %d", e.Status)
}

// requestIDRE finds what makes one request's message differ from
// another's: UUIDs, long hex strings, OpenAI-style request ids.
var requestIDRE = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{16,}\b|\b(?:req|chatcmpl|cmpl)[-_][0-9a-z]{6,}\b`)

// causeMax bounds the server's words in a cause, in bytes.
const causeMax = 80

// causeMessage is the first sentence of a server's message on one line,
// without request ids, clipped to about causeMax bytes on a word boundary.
func causeMessage(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if i := strings.Index(msg, ". "); i >= 0 {
		msg = msg[:i+1]
	}
	msg = requestIDRE.ReplaceAllString(msg, "…")
	if len(msg) <= causeMax {
		return msg
	}
	cut := strings.LastIndexByte(msg[:causeMax], ' ')
	if cut < causeMax/2 {
		return clipBytes(msg, causeMax)
	}
	return msg[:cut] + " …"
}
