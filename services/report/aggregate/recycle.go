package aggregate

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// recycler is the allocator the report reads spilled batches back with.
// Each batch read from a segment has a body of its own, released once the
// batch is read: with Go's allocator every body is garbage the collector
// has not yet swept when the next is read — about 1.1 GB per full read of
// a table at 1M samples, which the heap grows by on top of the report's
// rows before a collection. The recycler hands a released body to the
// next batch instead, so a full read allocates a few bodies in all.
//
// Whoever reads a batch through it must keep nothing of the batch past its
// release: its memory holds the next batch. The report's readers copy the
// strings they keep (see [strs]).
type recycler struct {
	mu   sync.Mutex
	free [64][][]byte // by size class: capacity 1<<class
}

// Buffers smaller than recycleMin come from Go's allocator, and at most
// recycleKeep buffers of a class wait to be reused.
const (
	recycleMin  = 64 << 10
	recycleKeep = 4
)

// recycleAlign is the alignment Arrow expects of a buffer, as Go's
// allocator of arrow gives it.
const recycleAlign = 64

var _ memory.Allocator = (*recycler)(nil)

// class is the size class of a buffer of size bytes: the smallest power
// of two that holds it.
func class(size int) int { return bits.Len(uint(size - 1)) }

// Allocate returns a buffer of size bytes, zeroed as Arrow's allocators'
// are, aligned to 64 bytes.
func (r *recycler) Allocate(size int) []byte {
	if size < recycleMin {
		return alignedBytes(size, size)
	}
	k := class(size)
	r.mu.Lock()
	var b []byte
	if n := len(r.free[k]); n > 0 {
		b, r.free[k] = r.free[k][n-1], r.free[k][:n-1]
	}
	r.mu.Unlock()
	if b == nil {
		return alignedBytes(size, 1<<k)
	}
	b = b[:size]
	clear(b)
	return b
}

// Reallocate grows b to size bytes, keeping its contents.
func (r *recycler) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		// A recycled body's capacity holds an earlier batch's bytes.
		n := len(b)
		b = b[:size]
		clear(b[min(n, size):])
		return b
	}
	nb := r.Allocate(size)
	copy(nb, b)
	r.Free(b)
	return nb
}

// Free takes b back for a later Allocate of its class.
func (r *recycler) Free(b []byte) {
	c := cap(b)
	if c < recycleMin || c&(c-1) != 0 {
		return // Go's, or not one of ours: the collector takes it
	}
	k := class(c)
	r.mu.Lock()
	if len(r.free[k]) < recycleKeep {
		r.free[k] = append(r.free[k], b[:c])
	}
	r.mu.Unlock()
}

// alignedBytes is a zeroed buffer of size bytes and capacity capacity
// starting at a multiple of recycleAlign.
func alignedBytes(size, capacity int) []byte {
	buf := make([]byte, capacity+recycleAlign)
	shift := 0
	if rem := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % recycleAlign); rem != 0 {
		shift = recycleAlign - rem
	}
	return buf[shift : shift+size : shift+capacity]
}
