package aggregate

import (
	"github.com/assay-eval/assay/pkg/eval"
)

// The JSONL export writes one line per message of the run, in stream
// order: the message as the stages published it, with the texts it refers
// to by sequence beside it. A text that is gone, and the answer of a
// generation that failed, is null.

// GenerationLine is one generation as evaluation teams pass them around:
// {id, prompt, output, model, params, …}.
type GenerationLine struct {
	ID           string          `json:"id"`
	Suite        string          `json:"suite"`
	Variant      string          `json:"variant"`
	Model        string          `json:"model"`
	Params       string          `json:"params"`
	Prompt       *string         `json:"prompt"`
	Messages     []eval.Message  `json:"messages"`
	Output       *string         `json:"output"`
	Reasoning    string          `json:"reasoning"`
	Reference    *eval.Reference `json:"reference"`
	Turns        []string        `json:"turns"`
	FinishReason string          `json:"finish_reason"`
	Usage        eval.Usage      `json:"usage"`
	LatencyMS    *float64        `json:"latency_ms"`
	TTFTMS       *float64        `json:"ttft_ms"`
	ITLMS        *float64        `json:"itl_ms"`
	Error        string          `json:"error"`
	Cause        string          `json:"cause"`
	Run          string          `json:"run"`
	Fingerprint  string          `json:"fingerprint"`
	SampleSeq    uint64          `json:"sample_seq"`
	GenSeq       uint64          `json:"gen_seq"`
}

// NewGenerationLine is the line of the generation g stored at seq, whose
// sample s is nil when it is gone.
func NewGenerationLine(g *eval.Generation, seq uint64, s *eval.Sample) GenerationLine {
	l := GenerationLine{
		ID: g.Sample.ID, Suite: g.Sample.Suite, Variant: g.Variant, Model: g.Model, Params: g.Params,
		Reasoning: g.Reasoning, Turns: g.Turns, FinishReason: g.FinishReason, Usage: g.Usage,
		LatencyMS: measured(g.LatencyMS), TTFTMS: measured(g.TTFTMS), ITLMS: measured(g.ITLMS),
		Error: g.Error, Cause: g.Cause, Run: g.Run, Fingerprint: g.Fingerprint, SampleSeq: g.Sample.Seq, GenSeq: seq,
	}
	if out, ok := answered(g); ok {
		l.Output = &out
	}
	if s != nil {
		p := eval.LastUserMessage(s.Messages)
		l.Prompt, l.Messages, l.Reference = &p, s.Messages, s.Reference
	}
	return l
}

// measured is a latency that only a positive value gives (see
// [table.positive]), nil otherwise.
func measured(v float64) *float64 {
	if v <= 0 {
		return nil
	}
	return &v
}

// sampleTexts are the texts of a sample that the score and judgment lines
// carry.
type sampleTexts struct {
	Prompt    *string         `json:"prompt"`
	Messages  []eval.Message  `json:"messages"`
	Reference *eval.Reference `json:"reference"`
}

func newSampleTexts(s *eval.Sample) sampleTexts {
	if s == nil {
		return sampleTexts{}
	}
	p := eval.LastUserMessage(s.Messages)
	return sampleTexts{Prompt: &p, Messages: s.Messages, Reference: s.Reference}
}

// ScoreLine is a score as the score stage published it, with the sample's
// texts and the answer.
type ScoreLine struct {
	*eval.Score
	sampleTexts
	Output *string `json:"output"`
}

// NewScoreLine is the line of s, whose sample and generation are nil when
// they are gone.
func NewScoreLine(s *eval.Score, sample *eval.Sample, g *eval.Generation) ScoreLine {
	l := ScoreLine{Score: s, sampleTexts: newSampleTexts(sample)}
	if out, ok := answered(g); ok {
		l.Output = &out
	}
	return l
}

// JudgmentLine is a judgment as the judge published it (its rounds with
// the judge's reasons), with the sample's texts and both answers.
type JudgmentLine struct {
	*eval.Judgment
	sampleTexts
	CandidateModel  string  `json:"candidate_model"`
	BaselineModel   string  `json:"baseline_model"`
	CandidateParams string  `json:"candidate_params"`
	BaselineParams  string  `json:"baseline_params"`
	CandidateOutput *string `json:"candidate_output"`
	BaselineOutput  *string `json:"baseline_output"`
}

// JudgmentSides are the sequences of the generations a batch of judgments
// compares, found in x: candidate and baseline of each judgment in turn.
func JudgmentSides(x *SideIndex, js []*eval.Judgment) (samples, gens []uint64) {
	for _, j := range js {
		su, id := j.Sample.Suite, j.Sample.ID
		samples = append(samples, x.SampleSeq(su, id, j.Sample.Seq))
		gens = append(gens, x.GenSeq(j.Candidate, su, id), x.GenSeq(j.Baseline, su, id))
	}
	return samples, gens
}

// NewJudgmentLine is the line of j, with the texts t holds of the
// generations x finds.
func NewJudgmentLine(j *eval.Judgment, x *SideIndex, t *Texts) JudgmentLine {
	su, id := j.Sample.Suite, j.Sample.ID
	cand, base := x.side(j.Candidate, su, id), x.side(j.Baseline, su, id)
	l := JudgmentLine{Judgment: j, sampleTexts: newSampleTexts(t.Sample(x.SampleSeq(su, id, j.Sample.Seq))),
		CandidateModel: cand.model, BaselineModel: base.model, CandidateParams: cand.params, BaselineParams: base.params}
	if out, ok := answered(t.Generation(cand.genSeq)); ok {
		l.CandidateOutput = &out
	}
	if out, ok := answered(t.Generation(base.genSeq)); ok {
		l.BaselineOutput = &out
	}
	return l
}
