package llm

import (
	"bytes"
	"errors"
	"slices"
	"strings"
)

// SecretShown is what replaces a key wherever an endpoint sent it back.
const SecretShown = "[SECRET]"

// minRedacted is the shortest key value replaced: a shorter one would
// replace ordinary words and numbers all over the text (a GSM8K answer of
// 123456), and is no key a provider issues.
const minRedacted = 8

// placeholderKeys are the keys local servers are commonly given because
// they check none. They are words an answer may hold, and no secret:
// replacing them would change answers and scores.
var placeholderKeys = []string{"ollama", "lm-studio", "lmstudio", "empty", "none", "sk-no-key-required", "no-key-required", "not-needed", "dummy", "token", "changeme"}

// weakKey reports whether v is too short or too common to be replaced in
// answers (see [minRedacted], placeholderKeys).
func weakKey(v string) bool {
	return len(v) < minRedacted || slices.Contains(placeholderKeys, strings.ToLower(strings.TrimSpace(v)))
}

// redactor replaces key values in what an endpoint answered. An endpoint
// may echo the request's Authorization header (an echo or debug service,
// an auth error page, a proxy), and its answer is stored on the bus,
// logged and reported: none of that may hold a key.
type redactor struct{ values []string }

// redactor is the redactor of a call sending key: the key itself (a
// secret's or an api_key_env's value) and the current value of every
// secret the policy holds, since a service may echo a header another
// client sent it.
func (c *Client) redactor(key string) redactor {
	var r redactor
	r.add(key)
	if e := c.endpoints; e != nil && !e.namesOnly {
		for _, s := range e.secrets {
			if v, err := s.read(); err == nil {
				r.add(v)
			}
		}
	}
	return r
}

// add keeps v unless it is weak (see weakKey), longest values first: a
// key that holds another (the call's key and a policy secret) is replaced
// whole, where replacing the shorter first would leave the rest of the
// longer one in clear.
func (r *redactor) add(v string) {
	if weakKey(v) || slices.Contains(r.values, v) {
		return
	}
	i, _ := slices.BinarySearchFunc(r.values, len(v), func(have string, n int) int { return n - len(have) })
	r.values = slices.Insert(r.values, i, v)
}

// WeakSecrets names the policy's secrets whose value is too short or too
// common (a placeholder such as "ollama") to be replaced where an endpoint
// sends it back: a server logs them at start, so that its operator knows
// such a key may show in answers. Values are never returned.
func (e *Endpoints) WeakSecrets() []string {
	if e.Local() || e.namesOnly {
		return nil
	}
	var names []string
	for name, s := range e.secrets {
		if v, err := s.read(); err == nil && weakKey(v) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Redact returns s with the value of every secret of the policy replaced
// by [SecretShown]: for text that came from an endpoint by another way
// than a [Client] call.
func (e *Endpoints) Redact(s string) string {
	c := Client{endpoints: e}
	return c.redactor("").text(s)
}

func (r redactor) text(s string) string {
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, SecretShown)
	}
	return s
}

func (r redactor) bytes(b []byte) []byte {
	for _, v := range r.values {
		if bytes.Contains(b, []byte(v)) {
			b = bytes.ReplaceAll(b, []byte(v), []byte(SecretShown))
		}
	}
	return b
}

// response redacts every text of an answer that is stored or shown, once
// decoded: replacing in the JSON body could break it (a key of digits
// inside a number). The output is redacted too: an endpoint that echoes
// headers in its content would otherwise put the key in generations,
// judgments and reports, and no model can know a strong key (weak ones
// are not replaced: see weakKey), so no honest answer loses a word.
func (r redactor) response(resp Response) Response {
	if len(r.values) == 0 {
		return resp
	}
	resp.Model = r.text(resp.Model)
	resp.Output = r.text(resp.Output)
	resp.Reasoning = r.text(resp.Reasoning)
	resp.Raw = r.text(resp.Raw)
	return resp
}

// err redacts an error built from an answer: an [APIError]'s message in
// place, and any other text by wrapping.
func (r redactor) err(err error) error {
	if err == nil || len(r.values) == 0 {
		return err
	}
	var api *APIError
	if errors.As(err, &api) {
		api.Message = r.text(api.Message)
	}
	if s := err.Error(); r.text(s) != s {
		return &redactedError{text: r.text(s), err: err}
	}
	return err
}

// redactedError shows a redacted text and keeps the error it redacts for
// errors.Is and errors.As (which classify it: [Cause]).
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
