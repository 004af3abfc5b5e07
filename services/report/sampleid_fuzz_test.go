package report

import (
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
)

// FuzzSampleID: a sample's suite and id are read from its subject and
// message id only when ingest would have published it so; anyone can
// publish on a subject.
func FuzzSampleID(f *testing.F) {
	f.Add("r", "assay.samples.r.qa", "ingest|r|qa|q1")
	f.Add("r", "assay.samples.r.qa", "ingest|r|qa|")
	f.Add("r", "assay.samples.r.qa.x", "ingest|r|qa|q1")
	f.Add("r", "assay.samples.other.qa", "ingest|other|qa|q1")
	f.Add("r", "assay.samples.r.qa", "ingest|r|math|q1")
	f.Add("r", "assay.samples.r.qa", "ingest|r|qa|a|b")
	f.Fuzz(func(t *testing.T, run, subject, msgID string) {
		suite, id, ok := sampleID(run, subject, msgID)
		if !ok {
			return
		}
		if id == "" || bus.SamplesSubject(run, suite) != subject || bus.MsgID(bus.StageIngest, run, suite, id) != msgID {
			t.Errorf("(%q, %q, %q) read as suite %q, id %q", run, subject, msgID, suite, id)
		}
	})
}
