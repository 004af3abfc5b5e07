package ingest

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/ingest/contam"
)

// checkContamination checks samples' prompts against the run's training
// data and records each finding on its sample (see package contam).
func (s *Service) checkContamination(ctx context.Context, cc *eval.ContaminationCheck, samples []eval.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	docs := make([]contam.Doc, len(samples))
	for i, sm := range samples {
		var b strings.Builder
		for _, m := range sm.Messages {
			if m.Role == "user" {
				b.WriteString(m.Content)
				b.WriteByte('\n')
			}
		}
		docs[i] = contam.Doc{ID: sm.Suite + "/" + sm.ID, Text: b.String()}
	}
	ix, err := contam.NewIndex(docs, contam.Options{NGram: cc.NGram, Threshold: cc.Threshold})
	if err != nil {
		return bus.Poisonf(bus.Keys{}, "contamination: %v", err)
	}
	objects := map[string]string{}
	var files []string
	for _, p := range cc.Parts {
		objects[p.Path] = p.Object
		files = append(files, p.Path)
	}
	if len(files) == 0 {
		return bus.Poisonf(bus.Keys{}, "contamination: the training data was not uploaded: submit runs with `assay run`")
	}
	rep, err := ix.Check(ctx, contam.Source{
		Field: cc.Field, IDField: cc.ID, Files: files,
		Open: func(name string) (io.ReadCloser, error) { return s.bus.OpenDataset(ctx, objects[name]) },
	})
	if err != nil {
		return fmt.Errorf("checking contamination: %w", err)
	}
	for _, p := range rep.Train.Problems {
		s.logger.Warn("training line skipped", "problem", p.Error())
	}
	for i, r := range rep.Results {
		if r.Score > 0 {
			samples[i].Contamination = &eval.Contamination{Contaminated: r.Contaminated, Score: r.Score, Match: r.Match}
		}
	}
	return nil
}
