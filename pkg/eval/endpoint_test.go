package eval

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckEndpointURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want string // contained in the error; "" for none
	}{
		{"http://localhost:8000/v1", ""},
		{"https://api.example.com/v1", ""},
		{"http://[::1]:8000/v1/", ""},
		{"http://vllm-ft:8000", ""},
		{"", "is required"},
		{"http://internal/admin?x=", `"http://internal/admin?x=" has a query string`},
		{"http://internal/admin?", "has a query string"},
		{"http://h/v1?api-version=1", "has a query string"},
		{"http://internal/admin#", "has a fragment"},
		{"http://h/v1#x", "has a fragment"},
		{"http://user:hunter2@h/v1", `"http://xxxxx@h/v1" has credentials in it`},
		{"http://sk-token@h/v1", `"http://xxxxx@h/v1" has credentials`},
		{"ftp://h/v1", "is not an http(s) URL"},
		{"file:///etc/passwd", "is not an http(s) URL"},
		{"gopher://h:70/_x", "is not an http(s) URL"},
		{"localhost:8000/v1", "is not an http(s) URL"},
		{"http:/v1", "is not an http(s) URL"},
		{"http:h/v1", "is not an http(s) URL"},
		{"http://h:port/v1", "is not an http(s) URL"},
		{"http://h:99999999999999999999/v1", "outside 1..65535"},
		{"http://h:0/v1", "has port 0"},
		{" http://h/v1", "has spaces or control characters"},
		{"http://h/v 1", "has spaces or control characters"},
		{"http://h/v1\r\nX-Injected: 1", "has spaces or control characters"},
		{"http://user:hunter2@h/\x00", `"…@h/\x00" has spaces`},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			err := CheckEndpointURL(tc.raw)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckEndpointURL(%q) = %v, want nil", tc.raw, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrEndpointURL) {
				t.Fatalf("CheckEndpointURL(%q) = %v, want an ErrEndpointURL containing %q", tc.raw, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "sk-token") {
				t.Errorf("error %q shows the credentials", err)
			}
		})
	}
}

// FuzzCheckEndpointURL checks on any string that an accepted URL cannot hide
// the appended path or carry credentials, and that a refusal never shows a
// password.
func FuzzCheckEndpointURL(f *testing.F) {
	for _, s := range []string{"http://localhost:8000/v1", "http://h/?x=", "http://u:p@h/", "https://h#f", "ftp://h", "", "http://[::1]:1/", "http://u:p@h/\x00", "http://0/@", "A:000000@", "http://0/ 0", ":000000@000000", "Http://0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckEndpointURL(raw)
		if err == nil {
			_, rest, ok := strings.Cut(raw, "://")
			authority, _, _ := strings.Cut(rest, "/")
			if !ok || strings.ContainsAny(raw, "?# \t\r\n") || strings.Contains(authority, "@") || !(strings.HasPrefix(strings.ToLower(raw), "http://") || strings.HasPrefix(strings.ToLower(raw), "https://")) {
				t.Fatalf("accepted %q", raw)
			}
			return
		}
		if !errors.Is(err, ErrEndpointURL) {
			t.Fatalf("error %v is not an ErrEndpointURL", err)
		}
		if i := strings.LastIndexByte(raw, '@'); i > 0 && strings.Contains(raw[:i], ":") {
			pass := raw[strings.LastIndexByte(raw[:i], ':')+1 : i]
			if len(pass) >= 6 && !strings.ContainsAny(pass, "/?#") && !strings.Contains(raw[i:], pass) && strings.Contains(err.Error(), pass) {
				t.Fatalf("error %q shows the password %q", err, pass)
			}
		}
	})
}
