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

// slot is a key and its bucket; key 0 is an empty slot (a key that hashes
// to 0 is stored as 1).
type slot struct {
	key uint64
	bucket
}

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
	mask := len(s.slots) - 1
	for i := int(h>>32^h) & mask; ; i = (i + 1) & mask {
		if k := s.slots[i].key; k == h || k == 0 {
			return i
		}
	}
}

// reserve makes room for the keys ks, keeping each shard at most 3/4
// full; it reports whether any slots moved.
func (t *table) reserve(ks []key) bool {
	moved := false
	for _, k := range ks {
		h := max(k.h, 1)
		s := &t.shards[h>>(64-shardBits)]
		// Every key of ks counted in each shard: a few slots early at
		// most, and one pass.
		if size := len(s.slots); size > 0 && (s.used+len(ks))*4 <= size*3 {
			continue
		}
		size := max(16, len(s.slots))
		for (s.used+len(ks))*4 > size*3 {
			size *= 2
		}
		s.grow(size)
		moved = true
	}
	return moved
}

func (s *shard) grow(size int) {
	old := s.slots
	s.slots = make([]slot, size)
	for _, sl := range old {
		if sl.key != 0 {
			s.slots[s.find(sl.key)] = sl
		}
	}
}

// set stores b as key h's bucket in slot i (from find).
func (t *table) set(i int, h uint64, b bucket) {
	if h == 0 {
		h = 1
	}
	s := &t.shards[i>>slotBits]
	sl := &s.slots[i&(1<<slotBits-1)]
	if sl.key == 0 {
		s.used++
	}
	*sl = slot{h, b}
}

// get returns slot i's bucket: n is 0 for a key not stored.
func (t *table) get(i int) bucket {
	return t.shards[i>>slotBits].slots[i&(1<<slotBits-1)].bucket
}
