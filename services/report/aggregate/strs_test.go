package aggregate

import (
	"fmt"
	"reflect"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/assay-eval/assay/pkg/eval"
)

// TestReportRowsHoldNoBatch checks that the rows the report reads do not
// point into the batches they were read from: a string that did would keep
// the whole body of a batch read back from a spill segment alive, and the
// report would hold the table in memory again.
func TestReportRowsHoldNoBatch(t *testing.T) {
	spec := testSpec()
	spec.Suites[1].Cluster = "doc"
	c := New(spec, WithSpill("", 0))
	defer c.Release()
	for i := range 20 {
		suite, id := "qa", fmt.Sprintf("q%02d", i)
		if i%2 == 1 {
			suite = "biz"
		}
		for _, v := range []string{"base", "ft"} {
			s := mkScore(spec, v, suite, id, uint64(i+1), eval.BucketOK, em(1))
			if i%5 == 0 {
				s.Bucket, s.Reason = eval.BucketWrongAnswer, "expected another answer"
			}
			s.Sample.Cluster = fmt.Sprint(i / 4)
			s.OutputChars = 10 + i
			c.AddScore(s)
		}
		c.AddJudgment(mkJudgment(spec, suite, id, uint64(i+1), eval.WinCandidate, i%3 != 0))
	}
	var bufs [][]byte
	for _, tb := range []*table{c.scores, c.judgments} {
		c.each(tb, func(rec arrow.RecordBatch) {
			for _, col := range rec.Columns() {
				for _, b := range col.Data().Buffers() {
					if b != nil && b.Len() > 0 {
						bufs = append(bufs, b.Bytes())
					}
				}
			}
		})
	}
	inBatch := func(s string) bool {
		if s == "" {
			return false
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		for _, b := range bufs {
			lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
			if p >= lo && p < lo+uintptr(len(b)) {
				return true
			}
		}
		return false
	}
	// checkStrings fails for every string field of v (a struct) that
	// points into a batch.
	checkStrings := func(what string, v reflect.Value) {
		t.Helper()
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.String && inBatch(f.String()) {
				t.Errorf("%s.%s points into a batch", what, v.Type().Field(i).Name)
			}
		}
	}
	rows, judgments := c.rows(), c.judgmentRows()
	if len(rows) == 0 || len(judgments) == 0 {
		t.Fatal("no rows read")
	}
	for _, r := range rows {
		checkStrings("row", reflect.ValueOf(r))
		for _, s := range []string{r.reason(), r.cause(), r.perturbation(), r.original()} {
			if inBatch(s) {
				t.Errorf("row's %q points into a batch", s)
			}
		}
	}
	for _, j := range judgments {
		checkStrings("judgmentRow", reflect.ValueOf(j))
	}
	x := c.sampleIndex()
	lengths, _ := c.answerLengths(x)
	if len(lengths) == 0 {
		t.Fatal("no answer lengths read")
	}
	for k := range lengths {
		for _, s := range k {
			if inBatch(s) {
				t.Errorf("answer length key %q points into a batch", s)
			}
		}
	}
	by := c.verdicts(x)
	if len(by) == 0 {
		t.Fatal("no verdicts read")
	}
	for k, a := range by {
		for _, s := range k {
			if inBatch(s) {
				t.Errorf("verdicts key %q points into a batch", s)
			}
		}
		for _, v := range a.pairs {
			checkStrings("verdict", reflect.ValueOf(v))
		}
	}
	w := c.winners(x)
	if len(w.by) == 0 {
		t.Fatal("no winners read")
	}
	for k, m := range w.by {
		for _, s := range k {
			if inBatch(s) {
				t.Errorf("winners key %q points into a batch", s)
			}
		}
		for suite := range m {
			if inBatch(suite) {
				t.Errorf("winners suite %q points into a batch", suite)
			}
		}
	}
	for _, s := range w.book {
		if inBatch(s) {
			t.Errorf("winner %q points into a batch", s)
		}
	}
}
