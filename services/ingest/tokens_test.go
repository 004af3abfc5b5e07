package ingest

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseIntakeTokens(t *testing.T) {
	const tok = "0123456789abcdef0123"
	for _, tc := range []struct {
		name, text, want string // want: part of the error, "" for none
		allows, refuses  [][2]string
	}{
		{name: "lines and comments", text: "# tokens\nchat=" + tok + "\n\n  web = " + tok + "x  \n",
			allows: [][2]string{{"chat", tok}, {"web", tok + "x"}}, refuses: [][2]string{{"chat", tok + "x"}, {"web", tok}, {"other", tok}, {"chat", ""}}},
		{name: "commas", text: "chat=" + tok + ",chat=" + tok + "y",
			allows: [][2]string{{"chat", tok}, {"chat", tok + "y"}}},
		{name: "any source", text: "*=" + tok, allows: [][2]string{{"chat", tok}, {"web", tok}}, refuses: [][2]string{{"chat", "x"}}},
		{name: "empty", text: "", refuses: [][2]string{{"chat", ""}, {"chat", tok}}},
		{name: "no equals", text: "chat " + tok, want: "test:1: an entry is source=token"},
		{name: "short token", text: "chat=short", want: `test:1: the token of "chat" must be 16 or more`},
		{name: "token with a space", text: "\nchat=0123456789 abcdef012", want: "test:2: the token"},
		{name: "bad source", text: "a.b=" + tok, want: "test:1: source \"a.b\" is not a valid name"},
		{name: "PII source", text: "13812345678=" + tok, want: "test:1: the source name holds a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokens, err := ParseIntakeTokens("test", tc.text)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), "0123456789 abcdef012") {
					t.Errorf("the error quotes the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tc.allows {
				if !tokens.Allows(a[0], a[1]) {
					t.Errorf("%s with %q refused", a[0], a[1])
				}
			}
			for _, r := range tc.refuses {
				if tokens.Allows(r[0], r[1]) {
					t.Errorf("%s with %q allowed", r[0], r[1])
				}
			}
		})
	}
}

func TestIntakeFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens")
	if err := os.WriteFile(file, []byte("chat="+testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want string // part of the error
	}{
		{"file and env", []string{"-intake-tokens", file, "-intake-rate", "5", "-intake-burst", "7"}, "other=" + otherToken, ""},
		{"insecure", []string{"-intake-insecure"}, "", ""},
		{"insecure with tokens", []string{"-intake-insecure", "-intake-tokens", file}, "", "--intake-insecure takes queries without a token"},
		{"cert without key", []string{"-intake-tls-cert", file}, "", "go together"},
		{"missing file", []string{"-intake-tokens", filepath.Join(dir, "none")}, "", "reading intake tokens"},
		{"bad env", nil, "chat=short", IntakeTokensEnv + ":1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f IntakeFlags
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			f.Register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := f.Config(tc.env)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.env != "" && (!cfg.Tokens.Allows("chat", testToken) || !cfg.Tokens.Allows("other", otherToken) || cfg.Rate != 5 || cfg.Burst != 7) {
				t.Errorf("config %+v", cfg)
			}
		})
	}
}

// FuzzParseIntakeTokens checks that any tokens text parses or is refused
// without panicking and without quoting a token it refused, and that
// every token it accepts is allowed for its source.
func FuzzParseIntakeTokens(f *testing.F) {
	for _, s := range []string{"chat=0123456789abcdef0123", "# c\n*=0123456789abcdef0123,web = 0123456789abcdef0123x", "a=b", "=", ",,\n", "chat=\x00\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tokens, err := ParseIntakeTokens("f", text)
		if err != nil {
			return
		}
		for _, line := range strings.Split(text, "\n") {
			for entry := range strings.SplitSeq(line, ",") {
				entry = strings.TrimSpace(entry)
				if entry == "" || strings.HasPrefix(entry, "#") {
					continue
				}
				src, tok, _ := strings.Cut(entry, "=")
				src, tok = strings.TrimSpace(src), strings.TrimSpace(tok)
				if src == AnySource {
					src = "any-source"
				}
				if !tokens.Allows(src, tok) {
					t.Fatalf("%q: token of %q not allowed", text, src)
				}
			}
		}
	})
}
