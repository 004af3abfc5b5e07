package dedup

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
// it doubled).
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

// slot is a key and its bucket's head (see [Index.bucket]); key 0 is an
// empty slot (a key that hashes to 0 is stored as 1). The key is two
// halves so that a slot is 12 bytes, not 16: a million texts have ten
// million keys.
type slot struct {
	lo, hi uint32
	head   int32
}

func (s slot) key() uint64 { return uint64(s.hi)<<32 | uint64(s.lo) }

// find returns the slot of key h: its own, or the empty one where it
// belongs.
func (t *table) find(h uint64) int {
	if h == 0 {
		h = 1
	}
	n := int(h >> (64 - shardBits))
	s := &t.shards[n]
	if len(s.slots) == 0 {
		s.grow(16)
	}
	return n<<slotBits | s.find(h)
}

func (s *shard) find(h uint64) int {
	// The home slot is the hash scaled to the shard's size, which need
	// not be a power of two (see reserve).
	i := int(uint64(uint32(h>>32^h)) * uint64(len(s.slots)) >> 32)
	for {
		if k := s.slots[i].key(); k == h || k == 0 {
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
		h := max(k.h, 1)
		s := &t.shards[h>>(64-shardBits)]
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
	s.slots = make([]slot, size)
	for _, sl := range old {
		if k := sl.key(); k != 0 {
			s.slots[s.find(k)] = sl
		}
	}
}

// set stores head as key h's in slot i (from find).
func (t *table) set(i int, h uint64, head int32) {
	if h == 0 {
		h = 1
	}
	s := &t.shards[i>>slotBits]
	sl := &s.slots[i&(1<<slotBits-1)]
	if sl.key() == 0 {
		s.used++
	}
	*sl = slot{uint32(h), uint32(h >> 32), head}
}

// get returns the head stored in slot i, and whether a key is there.
func (t *table) get(i int) (head int32, ok bool) {
	sl := t.shards[i>>slotBits].slots[i&(1<<slotBits-1)]
	return sl.head, sl.key() != 0
}
