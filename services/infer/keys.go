package infer

import (
	"os"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// endpoint is how variant v is called: its URL, limits and API key.
func (s *Service) endpoint(v eval.Variant) llm.Endpoint {
	ep := llm.Endpoint{BaseURL: v.BaseURL, Concurrency: v.Concurrency, Timeout: v.Timeout.D(), Stream: v.Streaming()}
	if v.APIKeyEnv != "" {
		ep.APIKey = os.Getenv(v.APIKeyEnv)
	}
	return ep
}
