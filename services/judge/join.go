package judge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// The join of a pair's two generations, in the assay_pairs bucket, one
// group of keys per judge and sample:
//
//	s.<run>.<judge>.<hash(suite, sample)>.g.<hash(variant)> -> stream sequence of the generation [|its retry attempt]
//	s.<run>.<judge>.<hash(suite, sample)>.c.<hash(cand)>    -> variant whose arrival claimed the pair
//	s.<run>.<judge>.<hash(suite, sample)>.c.<hash(cand, retry attempts)> -> the same, for a pair with a retried generation
//	s.<run>.<judge>.<hash(suite, sample)>.c.<hash(a, "vs", b[, retry attempts])> -> the same, for a pair [a, b] of the compare list
//
// A generation's pairs are those of [eval.RunSpec.PairsOf]: the
// baseline's with every candidate, a candidate's with the baseline and
// with its partners in the compare list; they are joined alike.
//
// An arriving generation first records its sequence, then looks up its
// partners'. Reads are linearizable (the bucket has no direct gets), so of
// two generations arriving at once at least one sees the other; whichever
// sees its partner tries to create the claim, which succeeds once. A claim
// stays with the message that made it: if that message is redelivered (its
// handler died before acking), it judges the pair again, paying nothing
// because judge calls are cached and publishing nothing twice because the
// judgment's message id is the same. A generation asked again by assay
// retry replaces its record, and a pair it is part of is claimed anew
// under both generations' attempts: it is judged again, once. An older
// attempt handled after it (the judge lagging, or its message
// redelivered) leaves the newer attempt's record (see
// [Service.recordGen]): it claims the pairs of its own attempt with the
// partners already recorded, whose judgments the newer attempt's
// supersede, and a partner arriving later pairs with the newest attempt.
//
// The group lives while its sample is in flight. The arrival that finds
// every variant of the run recorded (the last of them, or one at the same
// time) releases the whole group — one purge, no marker left — once the
// judge's consumer has acked all those generations for good: none of
// them comes back, every pair is claimed and judged. What arrives later —
// a variant added by a checkpoint, a generation asked again by assay
// retry — finds a released partner in ASSAY_GENS instead (stored.go), and
// releases its claims once both generations of each pair are acked, and
// its record once it found every partner. A key never released — a
// variant dead-lettered, a generation stored again after its sample's
// release, a judge stopped while it waited for acks — expires with the
// bucket's age limit ([bus.DefaultPairsTTL], 7 days after its last
// write).

func keyHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// sampleKeys is the prefix of the keys of judge's join of a sample.
func sampleKeys(run, judge, suite, sample string) string {
	return "s." + run + "." + judge + "." + keyHash(suite, sample)
}

func genKey(run, judge, suite, sample, variant string) string {
	return sampleKeys(run, judge, suite, sample) + ".g." + keyHash(variant)
}

// claimKey is the key of the claim of pair p (baseline is the run's) with
// the given retry attempts of its generations. A pair with the baseline
// keeps the key it had before compare pairs were judged.
func claimKey(run, judge, suite, sample string, p eval.Pair, baseline string, candRetry, baseRetry int) string {
	parts := []string{p.A}
	if p.B != baseline {
		parts = append(parts, "vs", p.B)
	}
	if candRetry != 0 || baseRetry != 0 {
		parts = append(parts, "retry", strconv.Itoa(candRetry), strconv.Itoa(baseRetry))
	}
	return sampleKeys(run, judge, suite, sample) + ".c." + keyHash(parts...)
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
	run, suite, sample := spec.Run, g.Sample.Suite, g.Sample.ID
	rev, newer, err := s.recordGen(ctx, genKey(run, j.Name, suite, sample, g.Variant), seq, g.Retry)
	if err != nil {
		return nil, err
	}
	v, ok := spec.Variant(g.Variant)
	if !ok {
		return nil, nil
	}
	// A late arrival's partners may have been released: they are looked
	// up in ASSAY_GENS when their records are missing.
	late := g.Retry > 0 || v.Checkpoint != nil
	pairs := spec.PairsOf(g.Variant)
	partners := make([]string, 0, len(pairs))
	for _, p := range pairs {
		if p.A == g.Variant {
			partners = append(partners, p.B)
		} else {
			partners = append(partners, p.A)
		}
	}
	// The partners' records first (the baseline's before a candidate's
	// fellows in the compare list), then every other variant's: whoever
	// finds them all releases the sample's keys. Without one of its
	// partners' an arrival cannot find them all, so it reads no more.
	recs := map[string]genRec{g.Variant: {seq: seq, retry: g.Retry}}
	found := true // every partner's record
	for _, name := range partners {
		r, ok, err := s.record(ctx, run, j.Name, suite, sample, name)
		if err == nil && !ok && late {
			r, ok, err = s.storedGen(ctx, run, name, suite, sample)
		}
		if err != nil {
			return nil, err
		}
		if ok {
			recs[name] = r
		}
		found = found && ok
	}
	for _, vv := range spec.Variants {
		if !found {
			break
		}
		if _, read := recs[vv.Name]; read {
			continue // itself, or a partner
		}
		r, ok, err := s.record(ctx, run, j.Name, suite, sample, vv.Name)
		if err != nil {
			return nil, err
		}
		if !ok {
			break // the keys are not all there: not this arrival's to release
		}
		recs[vv.Name] = r
	}
	var out []pair
	last := max(seq, newer.seq)
	for _, p := range pairs {
		cr, okc := recs[p.A]
		br, okb := recs[p.B]
		if !okc || !okb {
			continue // the partner will complete the pair when it arrives
		}
		key := claimKey(run, j.Name, suite, sample, p, spec.Baseline, cr.retry, br.retry)
		mine, crev, err := s.claim(ctx, key, g.Variant)
		if err != nil {
			return nil, err
		}
		both := max(cr.seq, br.seq)
		last = max(last, both)
		if mine {
			out = append(out, pair{candidate: p.A, baseline: p.B, sample: g.Sample, candSeq: cr.seq, baselineSeq: br.seq})
		}
		if mine && late {
			// Once both generations are acked, neither comes back to
			// claim the pair: the claim is released (a sample in flight
			// releases its claims with its group).
			bus.ReleaseAfterAck(ctx, bus.KVEntry(bus.BucketPairs, key, crev), both)
		}
	}
	switch {
	case len(recs) == len(spec.Variants):
		for _, r := range recs {
			last = max(last, r.seq)
		}
		bus.ReleaseAfterAck(ctx, bus.KVGroup(bus.BucketPairs, sampleKeys(run, j.Name, suite, sample)), last)
	case late && found && len(pairs) > 0 && rev != 0:
		// Its pairs are claimed, and the other variants were released
		// already or will release the sample's keys: its own record goes
		// (a newer attempt's, kept in its place, is that attempt's to
		// release).
		bus.ReleaseAfterAck(ctx, bus.KVEntry(bus.BucketPairs, genKey(run, j.Name, suite, sample, g.Variant), rev), last)
	}
	return out, nil
}

// recordGen records the generation at seq, attempt retry, under key,
// unless a later attempt of it is recorded there: a retried generation
// can be handled before its first attempt (the judge lagging, or the
// first attempt's message redelivered), and a partner arriving after both
// must find the newest, or the pair of the newest attempt — the one the
// report keeps — is never judged. rev is the record's revision, 0 when
// the later attempt's record (newer) was kept.
func (s *Service) recordGen(ctx context.Context, key string, seq uint64, retry int) (rev uint64, newer genRec, err error) {
	rec := genRecord(seq, retry)
	for {
		// The first arrival of a generation creates its record in one
		// round trip, as a put would.
		rev, err := s.bus.Pairs.Create(ctx, key, rec)
		if err == nil {
			return rev, genRec{}, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, genRec{}, fmt.Errorf("recording generation: %w", err)
		}
		e, err := s.bus.Pairs.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released since: created again
		}
		if err != nil {
			return 0, genRec{}, fmt.Errorf("recording generation: %w", err)
		}
		// A corrupt record is replaced.
		if at, attempt, err := parseGenRecord(string(e.Value())); err == nil && attempt > retry {
			return 0, genRec{seq: at, retry: attempt}, nil
		}
		rev, err = s.bus.Pairs.Update(ctx, key, rec, e.Revision())
		if err == nil {
			return rev, genRec{}, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return 0, genRec{}, fmt.Errorf("recording generation: %w", err)
		}
		// Written meanwhile: read again.
	}
}

// record reads the record of variant's generation of (suite, sample) for
// judge, or, in a run in flight across an upgrade, its record as kept
// before sample groups.
func (s *Service) record(ctx context.Context, run, judge, suite, sample, variant string) (genRec, bool, error) {
	r, ok, err := s.lookup(ctx, genKey(run, judge, suite, sample, variant))
	if ok || err != nil {
		return r, ok, err
	}
	if old, err := s.legacy(ctx, run); !old || err != nil {
		return genRec{}, false, err
	}
	return s.lookup(ctx, "g."+run+"."+keyHash(suite, sample, variant))
}

// legacyRecheck is how long a run is believed to hold no records kept
// before sample groups: during a rolling upgrade a replica of the older
// version may still write them, so the answer is asked again this often
// (one read of the bucket's last message per run and minute).
const legacyRecheck = time.Minute

// legacyCheck is what [Service.legacy] found for a run, and when.
type legacyCheck struct {
	old bool
	at  time.Time
}

// legacy reports whether assay_pairs holds records of run as they were
// kept before sample groups (g.<run>.<hash(suite, sample, variant)>,
// shared by the judges): a run in flight across an upgrade, whose lookups
// fall back to those records. A run found to hold some is believed to for
// good; one found to hold none is asked again after [legacyRecheck].
func (s *Service) legacy(ctx context.Context, run string) (bool, error) {
	if v, ok := s.legacyRuns.Load(run); ok {
		if c := v.(legacyCheck); c.old || s.now().Sub(c.at) < legacyRecheck {
			return c.old, nil
		}
	}
	old, err := s.bus.KVHolds(ctx, bus.BucketPairs, "g."+run+".>")
	if err != nil {
		return false, err
	}
	s.legacyRuns.Store(run, legacyCheck{old: old, at: s.now()})
	return old, nil
}

// lookup reads a generation's record.
func (s *Service) lookup(ctx context.Context, key string) (genRec, bool, error) {
	e, err := s.bus.Pairs.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return genRec{}, false, nil
	}
	if err != nil {
		return genRec{}, false, fmt.Errorf("looking up generation: %w", err)
	}
	seq, retry, err := parseGenRecord(string(e.Value()))
	if err != nil {
		return genRec{}, false, fmt.Errorf("generation record %s is corrupt: %w", key, err)
	}
	return genRec{seq: seq, retry: retry}, true, nil
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
