package offheap

import (
	"math/bits"
	"reflect"
	"runtime"
	"unsafe"
)

// chunkBytes is about how large each chunk of a [Vec] is.
const chunkBytes = 1 << 20

// Vec is an array of plain values (see [Make]) that grows at its end, in
// chunks of about 1 MiB mapped outside the heap: growing never copies it,
// nor holds it twice for a moment as append does, and the collector does
// not count it. The zero Vec is empty and ready to use. A Vec copied
// shares its values with the original. A Vec is not safe for concurrent
// use. Free releases the chunks at once;
// a Vec never freed releases them some time after it (and every copy of
// it) is collected.
type Vec[T any] struct{ v *vec[T] }

type vec[T any] struct {
	// chunks is apart from vec, so that the cleanup that releases it
	// does not keep vec reachable.
	chunks *[][]T
	n      int
	shift  uint
}

func (v *Vec[T]) init() *vec[T] {
	if v.v == nil {
		mustBePlain(reflect.TypeFor[T]())
		size := max(unsafe.Sizeof(*new(T)), 1)
		st := &vec[T]{chunks: new([][]T), shift: uint(bits.Len(uint(chunkBytes/size))) - 1}
		runtime.AddCleanup(st, FreeAll[T], st.chunks)
		v.v = st
	}
	return v.v
}

// Len is the number of values in v.
func (v *Vec[T]) Len() int {
	if v.v == nil {
		return 0
	}
	return v.v.n
}

// Append adds x at the end of v.
func (v *Vec[T]) Append(x T) {
	st := v.init()
	i := st.n
	c := i >> st.shift
	if c == len(*st.chunks) {
		*st.chunks = append(*st.chunks, Make[T](1<<st.shift))
	}
	(*st.chunks)[c][i&(1<<st.shift-1)] = x
	st.n++
}

// At returns the ith value; it panics when i is out of range.
func (v *Vec[T]) At(i int) T { return *v.Ptr(i) }

// Ptr returns where the ith value is, to change it in place; it panics
// when i is out of range. The pointer is valid until v is freed.
func (v *Vec[T]) Ptr(i int) *T {
	if v.v == nil || uint(i) >= uint(v.v.n) {
		panic("offheap: index out of range")
	}
	st := v.v
	return &(*st.chunks)[i>>st.shift][i&(1<<st.shift-1)]
}

// Free releases v's values at once, leaving it empty.
func (v *Vec[T]) Free() {
	if v.v == nil {
		return
	}
	FreeAll(v.v.chunks)
	v.v.n = 0
}

// FreeAll releases each array of *arrays (see [Free]) and empties the
// list: the cleanup of an owner that keeps its arrays in such a list.
func FreeAll[T any](arrays *[][]T) {
	for _, a := range *arrays {
		Free(a)
	}
	*arrays = nil
}
