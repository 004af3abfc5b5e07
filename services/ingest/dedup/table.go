package dedup

// table is an open-addressing hash table (linear probing) from candidate
// keys to their buckets. A Go map would take a lookup to find a key's
// bucket and another to store it; here one probe finds the slot for both,
// which matters when a million texts have ten keys each and every probe
// is a cache miss.
type table struct {
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
	if len(t.slots) == 0 {
		t.grow(1024)
	}
	if h == 0 {
		h = 1
	}
	mask := len(t.slots) - 1
	for i := int(h>>32^h) & mask; ; i = (i + 1) & mask {
		if k := t.slots[i].key; k == h || k == 0 {
			return i
		}
	}
}

// reserve makes room for n more keys, keeping the table at most 3/4
// full; it reports whether the slots moved.
func (t *table) reserve(n int) bool {
	if size := len(t.slots); size > 0 && (t.used+n)*4 <= size*3 {
		return false
	}
	size := max(1024, len(t.slots))
	for (t.used+n)*4 > size*3 {
		size *= 2
	}
	t.grow(size)
	return true
}

func (t *table) grow(size int) {
	old := t.slots
	t.slots = make([]slot, size)
	for _, s := range old {
		if s.key != 0 {
			t.slots[t.find(s.key)] = s
		}
	}
}

// set stores b as key h's bucket in slot i (from find).
func (t *table) set(i int, h uint64, b bucket) {
	if h == 0 {
		h = 1
	}
	if t.slots[i].key == 0 {
		t.used++
	}
	t.slots[i] = slot{h, b}
}

// get returns key h's bucket: n is 0 for a key not stored.
func (t *table) get(i int) bucket { return t.slots[i].bucket }
