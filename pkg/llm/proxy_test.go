package llm

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// TestProxyChecksTheRequestHost: behind an HTTP proxy (which the policy
// must allow, here as loopback) the dialer sees only the proxy, so the
// request's own host is checked when the request is made: a refused
// address, and a name that does not resolve here, never reach the proxy;
// an allowed address goes through it.
func TestProxyChecksTheRequestHost(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String())
		mu.Unlock()
		completion(w, "through the proxy", "")
	}))
	t.Cleanup(proxy.Close)
	proxied := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
	pu, _ := url.Parse(proxy.URL)
	e := serverPolicy(t, "", false, nil, "loopback", "*.corp.invalid")
	c, _ := newClient(t, WithEndpoints(e))
	c.proxyFor = func(*http.Request) (*url.URL, error) { return pu, nil }
	call := func(base string) (Response, error) {
		return c.Chat(t.Context(), Endpoint{BaseURL: base, Concurrency: 1}, request(), fastRetry, "")
	}

	for _, base := range []string{"http://169.254.169.254/latest", "http://[64:ff9b::a9fe:a9fe]/v1", "http://10.0.0.1:8000/v1", "http://metadata.corp.invalid/v1"} {
		_, err := call(base)
		if !errors.Is(err, ErrPolicy) {
			t.Errorf("%s: %v, want refused by the policy", base, err)
		}
		if got := proxied(); len(got) != 0 {
			t.Fatalf("%s reached the proxy: %v", base, got)
		}
	}
	if _, err := call("http://metadata.corp.invalid/v1"); err == nil || Cause(err) != "endpoint policy refuses host metadata.corp.invalid" {
		t.Errorf("unresolvable name: cause %q", Cause(err))
	}

	r, err := call("http://127.0.0.1:9/v1")
	if err != nil || r.Output != "through the proxy" {
		t.Fatalf("an allowed host through the proxy: %+v %v", r, err)
	}
	if got := proxied(); len(got) != 1 || got[0] != "POST http://127.0.0.1:9/v1/chat/completions" {
		t.Fatalf("the proxy saw %v", got)
	}
}
