package offheap

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMakeOutsideTheHeap shows what the package is for: a large array
// made here leaves the collector's heap as it was, where make grows it by
// the array's size.
func TestMakeOutsideTheHeap(t *testing.T) {
	const n = 8 << 20 // 64 MiB of uint64
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	s := Make[uint64](n)
	for i := range s {
		s[i] = uint64(i) * 3
	}
	grown := int64(heap()) - int64(before)
	if grown > 4<<20 {
		t.Errorf("the heap grew by %d MiB with a 64 MiB mapped array", grown>>20)
	}
	if got := mappedBytes.Load(); got < n*8 {
		t.Errorf("%d bytes mapped, want at least %d", got, n*8)
	}
	if s[n-1] != uint64(n-1)*3 || len(s) != n || cap(s) != n {
		t.Fatalf("the array does not hold what was written: len %d cap %d last %d", len(s), cap(s), s[n-1])
	}
	Free(s[:10]) // resliced from its start, as Free allows
	if got := mappedBytes.Load(); got != 0 {
		t.Errorf("%d bytes still mapped after Free", got)
	}

	h := make([]uint64, n)
	h[n-1] = 1
	if grown := int64(heap()) - int64(before); grown < n*8/2 {
		t.Errorf("the heap grew by only %d MiB with a 64 MiB array from make: the measure says nothing", grown>>20)
	}
	runtime.KeepAlive(h)
}

func TestMakeSmallOnTheHeap(t *testing.T) {
	s := Make[int32](100)
	if len(s) != 100 || mappedBytes.Load() != 0 {
		t.Fatalf("a 400-byte array: len %d, %d bytes mapped", len(s), mappedBytes.Load())
	}
	Free(s) // left to the collector
	if Make[int32](0) != nil {
		t.Error("an empty array is not nil")
	}
}

func TestMakeRefusesPointers(t *testing.T) {
	type plain struct {
		a uint32
		b [4]int16
		c struct{ f float64 }
	}
	Free(Make[plain](1 << 16))
	for name, f := range map[string]func(){
		"pointer": func() { Make[*int](1) },
		"string":  func() { Make[string](1) },
		"slice":   func() { Make[[]byte](1) },
		"struct": func() {
			Make[struct {
				a int
				s string
			}](1)
		},
		"array": func() { Make[[2]map[int]int](1) },
		"vec":   func() { var v Vec[struct{ p *int }]; v.Append(struct{ p *int }{}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "holds pointers") {
					t.Errorf("made an array of values with pointers: %v", r)
				}
			}()
			f()
		})
	}
}

func TestVec(t *testing.T) {
	type posting struct{ doc, next int32 }
	var v Vec[posting]
	if v.Len() != 0 {
		t.Fatal("the zero Vec is not empty")
	}
	per := chunkBytes / 8
	n := 2*per + 17 // across two chunk boundaries
	for i := range n {
		v.Append(posting{int32(i), int32(-i)})
	}
	if v.Len() != n {
		t.Fatalf("len %d, want %d", v.Len(), n)
	}
	for _, i := range []int{0, per - 1, per, 2 * per, n - 1} {
		if got := v.At(i); got != (posting{int32(i), int32(-i)}) {
			t.Errorf("At(%d) = %v", i, got)
		}
	}
	v.Ptr(per).next = 7
	if v.At(per).next != 7 {
		t.Error("a change through Ptr did not hold")
	}
	copied := v
	if copied.At(n-1) != v.At(n-1) {
		t.Error("a copy does not share the values")
	}
	for _, i := range []int{-1, n} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("At(%d) of %d values did not panic", i, n)
				}
			}()
			v.At(i)
		}()
	}
	if mappedBytes.Load() < 3*chunkBytes {
		t.Errorf("%d bytes mapped for 3 chunks", mappedBytes.Load())
	}
	v.Free()
	if v.Len() != 0 || mappedBytes.Load() != 0 {
		t.Errorf("after Free: len %d, %d bytes mapped", v.Len(), mappedBytes.Load())
	}
	v.Append(posting{1, 2})
	if v.At(0) != (posting{1, 2}) {
		t.Error("a Vec freed does not take values again")
	}
	v.Free()
}

// TestVecReleasedWhenCollected: a Vec its owner forgot to free is
// released once it is collected.
func TestVecReleasedWhenCollected(t *testing.T) {
	func() {
		var v Vec[uint64]
		for i := range 3 * chunkBytes / 8 {
			v.Append(uint64(i))
		}
	}()
	deadline := time.Now().Add(time.Minute)
	for mappedBytes.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still mapped a minute after the Vec was dropped", mappedBytes.Load())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
