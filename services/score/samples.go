package score

import (
	"sync"

	"github.com/assay-eval/assay/pkg/eval"
)

// recentSamples is how many samples the stage keeps, decoded, for the
// generations still to come for them. Every variant's generation of a
// sample needs it, and they arrive close together (each variant's infer
// consumer reads the samples in order, a few dozen in flight): kept, the
// sample is read from the bus once rather than once per variant.
const recentSamples = 1024

// sampleCache holds the last samples read, by stream sequence, evicting
// the oldest read. Samples are never changed in the stream, so a kept one
// is what a read would return.
type sampleCache struct {
	mu    sync.Mutex
	bySeq map[uint64]*eval.Sample
	order []uint64 // a ring of the sequences held, oldest at next
	next  int
}

func newSampleCache(n int) *sampleCache {
	return &sampleCache{bySeq: make(map[uint64]*eval.Sample, n), order: make([]uint64, 0, n)}
}

func (c *sampleCache) get(seq uint64) *eval.Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bySeq[seq]
}

func (c *sampleCache) put(seq uint64, s *eval.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.bySeq[seq]; ok {
		return
	}
	if len(c.order) < cap(c.order) {
		c.order = append(c.order, seq)
	} else {
		delete(c.bySeq, c.order[c.next])
		c.order[c.next] = seq
		c.next = (c.next + 1) % len(c.order)
	}
	c.bySeq[seq] = s
}
