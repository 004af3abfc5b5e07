package eval

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// ErrEndpointURL marks a base_url that [CheckEndpointURL] refuses.
var ErrEndpointURL = errors.New("not a usable base_url")

// endpointURLError is a refusal of [CheckEndpointURL]. Its text follows a
// field name ("variants[0].base_url: ..."), so it does not repeat
// [ErrEndpointURL], which it matches with errors.Is.
type endpointURLError string

func (e endpointURLError) Error() string        { return string(e) }
func (e endpointURLError) Is(target error) bool { return target == ErrEndpointURL }

func refuse(format string, args ...any) error {
	return endpointURLError(fmt.Sprintf(format, args...))
}

// CheckEndpointURL reports whether raw can be a base_url: an http or https
// URL with a host and nothing the client's appended path could be hidden
// behind or leak. It refuses a query string or fragment (with
// "http://h/v1?x=", the appended /chat/completions becomes part of the
// query and the request goes to a page the URL chose), and userinfo (a
// password in a spec reaches the bus, logs and reports: name the key with
// api_key_secret or api_key_env). The error's text names
// the URL with any password hidden, and says what to write instead; it
// matches [ErrEndpointURL].
func CheckEndpointURL(raw string) error {
	if raw == "" {
		return refuse("is required: the OpenAI-compatible base URL, e.g. http://localhost:8000/v1")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return refuse("%q has spaces or control characters: write it like http://localhost:8000/v1", shownURL(raw))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return refuse("%q is not an http(s) URL with a host: write it like http://localhost:8000/v1", shownURL(raw))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return refuse("%q has port %s, outside 1..65535: write it like http://localhost:8000/v1", shownURL(raw), p)
		}
	}
	switch {
	case u.User != nil:
		return refuse("%q has credentials in it: remove them, and name the API key with api_key_secret (a server's secret) or api_key_env (on your own machine)", shownURL(raw))
	case strings.Contains(raw, "?"):
		return refuse("%q has a query string: the request path is appended to base_url, so a query would swallow it; write the URL up to its path, like http://localhost:8000/v1", raw)
	case strings.Contains(raw, "#"):
		return refuse("%q has a fragment (#…): write the URL up to its path, like http://localhost:8000/v1", raw)
	}
	return nil
}

// shownURL is raw as an error may show it: with its userinfo replaced by
// xxxxx (a token is often passed as the user name), or, when it has no
// host to tell userinfo from the rest, with nothing before its last @.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err == nil && u.User != nil:
		u.User = url.User("xxxxx")
		return u.String()
	case err == nil && u.Opaque == "" && u.Host != "":
		return raw
	}
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		return "…" + raw[i:]
	}
	return raw
}
