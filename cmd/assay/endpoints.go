package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// endpointSettings are assay up's endpoint policy: the keys endpoints,
// endpoint_allow and allow_api_key_env of assay.yaml, ASSAY_ENDPOINTS and
// ASSAY_ENDPOINT_ALLOW, and the flags of the stage binaries.
type endpointSettings struct {
	Endpoints      string      `yaml:"endpoints"`
	EndpointAllow  patternList `yaml:"endpoint_allow"`
	AllowAPIKeyEnv bool        `yaml:"allow_api_key_env"`
}

func defaultEndpointSettings(getenv func(string) string) endpointSettings {
	return endpointSettings{Endpoints: getenv(stage.EndpointsEnv), EndpointAllow: eval.SplitPatterns(getenv(stage.EndpointAllowEnv))}
}

// policy is the server policy the settings describe.
func (s endpointSettings) policy() (*llm.Endpoints, error) {
	e, err := llm.LoadEndpoints(s.Endpoints, strings.Join(s.EndpointAllow, ","), s.AllowAPIKeyEnv, false)
	if err != nil {
		return nil, usage(err)
	}
	return e, nil
}

// registerEndpointFlags adds the stage binaries' --endpoints,
// --endpoint-allow and --allow-api-key-env to f, into ef.
func registerEndpointFlags(f *pflag.FlagSet, ef *stage.EndpointFlags) {
	fs := flag.NewFlagSet("endpoints", flag.ContinueOnError)
	ef.Register(fs)
	f.AddGoFlagSet(fs)
}

// applyEndpointFlags sets what the flags changed over s.
func applyEndpointFlags(f *pflag.FlagSet, ef stage.EndpointFlags, s *endpointSettings) {
	if f.Changed("endpoints") {
		s.Endpoints = ef.File
	}
	if f.Changed("endpoint-allow") {
		s.EndpointAllow = eval.SplitPatterns(ef.Allow)
	}
	if f.Changed("allow-api-key-env") {
		s.AllowAPIKeyEnv = ef.AllowAPIKeyEnv
	}
}

// patternList is endpoint_allow: a YAML list of host patterns or one
// comma-separated string.
type patternList []string

// UnmarshalYAML accepts `endpoint_allow: [loopback, api.openai.com]` and
// `endpoint_allow: loopback,api.openai.com`.
func (l *patternList) UnmarshalYAML(n *yaml.Node) error {
	items, err := commaList(n, "endpoint_allow", "host patterns", "[loopback, api.openai.com]")
	if err != nil {
		return err
	}
	if _, err := eval.ParseHostPolicy(items); err != nil {
		return fmt.Errorf("line %d: endpoint_allow: %w", n.Line, err)
	}
	*l = items
	return nil
}

// commaList reads a key of assay.yaml that is a list of names or one
// comma-separated string (null: none), as [eval.StringList] reads it. what
// and example say what to write in an error.
func commaList(n *yaml.Node, key, what, example string) ([]string, error) {
	items, bad := eval.StringList(n)
	switch {
	case bad == n:
		return nil, fmt.Errorf("line %d: %s: write a list of %s, e.g. %s", n.Line, key, what, example)
	case bad != nil:
		return nil, fmt.Errorf("line %d: %s: write the %s as names, e.g. %s", bad.Line, key, what, example)
	}
	return eval.Values(items), nil
}
