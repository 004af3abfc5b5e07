package judge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// The join of a pair's two generations, in the assay_pairs bucket:
//
//	g.<run>.<hash(suite, sample, variant)>        -> stream sequence of the generation [|its retry attempt]
//	c.<run>.<judge>.<hash(suite, sample, cand)>   -> variant whose arrival claimed the pair
//	c.<run>.<judge>.<hash(suite, sample, cand, retry attempts)> -> the same, for a pair with a retried generation
//
// An arriving generation first records its sequence, then looks up its
// partner's. Reads are linearizable (the bucket has no direct gets), so of
// two generations arriving at once at least one sees the other; whichever
// sees its partner tries to create the claim, which succeeds once. A claim
// stays with the message that made it: if that message is redelivered (its
// handler died before acking), it judges the pair again, paying nothing
// because judge calls are cached and publishing nothing twice because the
// judgment's message id is the same. A variant added later (a checkpoint)
// finds the baseline's generation by its record. A generation asked again
// by assay retry replaces its record, and a pair it is part of is claimed
// anew under both generations' attempts: it is judged again, once.
//
// A claim is released (its subject removed, without a marker) once the
// judge's consumer has acked both generations for good: neither message
// comes back, and a retried generation or another judge claims under
// another key. Generation records stay, as a variant added later or a
// retried generation needs its partner's.

func keyHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func genKey(run, suite, sample, variant string) string {
	return "g." + run + "." + keyHash(suite, sample, variant)
}

func claimKey(run, judge, suite, sample, cand string, candRetry, baseRetry int) string {
	if candRetry == 0 && baseRetry == 0 {
		return "c." + run + "." + judge + "." + keyHash(suite, sample, cand)
	}
	return "c." + run + "." + judge + "." + keyHash(suite, sample, cand, "retry", strconv.Itoa(candRetry), strconv.Itoa(baseRetry))
}

// genRecord is what a generation's record holds: its sequence, and its
// retry attempt when it has one.
func genRecord(seq uint64, retry int) []byte {
	rec := strconv.FormatUint(seq, 10)
	if retry != 0 {
		rec += "|" + strconv.Itoa(retry)
	}
	return []byte(rec)
}

// arrive records generation g (at seq) and returns the pairs it completes
// and has claimed.
func (s *Service) arrive(ctx context.Context, spec *eval.RunSpec, j eval.Judge, g *eval.Generation, seq uint64) ([]pair, error) {
	kv := s.bus.Pairs
	if _, err := kv.Put(ctx, genKey(spec.Run, g.Sample.Suite, g.Sample.ID, g.Variant), genRecord(seq, g.Retry)); err != nil {
		return nil, fmt.Errorf("recording generation: %w", err)
	}
	var cands []string
	switch {
	case g.Variant == spec.Baseline:
		cands = spec.Candidates()
	default:
		if _, ok := spec.Variant(g.Variant); !ok {
			return nil, nil
		}
		cands = []string{g.Variant}
	}
	var out []pair
	for _, c := range cands {
		p := pair{candidate: c, sample: g.Sample}
		partner := spec.Baseline
		if g.Variant == spec.Baseline {
			partner = c
		}
		pseq, pretry, ok, err := s.lookup(ctx, genKey(spec.Run, g.Sample.Suite, g.Sample.ID, partner))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // the partner will complete the pair when it arrives
		}
		candRetry, baseRetry := g.Retry, pretry
		if g.Variant == spec.Baseline {
			p.baselineSeq, p.candSeq = seq, pseq
			candRetry, baseRetry = pretry, g.Retry
		} else {
			p.baselineSeq, p.candSeq = pseq, seq
		}
		key := claimKey(spec.Run, j.Name, g.Sample.Suite, g.Sample.ID, c, candRetry, baseRetry)
		mine, rev, err := s.claim(ctx, key, g.Variant)
		if err != nil {
			return nil, err
		}
		if mine {
			out = append(out, p)
			// Once both generations are acked, neither comes back to
			// claim the pair: the claim is released.
			bus.ReleaseAfterAck(ctx, bus.KVEntry(bus.BucketPairs, key, rev), max(seq, pseq))
		}
	}
	return out, nil
}

// lookup reads a generation's record: its sequence and retry attempt.
func (s *Service) lookup(ctx context.Context, key string) (seq uint64, retry int, ok bool, err error) {
	e, err := s.bus.Pairs.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("looking up generation: %w", err)
	}
	if seq, retry, err = parseGenRecord(string(e.Value())); err != nil {
		return 0, 0, false, fmt.Errorf("generation record %s is corrupt: %w", key, err)
	}
	return seq, retry, true, nil
}

// parseGenRecord reads what [genRecord] wrote.
func parseGenRecord(rec string) (seq uint64, retry int, err error) {
	s, attempt, retried := strings.Cut(rec, "|")
	if seq, err = strconv.ParseUint(s, 10, 64); err != nil {
		return 0, 0, err
	}
	if retried {
		if retry, err = strconv.Atoi(attempt); err != nil || retry < 0 {
			return 0, 0, fmt.Errorf("retry attempt %q is not a number", attempt)
		}
	}
	return seq, retry, nil
}

// claim creates the pair's claim for variant, or reports whether the
// existing claim is variant's; rev is the claim's revision.
func (s *Service) claim(ctx context.Context, key, variant string) (mine bool, rev uint64, err error) {
	rev, err = s.bus.Pairs.Create(ctx, key, []byte(variant))
	if err == nil {
		return true, rev, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, 0, fmt.Errorf("claiming pair: %w", err)
	}
	e, err := s.bus.Pairs.Get(ctx, key)
	if err != nil {
		return false, 0, fmt.Errorf("reading pair claim: %w", err)
	}
	return string(e.Value()) == variant, e.Revision(), nil
}
