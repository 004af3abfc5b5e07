package judge

import (
	"os"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// endpoint is how judge j is called: its URL, limits and API key.
func (s *Service) endpoint(j eval.Judge) llm.Endpoint {
	ep := llm.Endpoint{BaseURL: j.BaseURL, Concurrency: j.Concurrency, Timeout: j.Timeout.D()}
	if j.APIKeyEnv != "" {
		ep.APIKey = os.Getenv(j.APIKeyEnv)
	}
	return ep
}
