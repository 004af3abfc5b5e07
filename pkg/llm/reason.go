package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// reasonMax bounds, in bytes, the server's words that an error keeps.
// Errors reach reports, logs and the bus: an endpoint's body is untrusted,
// and may be a page the endpoint should never have shown (a base_url aimed
// at an internal service), so only a short reason of a JSON error is kept.
const reasonMax = 160

// errorReason returns the reason a non-2xx body gives, sanitised, and what
// was withheld when it gives none: a JSON error's message (OpenAI's
// error.message, an error string, vLLM's message, FastAPI's detail), or
// for any other body (HTML, plain text) nothing of its content, only its
// size.
func errorReason(b []byte) (reason, withheld string) {
	if len(bytes.TrimSpace(b)) == 0 {
		return "", ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return "", fmt.Sprintf("non-JSON body, %d bytes", len(b))
	}
	var msg string
	if raw, ok := fields["error"]; ok {
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &obj) != nil || obj.Message == "" {
			// Ollama and TGI: {"error": "model not found"}.
			_ = json.Unmarshal(raw, &msg)
		} else {
			msg = obj.Message
		}
	}
	for _, k := range []string{"message", "detail"} {
		if msg != "" {
			break
		}
		if raw, ok := fields[k]; ok {
			_ = json.Unmarshal(raw, &msg)
		}
	}
	if reason = sanitizeReason(msg); reason == "" {
		return "", fmt.Sprintf("JSON body without an error message, %d bytes", len(b))
	}
	return reason, ""
}

// sanitizeReason puts a server's message on one line of at most reasonMax
// bytes: control and formatting characters (newlines, escapes, bidi
// overrides) are dropped, runs of spaces become one, invalid UTF-8 becomes
// U+FFFD, and a longer message is cut on a rune boundary, marked with "…".
func sanitizeReason(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), !unicode.IsPrint(r) && r != utf8.RuneError:
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if b.Len() > reasonMax {
			break
		}
	}
	return clipBytes(b.String(), reasonMax)
}

// bodyShape says what a body that is not JSON looks like, without quoting
// it.
func bodyShape(b []byte) string {
	t := bytes.TrimSpace(b)
	switch {
	case len(t) == 0:
		return "empty"
	case t[0] == '<':
		return "HTML or XML"
	case t[0] == '{' || t[0] == '[':
		return "JSON cut off or broken"
	}
	return "text"
}

// redactURL replaces the userinfo of a URL by xxxxx (a token is often
// passed as the user name), so that errors and logs never show it; a URL
// that does not parse is not shown at all.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a base_url that does not parse)"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	return u.String()
}

// ErrRedirect marks a redirect the client refused to follow.
var ErrRedirect = errors.New("redirected elsewhere")

// sameHostRedirect follows a redirect only to the host (and port) that
// was called, and never from https to http: a base_url the spec allowed
// must not lead the call, and what it reads back, to another server.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) >= 10:
		return fmt.Errorf("%w: stopped after 10 redirects", ErrRedirect)
	case req.URL.Host != first.Host:
		return fmt.Errorf("%w: to another host (%s): set base_url to where the API is served", ErrRedirect, req.URL.Host)
	case first.Scheme == "https" && req.URL.Scheme != "https":
		return fmt.Errorf("%w: from https to http", ErrRedirect)
	}
	return nil
}
