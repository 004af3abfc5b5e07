package ingest

import (
	"context"
	"errors"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// A run is admitted, or a checkpoint added to one, only when the server's
// endpoint policy lets every variant and judge, and its embeddings
// endpoint, be called as the spec says: a host it allows, a key from a secret allowed for that host (or
// api_key_env where the operator allowed it). Refused at submission,
// before any sample is published, nothing is ever sent to the refused
// endpoint, and the run's status and report say why (a dead letter of
// ingest, which ends the run in state error).

// admitSpec returns every reason the policy refuses spec's endpoints, each
// naming the variant or judge, the host or secret, and what to change;
// nil when it allows them all.
func (s *Service) admitSpec(ctx context.Context, spec *eval.RunSpec) error {
	var errs []error
	for _, t := range llm.SpecTargets(spec) {
		errs = append(errs, s.endpoints.Admit(ctx, t))
	}
	if spec.Embeddings != nil {
		errs = append(errs, s.endpoints.Admit(ctx, llm.EmbeddingsTarget(spec.Embeddings)))
	}
	return errors.Join(errs...)
}

// admitVariant is [Service.admitSpec] for a variant a checkpoint announces.
func (s *Service) admitVariant(ctx context.Context, v eval.Variant) error {
	return s.endpoints.Admit(ctx, llm.VariantTarget(v))
}
