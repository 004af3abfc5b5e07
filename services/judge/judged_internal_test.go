package judge

import (
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// TestJudgedIndexForgetsWhatTheTTLPassed: the index keeps a judgment as
// long as the LLM cache would have kept its calls, not for as long as a
// busy judge keeps the index.
func TestJudgedIndexForgetsWhatTheTTLPassed(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	idx := &judgedIndex{seqs: map[[16]byte]uint64{{1}: 5, {2}: 12, {3}: 30}}
	// Reads at t0 (up to 10), t0+1h (up to 20), t0+2h (up to 40).
	idx.marks = []readMark{{t0, 11}, {t0.Add(time.Hour), 21}, {t0.Add(2 * time.Hour), 41}}
	idx.expire(t0.Add(judgedTTL))
	if len(idx.seqs) != 3 {
		t.Fatalf("within the TTL of every read: %v", idx.seqs)
	}
	idx.expire(t0.Add(judgedTTL + 90*time.Minute))
	if _, ok := idx.seqs[[16]byte{1}]; ok || len(idx.seqs) != 1 {
		t.Fatalf("a TTL and an hour and a half after the first read, want only the judgment at 30: %v", idx.seqs)
	}
	if len(idx.marks) != 1 || idx.marks[0].next != 41 {
		t.Fatalf("marks left: %v", idx.marks)
	}
}

// TestPairKeyTellsOrdersAndJudgesApart: the pair key is the judge's two
// requests in their order, under its scope: the same answers in the other
// order, or another judge's hash, make another key.
func TestPairKeyTellsOrdersAndJudgesApart(t *testing.T) {
	j := eval.Judge{Name: "j", Model: "m", Mode: "pairwise", Dimensions: eval.DefaultDimensions}
	sample := &eval.Sample{Messages: []eval.Message{{Role: "user", Content: "Q?"}}}
	a, b := &eval.Generation{Output: "a"}, &eval.Generation{Output: "b"}
	ab := [2]llm.ChatRequest{request(j, sample, a, b), request(j, sample, b, a)}
	ba := [2]llm.ChatRequest{ab[1], ab[0]}
	k := pairKey(judgeScope("h1"), ab)
	if k == pairKey(judgeScope("h1"), ba) {
		t.Error("the two orders swapped give the same key")
	}
	if k == pairKey(judgeScope("h2"), ab) {
		t.Error("another judge's hash gives the same key")
	}
	if got, ok := parsePairKey(hex.EncodeToString(k[:])); !ok || got != k {
		t.Errorf("the header does not read back: %x, %v", got, ok)
	}
}

func TestSameHash(t *testing.T) {
	for _, c := range []struct {
		id, hash string
		want     bool
	}{{"good@abc", "abc", true}, {"twin@abc", "abc", true}, {"good@xabc", "abc", false}, {"abc", "abc", false}, {"@abc", "abc", false}, {"g@abd", "abc", false}} {
		if got := sameHash(c.id, c.hash); got != c.want {
			t.Errorf("sameHash(%q, %q) = %v", c.id, c.hash, got)
		}
	}
}

// FuzzParsePairKey: a header from the bus never panics, and what it
// accepts is 32 hex digits that read back as themselves.
func FuzzParsePairKey(f *testing.F) {
	for _, s := range []string{"", "00112233445566778899aabbccddeeff", "00112233445566778899AABBCCDDEEFF", "zz112233445566778899aabbccddeeff", "0011"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		k, ok := parsePairKey(h)
		if !ok {
			return
		}
		if len(h) != 32 {
			t.Fatalf("accepted %q of length %d", h, len(h))
		}
		if got, ok := parsePairKey(hex.EncodeToString(k[:])); !ok || got != k {
			t.Fatalf("%q: %x does not read back", h, k)
		}
	})
}

// TestPurgedJudgmentIsForgotten: a judgment the index points to that is
// gone (purged with a continuous run's folded window) is a miss, and the
// key is forgotten: the pair is judged again rather than failing to look
// up.
func TestPurgedJudgmentIsForgotten(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	s := &Service{bus: b, logger: slog.Default()}
	key := [16]byte{1, 2, 3}
	jd := eval.Judgment{V: 1, Run: "r", JudgeID: "j@h", Winner: eval.WinTie,
		Rounds: []eval.Round{{Order: eval.OrderCandidateFirst}, {Order: eval.OrderBaselineFirst}}}
	if _, err := b.PublishWith(ctx, bus.JudgmentsSubject("r", "j"), "m1", jd, map[string]string{PairKeyHeader: hex.EncodeToString(key[:])}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.judgmentOf(ctx, key, "h"); err != nil || !ok {
		t.Fatalf("first lookup: found %v, error %v", ok, err)
	}
	if _, ok, err := s.judgmentOf(ctx, key, "other"); err != nil || ok {
		t.Fatalf("another judge's lookup: found %v, error %v", ok, err)
	}
	st, err := b.JS.Stream(ctx, bus.StreamJudgments)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.judgmentOf(ctx, key, "h"); err != nil || ok {
		t.Fatalf("after the purge: found %v, error %v", ok, err)
	}
	s.judged.mu.Lock()
	_, still := s.judged.seqs[key]
	s.judged.mu.Unlock()
	if still {
		t.Error("the purged judgment's key is still indexed")
	}
}

// TestFailedReadIsNotRetriedByEveryLookup: after a read of the judgments
// fails, lookups for a while are misses (the judge is asked) rather than
// reads of their own, one after another, each as slow to fail.
func TestFailedReadIsNotRetriedByEveryLookup(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	if err := b.JS.DeleteStream(ctx, bus.StreamJudgments); err != nil {
		t.Fatal(err)
	}
	s := &Service{bus: b, logger: slog.Default()}
	// The clock stands still: however long the machine takes, the next
	// lookup is within the back-off.
	t0 := time.Now()
	s.judged.now = func() time.Time { return t0 }
	if _, _, err := s.judgmentOf(ctx, [16]byte{1}, "h"); err == nil {
		t.Fatal("a read of a stream that is gone did not fail")
	}
	if _, ok, err := s.judgmentOf(ctx, [16]byte{2}, "h"); err != nil || ok {
		t.Fatalf("the next lookup: found %v, error %v; want a miss without a read", ok, err)
	}
}
