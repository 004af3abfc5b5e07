// Package offheap keeps large, long-lived arrays of plain values in memory
// mapped from the operating system rather than in the Go heap.
//
// The garbage collector lets the heap grow to about twice what is live
// (GOGC=100) before it collects: a 130 MB hash table that lives for a
// whole read of a suite makes the process hold up to 130 MB more of
// garbage beside it, though the table itself holds no pointers and is
// never garbage. Mapped outside the heap, the table counts once: the
// collector neither scans it nor paces itself by it. The price is that it
// must be released explicitly ([Free], [Vec.Free]); what is forgotten is
// released when its owner is collected (see [Vec]), later than it could
// have been.
//
// Arrays under [minMapped] bytes come from the heap as usual: a small
// suite's tables cost no system calls, and a page of mapped memory would
// be mostly empty.
package offheap

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// mappedBytes is how much is mapped now, for the tests.
var mappedBytes atomic.Int64

// minMapped is the size from which an array is mapped rather than made on
// the heap.
const minMapped = 64 << 10

// Make returns a zeroed array of n values of T, len and cap n, mapped
// outside the heap when it is large; Free releases it. T must hold no
// pointers (the collector does not see into mapped memory, so a pointer
// there would not keep what it points to alive): Make panics otherwise.
func Make[T any](n int) []T {
	size := unsafe.Sizeof(*new(T))
	mustBePlain(reflect.TypeFor[T]())
	if n == 0 {
		return nil
	}
	if !isMapped(n, size) {
		return make([]T, n)
	}
	b, err := mapBytes(int(uintptr(n) * size))
	if err != nil {
		// As the runtime does when the heap cannot grow.
		panic(fmt.Sprintf("offheap: out of memory mapping %d bytes: %v", uintptr(n)*size, err))
	}
	mappedBytes.Add(int64(len(b)))
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// isMapped says whether an array of n values of size bytes is mapped.
func isMapped(n int, size uintptr) bool {
	return canMap && size > 0 && n > 0 && uintptr(n) <= maxBytes/size && uintptr(n)*size >= minMapped
}

// Free releases an array from [Make] (as Make returned it, or resliced
// from its start); s must not be used after. An array made on the heap is
// left to the collector.
func Free[T any](s []T) {
	size := unsafe.Sizeof(*new(T))
	if !isMapped(cap(s), size) {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s[:cap(s)]))), uintptr(cap(s))*size)
	unmapBytes(b)
	mappedBytes.Add(-int64(len(b)))
}

// maxBytes bounds one mapping, far above any array assay keeps.
const maxBytes = 1 << 40

// mustBePlain panics when values of t hold pointers.
func mustBePlain(t reflect.Type) {
	if hasPointers(t) {
		panic(fmt.Sprintf("offheap: %v holds pointers, which mapped memory would hide from the garbage collector", t))
	}
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}
