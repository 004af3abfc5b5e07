package metric

import (
	"math/bits"
	"sync"
)

// gramTable counts n-grams packed into uint64 keys: an open-addressing hash
// table that is reused from segment to segment without clearing (a slot is
// live only when its generation is the table's), so that counting the
// n-grams of a sentence allocates nothing. BLEU and chrF spend nearly all
// their time here.
type gramTable struct {
	// entries holds key, count and generation side by side: one cache
	// line a probe.
	entries []gramEntry
	cur     uint32
	mask    uint64
	shift   uint // 64 - log2(len(entries))
	// slots lists the live slots, for iteration.
	slots []int32
}

type gramEntry struct {
	key   uint64
	count int32
	gen   uint32
}

// reset empties the table and makes room for n distinct keys.
func (t *gramTable) reset(n int) {
	size := 64
	for size < 2*n {
		size <<= 1
	}
	if size > len(t.entries) {
		t.entries = make([]gramEntry, size)
		t.cur = 0
	}
	t.mask = uint64(len(t.entries) - 1)
	t.shift = uint(64 - bits.Len(uint(len(t.entries)-1)))
	t.cur++
	if t.cur == 0 { // wrapped: old generations could look live
		clear(t.entries)
		t.cur = 1
	}
	t.slots = t.slots[:0]
}

// slot is key's home slot: Fibonacci hashing, one multiplication, taking
// the product's top bits, which depend on every bit of the key.
func (t *gramTable) slot(key uint64) uint64 {
	return (key * 0x9e3779b97f4a7c15) >> t.shift
}

// add counts key once more.
func (t *gramTable) add(key uint64) { t.entry(key).count++ }

// raise sets key's count to at least c.
func (t *gramTable) raise(key uint64, c int32) {
	e := t.entry(key)
	e.count = max(e.count, c)
}

// entry is key's entry, made live with a count of 0 if it was not.
func (t *gramTable) entry(key uint64) *gramEntry {
	if 2*(len(t.slots)+1) > len(t.entries) {
		t.grow()
	}
	for i := t.slot(key); ; i = (i + 1) & t.mask {
		e := &t.entries[i]
		if e.gen != t.cur {
			*e = gramEntry{key, 0, t.cur}
			t.slots = append(t.slots, int32(i))
			return e
		}
		if e.key == key {
			return e
		}
	}
}

// grow doubles the table, keeping its counts: reset's estimate is only a
// hint, and a table that filled up would make a probe loop forever.
func (t *gramTable) grow() {
	old := *t
	size := 2 * max(len(old.entries), 32)
	t.entries = make([]gramEntry, size)
	t.mask = uint64(size - 1)
	t.shift = uint(64 - bits.Len(uint(size-1)))
	t.cur = 1
	t.slots = make([]int32, 0, len(old.slots)*2)
	for _, slot := range old.slots {
		e := old.entries[slot]
		i := t.slot(e.key)
		for t.entries[i].gen == t.cur {
			i = (i + 1) & t.mask
		}
		t.entries[i] = gramEntry{e.key, e.count, t.cur}
		t.slots = append(t.slots, int32(i))
	}
}

// get is key's count.
func (t *gramTable) get(key uint64) int32 {
	for i := t.slot(key); ; i = (i + 1) & t.mask {
		e := &t.entries[i]
		if e.gen != t.cur {
			return 0
		}
		if e.key == key {
			return e.count
		}
	}
}

// at is the key and count in a live slot.
func (t *gramTable) at(slot int32) (uint64, int32) {
	e := &t.entries[slot]
	return e.key, e.count
}

func hashGram(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	return k
}

// scratch is the reusable working memory of one BLEU or chrF segment.
type scratch struct {
	hyp, ref, refMax gramTable
	// runeIDs numbers the characters of a segment (chrF); asciiIDs is
	// its fast path, reset through asciiUsed.
	runeIDs   map[rune]uint32
	asciiIDs  [128]uint32
	asciiUsed []byte
	nextID    uint32
	ids       []uint32
	refIDs    []uint32
	// words numbers the words of a segment (BLEU).
	words     wordTable
	buf, buf2 []byte
	// rows are two rows of an LCS table.
	rows []int32
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{runeIDs: map[rune]uint32{}}
}}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	// A huge segment's buffers are not worth keeping.
	if cap(s.buf) > 1<<20 || cap(s.rows) > 1<<16 || len(s.hyp.entries) > 1<<16 || len(s.ref.entries) > 1<<16 ||
		len(s.refMax.entries) > 1<<16 || len(s.words.keys) > 1<<16 || len(s.runeIDs) > 1<<14 {
		return
	}
	scratchPool.Put(s)
}

// resetIDs starts a new vocabulary.
func (s *scratch) resetIDs() {
	for _, c := range s.asciiUsed {
		s.asciiIDs[c] = 0
	}
	s.asciiUsed = s.asciiUsed[:0]
	clear(s.runeIDs)
	s.words.reset()
	s.nextID = 0
}

// runeID numbers r in the current vocabulary, from 1.
func (s *scratch) runeID(r rune) uint32 {
	if r < 128 {
		if id := s.asciiIDs[r]; id != 0 {
			return id
		}
		s.nextID++
		s.asciiIDs[r] = s.nextID
		s.asciiUsed = append(s.asciiUsed, byte(r))
		return s.nextID
	}
	if id, ok := s.runeIDs[r]; ok {
		return id
	}
	s.nextID++
	s.runeIDs[r] = s.nextID
	return s.nextID
}

// wordID numbers w in the current vocabulary, from 1.
func (s *scratch) wordID(w string) uint32 {
	t := &s.words
	if 2*(t.n+1) > len(t.keys) {
		t.grow()
	}
	i := fnv(w) & t.mask
	for t.gen[i] == t.cur {
		if t.keys[i] == w {
			return t.ids[i]
		}
		i = (i + 1) & t.mask
	}
	s.nextID++
	t.gen[i], t.keys[i], t.ids[i] = t.cur, w, s.nextID
	t.n++
	return s.nextID
}

// wordTable is gramTable's counterpart for words: string keys, numbered.
type wordTable struct {
	keys []string
	ids  []uint32
	gen  []uint32
	cur  uint32
	mask uint64
	n    int
}

func (t *wordTable) reset() {
	if len(t.keys) == 0 {
		t.keys, t.ids, t.gen = make([]string, 256), make([]uint32, 256), make([]uint32, 256)
		t.mask = 255
	}
	t.cur++
	if t.cur == 0 {
		clear(t.gen)
		t.cur = 1
	}
	t.n = 0
}

// grow doubles the table, keeping its words.
func (t *wordTable) grow() {
	old := *t
	size := 2 * len(old.keys)
	t.keys, t.ids, t.gen = make([]string, size), make([]uint32, size), make([]uint32, size)
	t.mask = uint64(size - 1)
	t.cur = 1
	for i, g := range old.gen {
		if g != old.cur {
			continue
		}
		j := fnv(old.keys[i]) & t.mask
		for t.gen[j] == t.cur {
			j = (j + 1) & t.mask
		}
		t.gen[j], t.keys[j], t.ids[j] = t.cur, old.keys[i], old.ids[i]
	}
}

// fnv is FNV-1a, mixed: words are short, and this beats a map's hashing
// for them.
func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return hashGram(h)
}
