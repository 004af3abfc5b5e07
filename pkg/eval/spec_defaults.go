package eval

import (
	"slices"
	"time"
)

// Defaults applied to a spec where it is silent.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 120 * time.Second
	DefaultMaxTokens   = 1024
	DefaultAttempts    = 5
	DefaultBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
)

// DefaultDimensions are the judge's per-dimension scores when a judge names
// none: the dimensions of the method assay follows. GroundingDimension is
// asked only about samples with context (see [Sample.HasContext]).
var DefaultDimensions = []string{"correctness", "completeness", "harmlessness", "format", GroundingDimension}

// GroundingDimension is the dimension of citation and grounding: whether
// an answer keeps to the context it was given and cites it where asked.
const GroundingDimension = "grounding"

func (s *RunSpec) applyDefaults() {
	for i := range s.Variants {
		v := &s.Variants[i]
		if v.Concurrency == 0 {
			v.Concurrency = DefaultConcurrency
		}
		if v.Timeout == 0 {
			v.Timeout = Duration(DefaultTimeout)
		}
	}
	s.Decoding.applyDefaults()
	if s.Retry.MaxAttempts == 0 {
		s.Retry.MaxAttempts = DefaultAttempts
	}
	if s.Retry.InitialBackoff == 0 {
		s.Retry.InitialBackoff = Duration(DefaultBackoff)
	}
	if s.Retry.MaxBackoff == 0 {
		s.Retry.MaxBackoff = Duration(DefaultMaxBackoff)
	}
	for i := range s.Suites {
		su := &s.Suites[i]
		if su.Role == "" {
			su.Role = RoleBenchmark
		}
	}
	for i := range s.Judges {
		s.Judges[i].applyDefaults()
	}
	if s.Embeddings != nil {
		s.Embeddings.applyDefaults()
	}
	if ct := s.Continuous; ct != nil {
		if ct.SampleRate == 0 {
			ct.SampleRate = 1
		}
		if ct.Window == 0 {
			ct.Window = Duration(DefaultWindow)
		}
		if len(ct.Metrics) == 0 {
			ct.Metrics = []string{"refusal", "length"}
		}
	}
}

// addIntakeSuites gives each intake source of a continuous run a suite of
// role production, so that its queries are scored and reported like any
// suite's samples.
func (s *RunSpec) addIntakeSuites() {
	if s.Continuous == nil {
		return
	}
	for _, src := range s.Continuous.Sources {
		if _, ok := s.Suite(src); !ok {
			s.Suites = append(s.Suites, Suite{Name: src, Role: RoleProduction, Metrics: slices.Clone(s.Continuous.Metrics), Intake: true, Cluster: s.Continuous.Cluster})
		}
	}
}

func (j *Judge) applyDefaults() {
	if j.Mode == "" {
		j.Mode = JudgePairwise
	}
	if j.Concurrency == 0 {
		j.Concurrency = DefaultConcurrency
	}
	if j.Timeout == 0 {
		j.Timeout = Duration(DefaultTimeout)
	}
	if len(j.Dimensions) == 0 {
		j.Dimensions = slices.Clone(DefaultDimensions)
	}
	if j.Decoding.MaxTokens == 0 {
		j.Decoding.MaxTokens = 512
	}
	j.Decoding.applyDefaults()
}

func (d *Decoding) applyDefaults() {
	if d.MaxTokens == 0 {
		d.MaxTokens = DefaultMaxTokens
	}
	if d.TopP == 0 {
		d.TopP = 1
	}
}
