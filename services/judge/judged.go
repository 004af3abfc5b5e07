package judge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/nats-io/nats.go/jetstream"
)

// A pair judged once is not paid for again: a checkpoint whose answer is an
// earlier candidate's, a judge replayed under another name, the same run
// submitted again. The judge's calls are cached in assay_llm_cache only
// while their message is in flight (a redelivery finds them there), and
// released once it is acked for good, as infer's answers are: every key
// kept costs the NATS server about 300 B of heap for as long as it stays,
// two keys a judged pair, 660 MB at a million pairs for the cache's 7 days.
// What a later identical pair needs is in ASSAY_JUDGMENTS already: each
// judgment whose two rounds succeeded carries, in a header, the hash of its
// two requests (the pair key), and the judge finds the judgment of a pair
// key in an index of those headers, read in streaming passes over the
// judgments of the cache's TTL and kept while it is used: 16 bytes of key
// and 8 of sequence a judged pair, about 40 with the map's own (4.1 MB at
// 100k pairs), in the judge's memory, dropped once idle.

// PairKeyHeader carries a judgment's pair key: the hash of the judge's
// two requests, one per order.
const PairKeyHeader = "Assay-Judge-Pair"

// pairKey is the key of the pair of requests reqs (candidate first, then
// baseline first) made under the ledger's scope.
func pairKey(scope string, reqs [2]llm.ChatRequest) [16]byte {
	h := sha256.New()
	for _, r := range reqs {
		h.Write([]byte(llm.CacheKey(scope, r)))
		h.Write([]byte{0})
	}
	return [16]byte(h.Sum(nil))
}

// judgedIndex finds judgments by pair key. One lookup at a time reads the
// stream for the index; the others wait for its answer, and lookups the
// index answers do not wait for a read (as [storedIndex]).
type judgedIndex struct {
	reading sync.Mutex // held by the lookup reading the stream

	mu   sync.Mutex // guards what follows; never held across a read
	next uint64     // the stream sequence to read from, 0 before the first message
	read time.Time  // when the last read began (zero: never read)
	// failed is when the last read failed: lookups until judgedMaxAge
	// after it ask the judge rather than each wait for a read that may
	// fail as slowly.
	failed time.Time
	used   time.Time
	seqs   map[[16]byte]uint64
	// marks say which sequences were stored before which time, for
	// forgetting judgments older than the TTL.
	marks []readMark
	// now is the clock (nil: the time of day; tests stop it).
	now func() time.Time
}

func (idx *judgedIndex) clock() time.Time {
	if idx.now != nil {
		return idx.now()
	}
	return time.Now()
}

type readMark struct {
	at   time.Time
	next uint64
}

// judgedMaxAge is how stale the index may be before a lookup reads what
// was judged since. A pair judged within it may be paid again (a replay
// of a run judged the second before).
const judgedMaxAge = time.Second

// judgedTTL is how far back the index reads: as long as the LLM cache keeps
// a response (its default TTL).
const judgedTTL = 7 * 24 * time.Hour

// judgmentOf returns the stored judgment of key by a judge of hash, if a
// pair with the same two requests was judged successfully within the TTL.
func (s *Service) judgmentOf(ctx context.Context, key [16]byte, hash string) (*eval.Judgment, bool, error) {
	if s.bus == nil {
		return nil, false, nil // a stage without a bus (tests) judges every pair
	}
	seq, ok, err := s.judged.find(ctx, s.bus, key, time.Now())
	if err != nil || !ok {
		return nil, false, err
	}
	data, err := s.bus.GetMsg(ctx, bus.StreamJudgments, seq)
	if errors.Is(err, bus.ErrNotFound) || errors.Is(err, jetstream.ErrMsgNotFound) {
		// Purged with its run's old windows: judged again.
		s.judged.forget(key)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var jd eval.Judgment
	if err := json.Unmarshal(data, &jd); err != nil || jd.Error != "" || len(jd.Rounds) != 2 || !sameHash(jd.JudgeID, hash) ||
		!knownOrders(jd.Rounds[0].Order, jd.Rounds[1].Order) {
		// Not what a pair key is put on: ask the judge.
		return nil, false, nil
	}
	return &jd, true, nil
}

// sameHash reports whether judge id (name@hash) is of a judge of hash.
func sameHash(id, hash string) bool {
	return len(id) > len(hash)+1 && id[len(id)-len(hash)-1:] == "@"+hash
}

// find returns the sequence of the judgment of key, reading the stream
// when the index is stale.
func (idx *judgedIndex) find(ctx context.Context, b *bus.Bus, key [16]byte, now time.Time) (uint64, bool, error) {
	look := func() (uint64, bool, bool) {
		idx.mu.Lock()
		defer idx.mu.Unlock()
		idx.used = now
		seq, ok := idx.seqs[key]
		fresh := !idx.read.IsZero() && idx.clock().Sub(idx.read) < judgedMaxAge || idx.clock().Sub(idx.failed) < judgedMaxAge
		return seq, ok, fresh
	}
	if seq, ok, fresh := look(); ok || fresh {
		return seq, ok, nil
	}
	idx.reading.Lock()
	defer idx.reading.Unlock()
	if seq, ok, fresh := look(); ok || fresh {
		return seq, ok, nil
	}
	idx.mu.Lock()
	next, last := idx.next, idx.read
	idx.mu.Unlock()
	start := idx.clock()
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: bus.StreamSubjects[bus.StreamJudgments], HeadersOnly: true}
	switch {
	case next > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, next
	case last.IsZero():
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, ptr(start.Add(-judgedTTL))
	default:
		// Nothing was judged at the last read: from a little before it.
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, ptr(last.Add(-judgedMaxAge))
	}
	found := map[[16]byte]uint64{}
	err := b.ReadStored(ctx, bus.StreamJudgments, cfg, func(m jetstream.Msg, seq uint64) error {
		next = seq + 1
		if k, ok := parsePairKey(m.Headers().Get(PairKeyHeader)); ok {
			found[k] = seq
		}
		return nil
	}, nil)
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if err != nil {
		idx.failed = idx.clock()
		return 0, false, err
	}
	if idx.seqs == nil {
		idx.seqs = map[[16]byte]uint64{}
	}
	for k, seq := range found {
		idx.seqs[k] = seq
	}
	idx.next, idx.read = next, start
	// A mark a minute: what was read since the last one is forgotten with
	// the next (a minute late at most), and the marks of a week of reads
	// once a second stay few.
	if len(idx.marks) == 0 || start.Sub(idx.marks[len(idx.marks)-1].at) >= time.Minute {
		idx.marks = append(idx.marks, readMark{at: start, next: next})
		idx.expire(start)
	}
	seq, ok := idx.seqs[key]
	return seq, ok, nil
}

// expire forgets the judgments stored more than the TTL before now (and
// at most twice the TTL: what the first read found is forgotten a TTL
// after it).
func (idx *judgedIndex) expire(now time.Time) {
	cut := uint64(0)
	i := 0
	for i < len(idx.marks) && now.Sub(idx.marks[i].at) > judgedTTL {
		cut = idx.marks[i].next
		i++
	}
	if i == 0 {
		return
	}
	idx.marks = idx.marks[i:]
	for k, seq := range idx.seqs {
		if seq < cut {
			delete(idx.seqs, k)
		}
	}
}

// forget drops key, whose judgment is gone.
func (idx *judgedIndex) forget(key [16]byte) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	delete(idx.seqs, key)
}

// dropIfIdle empties the index when no lookup used it for storedIdle.
func (idx *judgedIndex) dropIfIdle(now time.Time) {
	if !idx.reading.TryLock() {
		return // a lookup is reading: in use
	}
	defer idx.reading.Unlock()
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if now.Sub(idx.used) > storedIdle && idx.seqs != nil {
		idx.seqs, idx.marks, idx.next, idx.read = nil, nil, 0, time.Time{}
	}
}

func parsePairKey(h string) ([16]byte, bool) {
	var k [16]byte
	if len(h) != 2*len(k) {
		return k, false
	}
	if _, err := hex.Decode(k[:], []byte(h)); err != nil {
		return k, false
	}
	return k, true
}

func ptr[T any](v T) *T { return &v }
