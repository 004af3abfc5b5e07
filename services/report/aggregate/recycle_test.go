package aggregate

import (
	"bytes"
	"testing"
	"unsafe"
)

func TestRecyclerReusesReleasedBodies(t *testing.T) {
	var r recycler
	for _, size := range []int{1, 100, recycleMin - 1, recycleMin, recycleMin + 1, 3 << 20} {
		a := r.Allocate(size)
		if len(a) != size || uintptr(unsafe.Pointer(unsafe.SliceData(a)))%recycleAlign != 0 {
			t.Fatalf("Allocate(%d): len %d at %p, want len %d aligned to %d", size, len(a), unsafe.SliceData(a), size, recycleAlign)
		}
		for i := range a {
			a[i] = 0xff
		}
		r.Free(a)
		b := r.Allocate(size)
		if reused := unsafe.SliceData(a) == unsafe.SliceData(b); reused != (size >= recycleMin) {
			t.Errorf("Allocate(%d) after Free: reused %v, want %v", size, reused, size >= recycleMin)
		}
		for i, v := range b {
			if v != 0 {
				t.Fatalf("Allocate(%d) after Free: byte %d is %#x, want 0", size, i, v)
			}
		}
	}
}

func TestRecyclerReallocateKeepsContents(t *testing.T) {
	var r recycler
	a := r.Allocate(recycleMin)
	for i := range a {
		a[i] = byte(i)
	}
	b := r.Reallocate(4*recycleMin, a)
	if len(b) != 4*recycleMin {
		t.Fatalf("Reallocate: len %d, want %d", len(b), 4*recycleMin)
	}
	for i := range recycleMin {
		if b[i] != byte(i) {
			t.Fatalf("Reallocate: byte %d is %d, want %d", i, b[i], byte(i))
		}
	}
}

// TestRecycledReadsGiveTheSameReport: a report read from segments whose
// batches' bodies are recycled (batches of 4,096 rows, bodies far above
// recycleMin) is the same, to the byte, as one of a collector that keeps
// everything in memory: no reader keeps a string of a recycled body.
// TestRecyclerReallocateClearsWhatItAdds: growing a recycled body within
// its capacity gives zeros past the old length, as a new body would, not
// an earlier batch's bytes.
func TestRecyclerReallocateClearsWhatItAdds(t *testing.T) {
	var r recycler
	a := r.Allocate(3 * recycleMin) // a body of capacity 4·recycleMin
	for i := range a[:cap(a)] {
		a[:cap(a)][i] = 0xff
	}
	r.Free(a)
	b := r.Allocate(2*recycleMin + 1) // the same class: a's body again
	if unsafe.SliceData(b) != unsafe.SliceData(a) {
		t.Fatal("the body was not recycled")
	}
	c := r.Reallocate(3*recycleMin, b)
	for i := len(b); i < len(c); i++ {
		if c[i] != 0 {
			t.Fatalf("Reallocate: byte %d is %#x, want 0", i, c[i])
		}
	}
}

func TestRecycledReadsGiveTheSameReport(t *testing.T) {
	spec := testSpec()
	spec.Suites[1].Cluster = "doc"
	inRAM, spilled := New(spec, WithSpill("", 0)), New(spec, WithSpill(t.TempDir(), 1))
	defer inRAM.Release()
	defer spilled.Release()
	for _, c := range []*Collector{inRAM, spilled} {
		fillBench(c, spec, 3*batchRows)
	}
	want, got := encode(t, report(t, inRAM, &fakeFetcher{})), encode(t, report(t, spilled, &fakeFetcher{}))
	if !bytes.Equal(want, got) {
		t.Fatalf("report read from recycled bodies differs:\n%s", lineDiff(string(want), string(got)))
	}
}
