package ingest

import (
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// TestAdmitEmbeddings: a run's embeddings endpoint is admitted by the
// endpoint policy like its variants and judges, and refused the same way.
func TestAdmitEmbeddings(t *testing.T) {
	policy, err := llm.NewEndpoints(llm.EndpointsConfig{Allow: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{endpoints: policy}
	spec := &eval.RunSpec{Variants: []eval.Variant{{Name: "base", BaseURL: "http://10.0.0.1:8000/v1", Model: "m"}}}
	if err := s.admitSpec(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	spec.Embeddings = &eval.Embeddings{BaseURL: "http://169.254.169.254/v1", Model: "e"}
	err = s.admitSpec(t.Context(), spec)
	if err == nil || !strings.Contains(err.Error(), "embeddings endpoint: endpoint policy refuses host 169.254.169.254") {
		t.Errorf("err = %v", err)
	}
	spec.Embeddings.BaseURL = "http://10.0.0.2:8000/v1"
	if err := s.admitSpec(t.Context(), spec); err != nil {
		t.Error(err)
	}
}
