package judge

import (
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// endpoint is how judge j is called: its URL, limits and where its API
// key is kept (the client looks it up under the stage's endpoint policy at
// each call).
func (s *Service) endpoint(j eval.Judge) llm.Endpoint {
	return llm.Endpoint{Name: j.Name, BaseURL: j.BaseURL, Concurrency: j.Concurrency, Timeout: j.Timeout.D(),
		KeyEnv: j.APIKeyEnv, KeySecret: j.APIKeySecret}
}
