package dataset

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"
)

// TestKeptFindsEverySample: past many growths of its tables, kept finds
// every sample it kept by text and by id, with its id and line, and none
// it did not keep.
func TestKeptFindsEverySample(t *testing.T) {
	const n = 20_000
	key := func(i int) [16]byte { h := sha256.Sum256([]byte("text " + strconv.Itoa(i))); return [16]byte(h[:16]) }
	k := newKept()
	for i := range n {
		k.add(key(i), "id-"+strconv.Itoa(i), i+1)
	}
	for i := range n {
		if id, ok := k.text(key(i)); !ok || id != "id-"+strconv.Itoa(i) {
			t.Fatalf("text %d: %q, %v", i, id, ok)
		}
		if line, ok := k.id("id-" + strconv.Itoa(i)); !ok || line != i+1 {
			t.Fatalf("id %d: line %d, %v", i, line, ok)
		}
	}
	for i := n; i < 2*n; i++ {
		if id, ok := k.text(key(i)); ok {
			t.Fatalf("text %d not kept, found as %q", i, id)
		}
		if line, ok := k.id("id-" + strconv.Itoa(i)); ok {
			t.Fatalf("id %d not kept, found on line %d", i, line)
		}
	}
}

// TestIDsHoldEveryID: each id comes back as it went in, the empty and the
// longest allowed among them, and Is tells an id from its prefixes and
// extensions.
func TestIDsHoldEveryID(t *testing.T) {
	long := strings.Repeat("é", 128)
	want := []string{"a", "", "ab", long, "b", "", "中文 id"}
	var l IDs
	for _, id := range want {
		l.Append(id)
	}
	if l.Len() != len(want) {
		t.Fatalf("%d ids, want %d", l.Len(), len(want))
	}
	for i, id := range want {
		if got := l.At(i); got != id {
			t.Errorf("id %d is %q, want %q", i, got, id)
		}
		if !l.Is(i, id) || l.Is(i, id+"x") || (id != "" && l.Is(i, id[:len(id)-1])) {
			t.Errorf("Is(%d) does not tell %q from its neighbours", i, id)
		}
	}
}
