package judge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
)

// twinVerdict is the judgment of p that a twin of j — another judge of
// the run with j's hash: same model, prompt and settings — already
// published, made j's: a judge replayed under another name is not asked
// what its twin was asked, even once the LLM cache has let the twin's
// calls expire: the judgment is read from ASSAY_JUDGMENTS. A
// judgment the twin could not make for want of a usable endpoint (a
// preflight failure) is not copied: j is asked.
func (s *Service) twinVerdict(ctx context.Context, spec *eval.RunSpec, j eval.Judge, p pair, cand, base *eval.Generation) (*eval.Judgment, bool, error) {
	hash := j.Hash()
	for _, t := range spec.Judges {
		if t.Name == j.Name || t.Hash() != hash {
			continue
		}
		seq, ok, err := s.storedJudgment(ctx, spec.Run, t.Name, p.candidate, p.sample.Suite, p.sample.ID, cand.Retry, base.Retry)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			continue
		}
		data, err := s.bus.GetMsg(ctx, bus.StreamJudgments, seq)
		if err != nil {
			return nil, false, err
		}
		var jd eval.Judgment
		if err := json.Unmarshal(data, &jd); err != nil {
			return nil, false, fmt.Errorf("judgment at %d does not decode: %w", seq, err)
		}
		if strings.HasPrefix(jd.Cause, "preflight") {
			continue
		}
		jd.Judge, jd.JudgeID, jd.JudgeRetry = j.Name, j.ID(), 0
		for i := range jd.Rounds {
			jd.Rounds[i].Cached = jd.Rounds[i].Raw != "" || jd.Rounds[i].Cached
		}
		return &jd, true, nil
	}
	return nil, false, nil
}
