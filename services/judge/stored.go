package judge

import (
	"context"
	"encoding/json"
	"maps"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/nats-io/nats.go/jetstream"
)

// What a released record held is found again in ASSAY_GENS: a variant
// added by a checkpoint, or a generation asked again by assay retry, needs
// its partner's generation long after that partner's pairs were all
// claimed and its record released. Records are released so that
// assay_pairs holds the samples in flight rather than every sample ever
// judged; what a rare late arrival needs is rebuilt instead, in one
// streaming pass over a subject into an index kept while it is used and
// dropped after.

// storedIdle is how long an index of stored messages outlives its last
// use.
const storedIdle = time.Minute

// storedMaxAge is how stale an index may be before a lookup reads what
// was stored since: a generation retried since would otherwise be judged
// with its partner's older attempt. A key missing from an index this
// fresh is missing: a generation whose record was released was stored
// long before (a record is released at least the release grace after its
// generation was acked), so lookups that miss within it cost no read.
const storedMaxAge = time.Second

// storedIndex indexes the latest message of each key on one subject.
// One lookup at a time reads the stream for an index; the others wait
// for its answer, and lookups the index answers do not wait for a read.
type storedIndex struct {
	reading sync.Mutex // held by the lookup reading the stream

	mu     sync.Mutex // guards what follows; never held across a read
	next   uint64     // the stream sequence to read from
	read   time.Time  // when the last read began
	used   time.Time
	latest map[string]genRec
}

// genRec is where a generation is and its retry attempt.
type genRec struct {
	seq   uint64
	retry int
}

// storedKey reads a message's key in its index, and its retry attempt.
type storedKey func(data []byte) (key string, retry int, ok bool)

// find looks key up; fresh reports whether the index was read recently
// enough for its answer, found or not, to stand.
func (idx *storedIndex) find(key string) (r genRec, ok, fresh bool) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.used = time.Now()
	r, ok = idx.latest[key]
	return r, ok, time.Since(idx.read) < storedMaxAge
}

// stored returns where the latest message with key on subject of stream
// is, reading the stream when the index is stale.
func (s *Service) stored(ctx context.Context, stream, subject, key string, keyOf storedKey) (genRec, bool, error) {
	v, _ := s.storedIdx.LoadOrStore(subject, &storedIndex{next: 1, latest: map[string]genRec{}})
	idx := v.(*storedIndex)
	if r, ok, fresh := idx.find(key); fresh {
		return r, ok, nil
	}
	idx.reading.Lock()
	defer idx.reading.Unlock()
	// The read this lookup waited for may answer it.
	if r, ok, fresh := idx.find(key); fresh {
		return r, ok, nil
	}
	idx.mu.Lock()
	next := idx.next
	idx.mu.Unlock()
	start := time.Now()
	found := map[string]genRec{}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: next}
	err := s.bus.ReadStored(ctx, stream, cfg, func(m jetstream.Msg, seq uint64) error {
		next = seq + 1
		data, err := s.bus.Payload(ctx, m.Data(), m.Headers())
		if err != nil {
			return err
		}
		if k, retry, ok := keyOf(data); ok {
			found[k] = genRec{seq: seq, retry: retry}
		}
		return nil
	}, nil)
	if err != nil {
		return genRec{}, false, err
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	maps.Copy(idx.latest, found)
	idx.next, idx.read = next, start
	r, ok := idx.latest[key]
	return r, ok, nil
}

// storedGen returns where the latest stored generation of variant for
// (suite, sample) is.
func (s *Service) storedGen(ctx context.Context, run, variant, suite, sample string) (genRec, bool, error) {
	return s.stored(ctx, bus.StreamGens, bus.GensSubject(run, variant), suite+"\x00"+sample, func(data []byte) (string, int, bool) {
		var g struct {
			Sample struct {
				Suite string `json:"suite"`
				ID    string `json:"id"`
			} `json:"sample"`
			Retry int `json:"retry"`
		}
		if json.Unmarshal(data, &g) != nil {
			return "", 0, false
		}
		return g.Sample.Suite + "\x00" + g.Sample.ID, g.Retry, true
	})
}

// dropIdleStored forgets the indexes not used for storedIdle (those of
// stored generations, and of judged pairs), until ctx ends.
func (s *Service) dropIdleStored(ctx context.Context) {
	t := time.NewTicker(storedIdle / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.judged.dropIfIdle(time.Now())
		s.storedIdx.Range(func(k, v any) bool {
			idx := v.(*storedIndex)
			idx.mu.Lock()
			idle := time.Since(idx.used) > storedIdle
			idx.mu.Unlock()
			if idle {
				s.storedIdx.CompareAndDelete(k, v)
			}
			return true
		})
	}
}
