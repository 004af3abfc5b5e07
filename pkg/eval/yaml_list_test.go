package eval

import (
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestStringList: a list, one comma-separated string and a mix of both
// list the same names, and the endpoints file reads allow: and hosts: by
// that one rule (allow: a,b is two patterns, as endpoint_allow: a,b is in
// assay.yaml).
func TestStringList(t *testing.T) {
	want := []string{"loopback", "10.0.0.0/8", "api.openai.com"}
	for _, src := range []string{
		"[loopback, 10.0.0.0/8, api.openai.com]",
		"loopback,10.0.0.0/8, api.openai.com",
		`[loopback, "10.0.0.0/8,api.openai.com", ""]`,
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		items, bad := StringList(n.Content[0])
		if bad != nil || !slices.Equal(Values(items), want) {
			t.Errorf("%s: %v (bad %v), want %v", src, Values(items), bad, want)
		}
		f, err := ParseEndpointsFile("e.yaml", []byte("allow: "+src+"\nsecrets:\n  k:\n    env: K\n    hosts: "+src+"\n"))
		if err != nil {
			t.Fatalf("endpoints file with %s: %v", src, err)
		}
		if !slices.Equal(f.Allow, want) || !slices.Equal(f.Secrets["k"].Hosts, want) {
			t.Errorf("endpoints file with %s: allow %v, hosts %v", src, f.Allow, f.Secrets["k"].Hosts)
		}
	}
	for _, src := range []string{"[[x]]", "{a: b}", "[a, {b: c}]"} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		if items, bad := StringList(n.Content[0]); bad == nil {
			t.Errorf("%s: read as %v", src, Values(items))
		}
	}
}
