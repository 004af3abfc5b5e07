package eval

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEndpointsFile(t *testing.T) {
	good := `allow: [api.openai.com, "*.svc.cluster.local:8000", 10.0.0.0/8, loopback]
secrets:
  openai: {file: /run/secrets/openai, hosts: [api.openai.com]}
  vllm:
    env: VLLM_KEY
    hosts: "*.svc.cluster.local"
`
	f, err := ParseEndpointsFile("endpoints.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Allow) != 4 || f.Secrets["openai"].File != "/run/secrets/openai" || f.Secrets["vllm"].Env != "VLLM_KEY" || f.Secrets["vllm"].Hosts[0] != "*.svc.cluster.local" {
		t.Fatalf("parsed %+v", f)
	}
	if f, err := ParseEndpointsFile("e.yaml", nil); err != nil || len(f.Allow) != 0 {
		t.Fatalf("empty file: %+v, %v", f, err)
	}
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"unknown key", "allow: [loopback]\nalow: [x]\n", []string{"e.yaml:2: alow: unknown key"}},
		{"bad pattern", "allow:\n  - loopback\n  - 'ho st'\n", []string{"e.yaml:3: allow[1]:", "not a host name"}},
		{"secret unknown key", "secrets:\n  k: {file: /x, hosts: [a.b], value: s3cret}\n", []string{"e.yaml:2: secrets.k.value: unknown key"}},
		{"secret both", "secrets:\n  k: {file: /x, env: X, hosts: [a.b]}\n", []string{"secrets.k: has both file and env"}},
		{"secret none", "secrets:\n  k: {hosts: [a.b]}\n", []string{"secrets.k: has no value"}},
		{"secret no hosts", "secrets:\n  k: {env: X}\n", []string{"secrets.k.hosts: is required"}},
		{"secret bad name", "secrets:\n  \"-k\": {env: X, hosts: [a.b]}\n", []string{"is not a secret name"}},
		{"secret bad host", "secrets:\n  k: {env: X, hosts: '*'}\n", []string{"e.yaml:2: secrets.k.hosts[0]:", "allows everything"}},
		{"not a mapping", "- a\n", []string{"is not a mapping"}},
		{"not yaml", "allow: [\n", []string{"is not YAML"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEndpointsFile("e.yaml", []byte(tc.in))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			var se *SpecError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a SpecError", err)
			}
		})
	}
}

func TestCheckKeySource(t *testing.T) {
	for _, tc := range []struct {
		env, secret string
		bad         string
	}{
		{"", "", ""},
		{"OPENAI_API_KEY", "", ""},
		{"", "openai.prod-1", ""},
		{"X", "openai", "use one"},
		{"", "-openai", "not a secret name"},
		{"", "open/ai", "not a secret name"},
		{"", strings.Repeat("a", 65), "not a secret name"},
	} {
		field, err := CheckKeySource(tc.env, tc.secret)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%q/%q refused: %v", tc.env, tc.secret, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad) || field != "api_key_secret"):
			t.Errorf("%q/%q: %s %v, want api_key_secret saying %q", tc.env, tc.secret, field, err, tc.bad)
		}
	}
}

func FuzzParseEndpointsFile(f *testing.F) {
	for _, s := range []string{
		"allow: [api.openai.com, \"*.svc.cluster.local:8000\", 10.0.0.0/8, loopback]\nsecrets:\n  openai: {file: /run/secrets/openai, hosts: [api.openai.com]}\n",
		"secrets:\n  k: {env: X, hosts: a.b}\n", "allow: loopback\n", "allow: loopback, 10.0.0.0/8,,\n", "allow: [\"a.b,c.d\", x]\n", "allow: [[x]]\n", "secrets: [a]\n", "", "~", "a: &x [1]\nb: *x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ef, err := ParseEndpointsFile("f.yaml", data)
		if err != nil {
			return
		}
		// What parses is usable as it stands.
		if _, err := ParseHostPolicy(ef.Allow); err != nil {
			t.Fatalf("accepted an allow list the policy refuses: %v", err)
		}
		for name, s := range ef.Secrets {
			if !ValidSecretName(name) || (s.File == "") == (s.Env == "") || len(s.Hosts) == 0 {
				t.Fatalf("accepted secret %q: %+v", name, s)
			}
		}
	})
}
