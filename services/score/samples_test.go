package score

import (
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestSampleCacheKeepsTheLastRead: the cache holds the last n samples
// read, evicting the oldest, and never more.
func TestSampleCacheKeepsTheLastRead(t *testing.T) {
	c := newSampleCache(2)
	for seq := uint64(1); seq <= 3; seq++ {
		c.put(seq, &eval.Sample{ID: string(rune('a' + seq))})
	}
	c.put(3, &eval.Sample{ID: "again"}) // a second read of a kept sample changes nothing
	for seq, want := range map[uint64]string{1: "", 2: "c", 3: "d"} {
		got := c.get(seq)
		switch {
		case want == "" && got != nil:
			t.Errorf("sample %d is kept past the cache's size", seq)
		case want != "" && (got == nil || got.ID != want):
			t.Errorf("sample %d: %v, want %q", seq, got, want)
		}
	}
	if len(c.bySeq) != 2 {
		t.Errorf("%d samples kept, want 2", len(c.bySeq))
	}
}
