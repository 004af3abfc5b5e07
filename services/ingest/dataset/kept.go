package dataset

import (
	"encoding/binary"
	"hash/maphash"
	"runtime"

	"github.com/assay-eval/assay/pkg/offheap"
)

// kept is what a Reader remembers of every sample it kept, to find exact
// duplicates (by a hash of the normalised text) and reused ids: the
// sample's id and line, its text's hash, and two hash tables of their
// numbers. A million samples took 155 MB in two Go maps (a text hash to
// its id, an id to its line); here they take about a quarter of that,
// outside the Go heap (package offheap), released some time after the
// reader is collected.
type kept struct {
	ids   IDs
	lines offheap.Vec[int]
	texts offheap.Vec[[16]byte]
	// byText and byID hold a kept sample's number plus 1 (0: empty).
	byText, byID *slots
	seed         maphash.Seed
}

func newKept() *kept {
	k := &kept{seed: maphash.MakeSeed(), byText: &slots{}, byID: &slots{}}
	runtime.AddCleanup(k, (*slots).free, k.byText)
	runtime.AddCleanup(k, (*slots).free, k.byID)
	return k
}

// text returns the id of the kept sample whose text has hash key.
func (k *kept) text(key [16]byte) (id string, ok bool) {
	i, ok := k.byText.find(binary.LittleEndian.Uint64(key[:]), func(i int32) bool { return k.texts.At(int(i)) == key })
	if !ok {
		return "", false
	}
	return k.ids.At(int(k.byText.at[i] - 1)), true
}

// id returns the line of the kept sample with id.
func (k *kept) id(id string) (line int, ok bool) {
	i, ok := k.byID.find(maphash.String(k.seed, id), func(i int32) bool { return k.ids.Is(int(i), id) })
	if !ok {
		return 0, false
	}
	return k.lines.At(int(k.byID.at[i] - 1)), true
}

// add keeps a sample whose text and id are not kept yet.
func (k *kept) add(key [16]byte, id string, line int) {
	n := int32(k.ids.Len())
	k.ids.Append(id)
	k.lines.Append(line)
	k.texts.Append(key)
	k.byText.reserve(func(i int32) uint64 { t := k.texts.At(int(i)); return binary.LittleEndian.Uint64(t[:]) })
	k.byID.reserve(func(i int32) uint64 { return maphash.Bytes(k.seed, k.ids.bytes(int(i))) })
	i, _ := k.byText.find(binary.LittleEndian.Uint64(key[:]), func(int32) bool { return false })
	k.byText.set(i, n)
	i, _ = k.byID.find(maphash.String(k.seed, id), func(int32) bool { return false })
	k.byID.set(i, n)
}

// slots is an open-addressing hash table (linear probing) of sample
// numbers plus 1, kept at most 3/4 full.
type slots struct {
	at   []int32
	used int
}

// find returns the slot of the number with hash h that eq accepts, or the
// empty slot where it belongs.
func (s *slots) find(h uint64, eq func(int32) bool) (int, bool) {
	if len(s.at) == 0 {
		return 0, false
	}
	mask := uint64(len(s.at) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch v := s.at[i]; {
		case v == 0:
			return int(i), false
		case eq(v - 1):
			return int(i), true
		}
	}
}

func (s *slots) set(i int, n int32) {
	s.at[i] = n + 1
	s.used++
}

// free releases the table, leaving it empty.
func (s *slots) free() {
	offheap.Free(s.at)
	*s = slots{}
}

// reserve makes room for one more number; hash rehashes those stored.
func (s *slots) reserve(hash func(int32) uint64) {
	if (s.used+1)*4 <= len(s.at)*3 {
		return
	}
	old := s.at
	s.at = offheap.Make[int32](max(64, 2*len(old)))
	defer offheap.Free(old)
	mask := uint64(len(s.at) - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		i := hash(v-1) & mask
		for s.at[i] != 0 {
			i = (i + 1) & mask
		}
		s.at[i] = v
	}
}
