package judge

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/nats-io/nats.go/jetstream"
)

// A generation whose record was released is found again in ASSAY_GENS:
// a variant added by a checkpoint, or a generation asked again by assay
// retry, needs its partner's generation long after that partner's pairs
// were all claimed and its record released. Records are released so that
// assay_pairs holds the samples in flight rather than every sample ever
// judged; what a rare late arrival needs is rebuilt instead, in one
// streaming pass over the variant's generations into an index kept while
// it is used and dropped after.

// storedIdle is how long an index of stored generations outlives its last
// use.
const storedIdle = time.Minute

// storedMaxAge is how stale an index may be before a lookup that finds
// its generation reads what was stored since: a generation retried since
// would otherwise be judged with its partner's older attempt.
const storedMaxAge = time.Second

// storedGens indexes the latest generation of each sample of one variant
// of a run, as stored in ASSAY_GENS.
type storedGens struct {
	mu     sync.Mutex
	next   uint64 // the stream sequence to read from
	read   time.Time
	used   time.Time
	latest map[sampleKey]genRec
}

type sampleKey struct{ suite, id string }

// genRec is where a generation is and its retry attempt.
type genRec struct {
	seq   uint64
	retry int
}

// stored returns where the latest stored generation of variant for
// (suite, sample) is, reading ASSAY_GENS when the index lacks it.
func (s *Service) stored(ctx context.Context, run, variant, suite, sample string) (genRec, bool, error) {
	subject := bus.GensSubject(run, variant)
	v, _ := s.storedIdx.LoadOrStore(subject, &storedGens{next: 1, latest: map[sampleKey]genRec{}})
	idx := v.(*storedGens)
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.used = time.Now()
	k := sampleKey{suite, sample}
	r, ok := idx.latest[k]
	if ok && time.Since(idx.read) < storedMaxAge {
		return r, true, nil
	}
	if err := s.catchUp(ctx, subject, idx); err != nil {
		return genRec{}, false, err
	}
	r, ok = idx.latest[k]
	return r, ok, nil
}

// catchUp reads what was stored on subject since the index last read.
func (s *Service) catchUp(ctx context.Context, subject string, idx *storedGens) error {
	idx.read = time.Now()
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: idx.next}
	return s.bus.ReadStored(ctx, bus.StreamGens, cfg, func(m jetstream.Msg, seq uint64) error {
		idx.next = seq + 1
		data, err := s.bus.Payload(ctx, m.Data(), m.Headers())
		if err != nil {
			return err
		}
		var g struct {
			Sample struct {
				Suite string `json:"suite"`
				ID    string `json:"id"`
			} `json:"sample"`
			Retry int `json:"retry"`
		}
		if json.Unmarshal(data, &g) == nil {
			idx.latest[sampleKey{g.Sample.Suite, g.Sample.ID}] = genRec{seq: seq, retry: g.Retry}
		}
		return nil
	}, nil)
}

// dropIdleStored forgets the indexes not used for storedIdle, until ctx
// ends.
func (s *Service) dropIdleStored(ctx context.Context) {
	t := time.NewTicker(storedIdle / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.storedIdx.Range(func(k, v any) bool {
			idx := v.(*storedGens)
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
