package score

import (
	"encoding/json"

	"github.com/assay-eval/assay/pkg/eval"
)

// generation is the part of an [eval.Generation] the stage reads and
// carries into its score. The rest — a reasoning trace, the model's own
// earlier turns, the attempt count, the prompt's token counts — is
// skipped by the decoder, not decoded: decoding whole generations was a
// third of the stage's cost.
type generation struct {
	Run          string         `json:"run"`
	Sample       eval.SampleRef `json:"sample"`
	Variant      string         `json:"variant"`
	Model        string         `json:"model"`
	Fingerprint  string         `json:"fingerprint"`
	Params       string         `json:"params"`
	Output       string         `json:"output"`
	FinishReason string         `json:"finish_reason"`
	Usage        struct {
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	LatencyMS float64 `json:"latency_ms"`
	TTFTMS    float64 `json:"ttft_ms"`
	ITLMS     float64 `json:"itl_ms"`
	Error     string  `json:"error"`
	Cause     string  `json:"cause"`
	Retry     int     `json:"retry"`
}

// decodeGeneration reads what the stage needs of a generation's JSON.
func decodeGeneration(data []byte) (*eval.Generation, error) {
	var g generation
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, err
	}
	return &eval.Generation{
		Run: g.Run, Sample: g.Sample, Variant: g.Variant, Model: g.Model, Fingerprint: g.Fingerprint, Params: g.Params,
		Output: g.Output, FinishReason: g.FinishReason, Usage: eval.Usage{CompletionTokens: g.Usage.CompletionTokens},
		LatencyMS: g.LatencyMS, TTFTMS: g.TTFTMS, ITLMS: g.ITLMS, Error: g.Error, Cause: g.Cause, Retry: g.Retry,
	}, nil
}

// sample is the part of an [eval.Sample] the stage reads: which it is, its
// reference, its messages (the refusal detector reads the question) and
// what a robustness copy was made from, not its metadata.
type sample struct {
	Run          string             `json:"run"`
	ID           string             `json:"id"`
	Suite        string             `json:"suite"`
	Reference    *eval.Reference    `json:"reference"`
	Messages     []eval.Message     `json:"messages"`
	Perturbation *eval.Perturbation `json:"perturbation"`
}

// decodeSample reads what the stage needs of a sample's JSON.
func decodeSample(data []byte) (*eval.Sample, error) {
	var s sample
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &eval.Sample{Run: s.Run, ID: s.ID, Suite: s.Suite, Reference: s.Reference, Messages: s.Messages, Perturbation: s.Perturbation}, nil
}
