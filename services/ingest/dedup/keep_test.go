package dedup

import (
	"strings"
	"testing"
	"time"
)

// TestKeepStoresKeysThatProbedToOneSlot: two keys of one text, both new
// to the table, may have probed to the same empty slot when the text's
// keys were looked up; keeping the text stores both, each in a slot of
// its own, rather than the second taking the first's.
func TestKeepStoresKeysThatProbedToOneSlot(t *testing.T) {
	x := NewIndex(DefaultMinSimilarity)
	x.cur.parse("a question of a few words")
	h1 := uint64(12345)
	slot := x.buckets.find(h1)
	h2 := h1 + 1
	for x.buckets.find(h2) != slot {
		h2++
	}
	x.keep(x.cur.toks, 0, 1, []key{{h: h1, slot: slot}, {h: h2, slot: slot}})
	s1, s2 := x.buckets.find(h1), x.buckets.find(h2)
	if s1 == s2 {
		t.Fatalf("keys %d and %d share slot %d", h1, h2, s1)
	}
	for _, s := range []int{s1, s2} {
		if _, ok := x.buckets.get(s); !ok {
			t.Errorf("slot %d of a kept key is empty", s)
		}
	}
	if x.bucket(s1).n != 1 || x.bucket(s2).n != 1 {
		t.Errorf("buckets count %d and %d texts, want 1 each", x.bucket(s1).n, x.bucket(s2).n)
	}
}

// TestLongBracketRunsAreLinear: a token of a great many closing or
// opening brackets is read in one pass; reading which brackets it holds
// once per mark taken made 256 KB of ")" take most of a second, and the
// 4 MB here minutes.
func TestLongBracketRunsAreLinear(t *testing.T) {
	for _, s := range []string{"a=" + strings.Repeat(")", 4<<20), strings.Repeat("(", 4<<20) + "=a"} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			NewIndex(DefaultMinSimilarity).Add(s)
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("a text of 4 MB of brackets is not read within a minute")
		}
	}
}
