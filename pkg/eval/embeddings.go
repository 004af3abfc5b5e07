package eval

import (
	"fmt"
	"slices"
)

// Embeddings is the run's embeddings endpoint: an OpenAI-compatible
// /embeddings API that the metric semantic_sim calls for the answers' and
// the references' vectors. Its key fields are as a [Variant]'s.
type Embeddings struct {
	BaseURL string `yaml:"base_url" json:"base_url"`
	Model   string `yaml:"model" json:"model"`
	// APIKeyEnv and APIKeySecret name the key as for a [Variant].
	APIKeyEnv    string `yaml:"api_key_env" json:"api_key_env,omitempty"`
	APIKeySecret string `yaml:"api_key_secret" json:"api_key_secret,omitempty"`
	// Concurrency bounds the requests in flight from each score
	// process; Timeout bounds each attempt.
	Concurrency int      `yaml:"concurrency" json:"concurrency"`
	Timeout     Duration `yaml:"timeout" json:"timeout"`
	// Dimensions asks a model that can shorten its vectors for that many
	// (0: the model's own).
	Dimensions int `yaml:"dimensions" json:"dimensions,omitempty"`
	// TokenEmbeddings asks for one vector per token (vLLM's pooling API,
	// task token_embed, at base_url/pooling) and makes semantic_sim a
	// BERTScore-like F1 of greedily matched tokens instead of the cosine
	// of the two texts' vectors.
	TokenEmbeddings bool `yaml:"token_embeddings" json:"token_embeddings,omitempty"`
}

// MetricSemanticSim is the metric that compares an answer with its
// references through the run's embeddings.
const MetricSemanticSim = "semantic_sim"

// Hash identifies what shapes the embeddings' vectors — the model, the
// dimensions and whether they are per token — whatever the endpoint: it
// is part of the run's scoring, so that scores of two models are never
// mixed.
func (e *Embeddings) Hash() string {
	if e == nil {
		return ""
	}
	return fmt.Sprintf("%s|%d|%t", e.Model, e.Dimensions, e.TokenEmbeddings)
}

func (e *Embeddings) applyDefaults() {
	if e.Concurrency == 0 {
		e.Concurrency = DefaultConcurrency
	}
	if e.Timeout == 0 {
		e.Timeout = Duration(DefaultTimeout)
	}
}

// embeddings checks the spec's embeddings section, and that a suite
// asking for semantic_sim has one.
func (c *checker) embeddings(s *RunSpec) {
	if e := s.Embeddings; e != nil {
		c.endpoint(e.BaseURL, "embeddings", "base_url")
		c.keySource(e.APIKeyEnv, e.APIKeySecret, "embeddings")
		if e.Model == "" {
			c.fail("is required: the embedding model's name at the endpoint", "embeddings", "model")
		}
		if e.Concurrency < 0 {
			c.fail("must be positive", "embeddings", "concurrency")
		}
		if e.Dimensions < 0 {
			c.fail("must not be negative (0: the model's own)", "embeddings", "dimensions")
		}
		return
	}
	for i, su := range s.Suites {
		if k := slices.Index(su.Metrics, MetricSemanticSim); k >= 0 && !c.quiet("embeddings") {
			c.fail("needs an embeddings endpoint: add embeddings: {base_url, model} to the spec", "suites", i, "metrics", k)
		}
	}
}
