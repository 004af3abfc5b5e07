package dedup

import "github.com/assay-eval/assay/pkg/offheap"

// table is an open-addressing hash table (linear probing) from candidate
// keys to their buckets. A Go map would take a lookup to find a key's
// bucket and another to store it; here one probe finds the slot for both,
// which matters when a million texts have ten keys each and every probe
// is a cache miss.
//
// The table is [tableShards] tables, chosen by a key's top bits, each
// growing on its own: growing copies a shard, not the whole table, so
// the old and new slots live together for a moment only a shard's worth
// (a single table of a million texts' keys, 256 MB, held 128 MB more while
// it doubled). The slots are mapped outside the Go heap (package
// offheap): at a million texts they are about 130 MB, which the collector
// would otherwise let the process hold about twice over; [table.free]
// releases them.
type table struct {
	shards [tableShards]shard
}

const (
	tableShards = 64
	shardBits   = 6  // log2(tableShards)
	slotBits    = 32 // a slot number is shard<<slotBits | index in the shard
)

type shard struct {
	slots []slot
	used  int
}

// slot is a key's tag and its bucket's head (see [Index.bucket]); tag 0
// is an empty slot. A slot is 8 bytes, not 12 with the whole key: a
// million texts have ten million keys. The tag is the key's low 32 bits
// and its shard the top 6, so two keys are told apart by 38 bits: among
// ten million keys about 180 pairs share a slot. Two keys that do share
// one bucket. The comparison, not the key, decides whether a text is a
// near-duplicate, so no distinct question is dropped for it; but the
// shared bucket counts both keys' texts, so a rare key may look common
// (more than [maxBucket]) and not be read, or fill its postings with the
// other key's texts: rarely, a copy is kept or another twin named. The
// million-prompt benchmark drops the same 92,794 copies with whole keys
// and with tags.
type slot struct {
	tag  uint32
	head int32
}

// tagOf is the tag of key h: its low 32 bits, and 1 for 0 (an empty
// slot's).
func tagOf(h uint64) uint32 { return max(uint32(h), 1) }

// find returns the slot of key h: its own, or the empty one where it
// belongs.
func (t *table) find(h uint64) int {
	n := int(h >> (64 - shardBits))
	s := &t.shards[n]
	if len(s.slots) == 0 {
		s.grow(16)
	}
	return n<<slotBits | s.find(tagOf(h))
}

func (s *shard) find(tag uint32) int {
	// The home slot is the tag scaled to the shard's size, which need
	// not be a power of two (see reserve).
	i := int(uint64(tag) * uint64(len(s.slots)) >> 32)
	for {
		if k := s.slots[i].tag; k == tag || k == 0 {
			return i
		}
		if i++; i == len(s.slots) {
			i = 0
		}
	}
}

// reserve makes room for the keys ks, keeping each shard at most 3/4
// full.
func (t *table) reserve(ks []key) {
	for _, k := range ks {
		s := &t.shards[k.h>>(64-shardBits)]
		// Every key of ks counted in each shard: a few slots early at
		// most, and one pass.
		if size := len(s.slots); size > 0 && (s.used+len(ks))*4 <= size*3 {
			continue
		}
		// Growing by half, not double, keeps a shard between 1/2 and
		// 3/4 full rather than between 3/8 and 3/4.
		size := max(16, len(s.slots))
		for (s.used+len(ks))*4 > size*3 {
			size += size / 2
		}
		s.grow(size)
	}
}

func (s *shard) grow(size int) {
	old := s.slots
	s.slots = offheap.Make[slot](size)
	for _, sl := range old {
		if sl.tag != 0 {
			s.slots[s.find(sl.tag)] = sl
		}
	}
	offheap.Free(old)
}

// free releases the table's slots, leaving it empty.
func (t *table) free() {
	for i := range t.shards {
		offheap.Free(t.shards[i].slots)
		t.shards[i] = shard{}
	}
}

// set stores head as key h's in slot i (from find).
func (t *table) set(i int, h uint64, head int32) {
	s := &t.shards[i>>slotBits]
	sl := &s.slots[i&(1<<slotBits-1)]
	if sl.tag == 0 {
		s.used++
	}
	*sl = slot{tagOf(h), head}
}

// has reports whether a key is in slot i.
func (t *table) has(i int) bool {
	_, ok := t.get(i)
	return ok
}

// get returns the head stored in slot i, and whether a key is there.
func (t *table) get(i int) (head int32, ok bool) {
	sl := t.shards[i>>slotBits].slots[i&(1<<slotBits-1)]
	return sl.head, sl.tag != 0
}
