package eval

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EndpointsFile is a server's endpoint configuration (--endpoints FILE):
// the endpoint hosts it may call, and the secrets a spec may name by
// api_key_secret, each with the hosts it may be sent to.
//
//	allow: [api.openai.com, "*.svc.cluster.local:8000", 10.0.0.0/8, loopback]
//	secrets:
//	  openai: {file: /run/secrets/openai, hosts: [api.openai.com]}
//	  vllm: {env: VLLM_API_KEY, hosts: ["*.svc.cluster.local"]}
type EndpointsFile struct {
	// Allow are host patterns (see [ParseHostPattern]); none allows every
	// public host.
	Allow   []string
	Secrets map[string]SecretRef
}

// SecretRef is where a secret's value is read, and where it may go.
type SecretRef struct {
	// File holds the value (a trailing newline is dropped); it is read
	// again when it changes.
	File string
	// Env is the server's environment variable holding it.
	Env string
	// Hosts are the host patterns of the endpoints it may be sent to.
	Hosts []string
}

// ParseEndpointsFile reads an endpoints file's content. Unknown keys, bad
// patterns and secrets without a source or hosts are refused, every
// problem at once, each as "file:line: field: what" ([SpecErrors]).
func ParseEndpointsFile(file string, data []byte) (*EndpointsFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, SpecErrors{{File: file, Msg: "is not YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	out := &EndpointsFile{Secrets: map[string]SecretRef{}}
	var errs SpecErrors
	fail := func(n *yaml.Node, field, msg string, args ...any) {
		errs = append(errs, &SpecError{File: file, Line: n.Line, Field: field, Msg: fmt.Sprintf(msg, args...)})
	}
	if len(doc.Content) == 0 {
		return out, nil // an empty file: no allow list, no secrets
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		fail(root, "", "is not a mapping: write allow: [...] and secrets: {...}")
		return nil, errs
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "allow":
			out.Allow = stringList(v, "allow", fail)
		case "secrets":
			if v.Kind != yaml.MappingNode {
				fail(v, "secrets", "is not a mapping of secret names to {file or env, hosts}")
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				name, ref := v.Content[j], v.Content[j+1]
				field := "secrets." + name.Value
				if !ValidSecretName(name.Value) {
					fail(name, field, "%q is not a secret name: use a letter or digit, then up to 63 letters, digits, '_', '.' or '-'", name.Value)
				}
				if _, dup := out.Secrets[name.Value]; dup {
					fail(name, field, "is listed twice")
				}
				out.Secrets[name.Value] = secretRef(ref, field, fail)
			}
		default:
			fail(k, k.Value, "unknown key: use allow or secrets")
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// secretRef reads one secret's entry at field.
func secretRef(n *yaml.Node, field string, fail func(*yaml.Node, string, string, ...any)) SecretRef {
	var r SecretRef
	if n.Kind != yaml.MappingNode {
		fail(n, field, "is not a mapping: write it like {file: /run/secrets/openai, hosts: [api.openai.com]}")
		return r
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := field + "." + k.Value
		switch k.Value {
		case "file", "env":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				fail(v, sub, "is not a non-empty string")
				continue
			}
			if k.Value == "file" {
				r.File = v.Value
			} else {
				r.Env = v.Value
			}
		case "hosts":
			r.Hosts = stringList(v, sub, fail)
		default:
			fail(k, sub, "unknown key: use file or env, and hosts")
		}
	}
	switch {
	case r.File != "" && r.Env != "":
		fail(n, field, "has both file and env: give one")
	case r.File == "" && r.Env == "":
		fail(n, field, "has no value: give file (a mounted secret) or env (a variable of the server)")
	}
	if len(r.Hosts) == 0 {
		fail(n, field+".hosts", "is required: the endpoint hosts the secret may be sent to, e.g. [api.openai.com]")
	}
	return r
}

// stringList reads a list of strings, or a single string, at field
// ([StringList]), failing each pattern that does not parse with the field
// and line it was written at.
func stringList(n *yaml.Node, field string, fail func(*yaml.Node, string, string, ...any)) []string {
	items, bad := StringList(n)
	if bad != nil {
		fail(bad, field, "is not a list of strings")
		return nil
	}
	for _, it := range items {
		if _, err := ParseHostPattern(it.Value); err != nil {
			fail(it.Node, fmt.Sprintf("%s[%d]", field, it.Index), "%v", err)
		}
	}
	return Values(items)
}

// SplitPatterns splits a comma-separated list of host patterns (the
// --endpoint-allow flag), dropping empty entries.
func SplitPatterns(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return slices.Clip(out)
}
