package judge

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/nats-io/nats.go/jetstream"
)

// What a released key held is found again in the streams. A generation's
// record: a variant added by a checkpoint, or a generation asked again by
// assay retry, needs its partner's generation long after that partner's
// pairs were all claimed and its record released. A judge call: a judge
// replayed under another name finds the verdicts of its twin (same model,
// prompt and settings) in ASSAY_JUDGMENTS rather than in the cache. Keys
// are released so that assay_pairs holds the samples in flight rather
// than every sample ever judged; what a rare late arrival needs is
// rebuilt instead, in one streaming pass over a subject into an index kept
// while it is used and dropped after.

// storedIdle is how long an index of stored messages outlives its last
// use.
const storedIdle = time.Minute

// storedMaxAge is how stale an index may be before a lookup that finds
// its key reads what was stored since: a generation retried since would
// otherwise be judged with its partner's older attempt.
const storedMaxAge = time.Second

// storedIndex indexes the latest message of each key on one subject.
type storedIndex struct {
	mu     sync.Mutex
	next   uint64 // the stream sequence to read from
	read   time.Time
	used   time.Time
	latest map[string]genRec
}

// genRec is where a generation is and its retry attempt (or where a
// judgment is).
type genRec struct {
	seq   uint64
	retry int
}

// storedKey reads a message's key in its index, and its retry attempt.
type storedKey func(data []byte) (key string, retry int, ok bool)

// stored returns where the latest message with key on subject of stream
// is, reading the stream when the index lacks it or is stale.
func (s *Service) stored(ctx context.Context, stream, subject, key string, keyOf storedKey) (genRec, bool, error) {
	v, _ := s.storedIdx.LoadOrStore(subject, &storedIndex{next: 1, latest: map[string]genRec{}})
	idx := v.(*storedIndex)
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.used = time.Now()
	r, ok := idx.latest[key]
	if ok && time.Since(idx.read) < storedMaxAge {
		return r, true, nil
	}
	idx.read = time.Now()
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: idx.next}
	err := s.bus.ReadStored(ctx, stream, cfg, func(m jetstream.Msg, seq uint64) error {
		idx.next = seq + 1
		data, err := s.bus.Payload(ctx, m.Data(), m.Headers())
		if err != nil {
			return err
		}
		if k, retry, ok := keyOf(data); ok {
			idx.latest[k] = genRec{seq: seq, retry: retry}
		}
		return nil
	}, nil)
	if err != nil {
		return genRec{}, false, err
	}
	r, ok = idx.latest[key]
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

// storedJudgment returns where judge's latest judgment of candidate's
// pair on (suite, sample), with the generations' retry attempts cr and
// br, is.
func (s *Service) storedJudgment(ctx context.Context, run, judge, candidate, suite, sample string, cr, br int) (uint64, bool, error) {
	key := func(cand, suite, sample string, cr, br int) string {
		return cand + "\x00" + suite + "\x00" + sample + "\x00" + strconv.Itoa(cr) + "\x00" + strconv.Itoa(br)
	}
	r, ok, err := s.stored(ctx, bus.StreamJudgments, bus.JudgmentsSubject(run, judge), key(candidate, suite, sample, cr, br), func(data []byte) (string, int, bool) {
		var jd struct {
			Sample struct {
				Suite string `json:"suite"`
				ID    string `json:"id"`
			} `json:"sample"`
			Candidate      string `json:"candidate"`
			CandidateRetry int    `json:"candidate_retry"`
			BaselineRetry  int    `json:"baseline_retry"`
		}
		if json.Unmarshal(data, &jd) != nil {
			return "", 0, false
		}
		return key(jd.Candidate, jd.Sample.Suite, jd.Sample.ID, jd.CandidateRetry, jd.BaselineRetry), 0, true
	})
	return r.seq, ok, err
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
