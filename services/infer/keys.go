package infer

import (
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// endpoint is how variant v is called: its URL, limits and where its API
// key is kept (the client looks it up under the stage's endpoint policy at
// each call).
func (s *Service) endpoint(v eval.Variant) llm.Endpoint {
	return llm.Endpoint{Name: v.Name, BaseURL: v.BaseURL, Concurrency: v.Concurrency, Timeout: v.Timeout.D(),
		KeyEnv: v.APIKeyEnv, KeySecret: v.APIKeySecret, Stream: v.Streaming()}
}
