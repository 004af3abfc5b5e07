// Package review is assay's human spot-check: a queue of paired answers
// drawn by failure bucket from a run, a page where reviewers label them
// blind, and the labels' summary beside the judge's verdicts.
//
// Everything is stored on the labels stream: a queue is its items, one
// message each on assay.labels.<run>.<queue>.item, closed by a message on
// .meta; a label is a message on .label. Nothing is kept anywhere else,
// so a queue and its labels survive any restart of the page.
package review

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/aggregate"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultPerBucket is how many items a queue draws from each bucket, the
// middle of the 20–50 a reviewer reads per failure type.
const DefaultPerBucket = 30

// maxText bounds each text an item carries, so that an item stays one
// message however long an answer ran.
const maxText = 16000

// Item is one pair of answers to review: a candidate's and the
// baseline's to the same sample.
type Item struct {
	V     int    `json:"v"`
	Run   string `json:"run"`
	Queue string `json:"queue"`
	// ID names the item within its queue.
	ID string `json:"id"`
	// Position is the item's place in the order the reviewers see the
	// items: shuffled across buckets by the queue's secret, so that an
	// item's place says nothing of its bucket.
	Position  int    `json:"position"`
	Suite     string `json:"suite"`
	Sample    string `json:"sample"`
	Candidate string `json:"candidate"`
	Baseline  string `json:"baseline"`
	// Bucket is the candidate's answer's failure bucket, the one the item
	// was drawn from; BaselineBucket is the baseline's.
	Bucket         eval.Bucket `json:"bucket"`
	BaselineBucket eval.Bucket `json:"baseline_bucket"`
	// Regression: the candidate's answer fails where the baseline's does
	// not, or the judge preferred the baseline.
	Regression bool   `json:"regression"`
	Reason     string `json:"reason,omitempty"`
	// Messages are the sample's conversation; Reference its reference
	// answers, when it has some.
	Messages  []eval.Message `json:"messages"`
	Reference []string       `json:"reference,omitempty"`
	// CandidateOutput and BaselineOutput are the two answers.
	CandidateOutput string `json:"candidate_output"`
	BaselineOutput  string `json:"baseline_output"`
	// CandidateGen and BaselineGen locate the two generations in
	// ASSAY_GENS: a label names what it judged.
	CandidateGen uint64 `json:"candidate_gen"`
	BaselineGen  uint64 `json:"baseline_gen"`
	// CandidateFirst: answer A is the candidate's. Half the items of a
	// queue have it, which half drawn by the queue's secret; no reviewer
	// is told before they label.
	CandidateFirst bool `json:"candidate_first"`
	// Judge and JudgeWinner are the gate judge's verdict on the two
	// answers shown, when it gave one.
	Judge       string      `json:"judge,omitempty"`
	JudgeWinner eval.Winner `json:"judge_winner,omitempty"`
}

// Meta closes a queue: how it was drawn and what it holds.
type Meta struct {
	V         int       `json:"v"`
	Run       string    `json:"run"`
	Queue     string    `json:"queue"`
	Seed      uint64    `json:"seed"`
	PerBucket int       `json:"per_bucket"`
	Variant   string    `json:"variant,omitempty"`
	Items     int       `json:"items"`
	Created   time.Time `json:"created"`
	// Buckets counts the items of each bucket, and Available what the run
	// had to draw from.
	Buckets   map[eval.Bucket]int `json:"buckets"`
	Available map[eval.Bucket]int `json:"available"`
	// Missing counts the pairs left out because a text was gone, and
	// Skipped the stored scores and judgments that could not be read.
	Missing int `json:"missing,omitempty"`
	Skipped int `json:"skipped,omitempty"`
	// Salt is the queue's secret: it fixes the order the items are shown
	// in and which answer of each is A, and names the items, so that no
	// reviewer can work either out from the seed. It is never served.
	Salt string `json:"salt"`
}

// Queue is a queue as stored: its items in order and its meta.
type Queue struct {
	Meta  Meta
	Items []*Item
	byID  map[string]*Item
}

// Item is the item named id, or nil.
func (q *Queue) Item(id string) *Item { return q.byID[id] }

// DrawOptions say how to draw a queue.
type DrawOptions struct {
	Run string
	// Queue names the queue (a subject token); "" names it after the seed.
	Queue     string
	PerBucket int
	// Variant limits the items to one candidate; "" takes every one.
	Variant string
	Seed    uint64
	// Fetch reads the texts of the pairs drawn (the report stage's
	// fetcher).
	Fetch aggregate.Fetcher
}

// Subjects of a queue on the labels stream.
func itemsSubject(run, queue string) string { return bus.LabelsSubject(run) + "." + queue + ".item" }
func metaSubject(run, queue string) string  { return bus.LabelsSubject(run) + "." + queue + ".meta" }
func labelSubject(run, queue string) string { return bus.LabelsSubject(run) + "." + queue + ".label" }

// ErrBadName marks a name that cannot name a run, queue or reviewer.
var ErrBadName = errors.New("bad name")

// CheckName reports whether s may name a queue or a run on the subjects:
// letters, digits, '-' and '_', at most 64.
func CheckName(what, s string) error {
	if s == "" || len(s) > 64 || strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return fmt.Errorf("%w: %s %q: use 1 to 64 letters, digits, '-' or '_'", ErrBadName, what, s)
	}
	return nil
}

// side is one variant's scored answer to a sample.
type side struct {
	bucket          eval.Bucket
	reason          string
	gen             uint64
	sample          uint64
	retry           int
	chars, refChars int
}

// Draw reads the run's scores and judgments and draws a queue from them:
// for each candidate (or o.Variant) and each sample both it and the
// baseline answered, one pair, bucketed by the candidate's answer; from
// each bucket o.PerBucket pairs, regressions first, the rest in an order
// the seed fixes, so that the same seed draws the same queue. A pair with
// a failed generation is not drawn: there is no answer to read.
func Draw(ctx context.Context, b *bus.Bus, o DrawOptions) (*Queue, error) {
	if o.PerBucket <= 0 {
		o.PerBucket = DefaultPerBucket
	}
	if o.Fetch == nil {
		return nil, errors.New("review.Draw: no Fetch to read the texts with")
	}
	if o.Queue == "" {
		o.Queue = fmt.Sprintf("seed-%d", o.Seed)
	}
	if err := CheckName("queue", o.Queue); err != nil {
		return nil, err
	}
	spec, err := b.Spec(ctx, o.Run)
	if err != nil {
		return nil, err
	}
	cands := spec.Candidates()
	if o.Variant != "" {
		if !slices.Contains(cands, o.Variant) {
			return nil, fmt.Errorf("--variant %q is not a candidate of run %s: use one of %s", o.Variant, o.Run, strings.Join(cands, ", "))
		}
		cands = []string{o.Variant}
	}
	scoring := spec.Scoring()
	sides := map[[3]string]side{}
	skipped := 0
	// decode reads a stored message into v, counting one that cannot be
	// read: it is left out, never taken for something else.
	decode := func(m jetstream.Msg, v any) bool {
		data, err := b.Payload(ctx, m.Data(), m.Headers())
		if err == nil {
			err = json.Unmarshal(data, v)
		}
		if err != nil {
			skipped++
			return false
		}
		return true
	}
	err = b.ReadStored(ctx, bus.StreamScores, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.RunScores(o.Run)}}, func(m jetstream.Msg, _ uint64) error {
		var s eval.Score
		if !decode(m, &s) || s.Scoring != scoring || s.Sample.Perturbation != nil {
			return nil
		}
		k := [3]string{s.Sample.Suite, s.Sample.ID, s.Variant}
		if old, ok := sides[k]; ok && old.retry > s.Retry {
			return nil
		}
		sides[k] = side{bucket: s.Bucket, reason: s.Reason, gen: s.GenSeq, sample: s.Sample.Seq, retry: s.Retry, chars: s.OutputChars, refChars: s.RefChars}
		return nil
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the scores of run %s: %w", o.Run, err)
	}
	judge, hasJudge := aggregate.BucketJudge(spec)
	// The bucket judge's verdicts (the gate's judge, else the first), with
	// the retries of the answers each judged: a verdict counts only for
	// the answers the item shows; offTopic is its reading of the
	// candidate's answer.
	type judged struct {
		w                 eval.Winner
		cand, base, judge int
		offTopic          bool
	}
	verdicts := map[[3]string]judged{}
	if hasJudge {
		err = b.ReadStored(ctx, bus.StreamJudgments, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.JudgmentsSubject(o.Run, judge.Name)}}, func(m jetstream.Msg, _ uint64) error {
			var j eval.Judgment
			// A compare pair's judgment (its baseline another variant) is
			// no verdict on a candidate against the baseline.
			if !decode(m, &j) || j.JudgeID != judge.ID() || j.Error != "" || j.Sample.Perturbation != nil || spec.PairName(j.Candidate, j.Baseline) != j.Candidate {
				return nil
			}
			k := [3]string{j.Sample.Suite, j.Sample.ID, j.Candidate}
			// The latest attempt stands, as in the report; of two of the
			// same attempt (one stored again), the first.
			if old, ok := verdicts[k]; ok && cmp.Or(cmp.Compare(old.cand+old.base, j.CandidateRetry+j.BaselineRetry), cmp.Compare(old.judge, j.JudgeRetry)) >= 0 {
				return nil
			}
			_, off := eval.MostSay(j.Rounds, eval.ReadingOffTopic, "candidate")
			verdicts[k] = judged{w: j.Winner, cand: j.CandidateRetry, base: j.BaselineRetry, judge: j.JudgeRetry, offTopic: off}
			return nil
		}, nil)
		if err != nil {
			return nil, fmt.Errorf("reading the judgments of run %s: %w", o.Run, err)
		}
	}
	type pair struct {
		suite, id, cand string
		c, base         side
		regression      bool
		verdict         eval.Winner
		rank            uint64
	}
	byBucket := map[eval.Bucket][]pair{}
	for k, c := range sides {
		if !slices.Contains(cands, k[2]) || c.bucket == eval.BucketError {
			continue
		}
		base, ok := sides[[3]string{k[0], k[1], spec.Baseline}]
		if !ok || base.bucket == eval.BucketError {
			continue
		}
		p := pair{suite: k[0], id: k[1], cand: k[2], c: c, base: base, rank: draw(o.Seed, "rank", k[0], k[1], k[2])}
		offTopic := false
		if v, ok := verdicts[k]; ok && v.cand == c.retry && v.base == base.retry {
			p.verdict, offTopic = v.w, v.offTopic
		}
		// The report's buckets: off_topic and verbose need the judge's
		// reading and the baseline's answer.
		facts := eval.BucketFacts{OffTopic: offTopic, Chars: c.chars, BaselineChars: -1, RefChars: c.refChars}
		if base.bucket == eval.BucketOK {
			facts.BaselineChars = base.chars
		}
		if b := eval.RefineBucket(c.bucket, facts); b != c.bucket {
			p.c.bucket, p.c.reason = b, aggregate.RefinedReason(b, facts)
		}
		c = p.c
		p.regression = (c.bucket != eval.BucketOK && base.bucket == eval.BucketOK) || p.verdict == eval.WinBaseline
		byBucket[c.bucket] = append(byBucket[c.bucket], p)
	}
	salt := rand.Text()
	q := &Queue{Meta: Meta{V: 1, Run: o.Run, Queue: o.Queue, Seed: o.Seed, PerBucket: o.PerBucket, Variant: o.Variant,
		Created: time.Now().UTC(), Buckets: map[eval.Bucket]int{}, Available: map[eval.Bucket]int{}, Skipped: skipped, Salt: salt}, byID: map[string]*Item{}}
	var chosen []pair
	// A sample is drawn once, for one candidate: two items sharing the
	// baseline's answer would tell which answer is the baseline's.
	taken := map[[2]string]bool{}
	for _, bk := range Buckets {
		ps := byBucket[bk]
		q.Meta.Available[bk] = len(ps)
		slices.SortFunc(ps, func(a, b pair) int {
			if a.regression != b.regression {
				if a.regression {
					return -1
				}
				return 1
			}
			return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.suite+"\x00"+a.id+"\x00"+a.cand, b.suite+"\x00"+b.id+"\x00"+b.cand))
		})
		n := 0
		for _, p := range ps {
			if n == o.PerBucket {
				break
			}
			if k := [2]string{p.suite, p.id}; !taken[k] {
				taken[k] = true
				chosen = append(chosen, p)
				n++
			}
		}
	}
	var samples, gens []uint64
	for _, p := range chosen {
		samples, gens = append(samples, p.c.sample), append(gens, p.c.gen, p.base.gen)
	}
	texts, err := aggregate.FetchTexts(ctx, o.Fetch, samples, gens)
	if err != nil {
		return nil, fmt.Errorf("reading the texts of run %s: %w", o.Run, err)
	}
	for _, p := range chosen {
		s, cg, bg := texts.Sample(p.c.sample), texts.Generation(p.c.gen), texts.Generation(p.base.gen)
		if s == nil || cg == nil || bg == nil || cg.Error != "" || bg.Error != "" {
			q.Meta.Missing++
			continue
		}
		it := &Item{V: 1, Run: o.Run, Queue: o.Queue, Suite: p.suite, Sample: p.id, Candidate: p.cand, Baseline: spec.Baseline,
			Bucket: p.c.bucket, BaselineBucket: p.base.bucket, Regression: p.regression, Reason: p.c.reason,
			Messages: clipMessages(s.Messages), CandidateOutput: clip(cg.Output), BaselineOutput: clip(bg.Output),
			CandidateGen: p.c.gen, BaselineGen: p.base.gen}
		it.ID = itemID(salt, p.suite, p.id, p.cand)
		if s.Reference != nil {
			for _, a := range s.Reference.Answers {
				it.Reference = append(it.Reference, clip(a))
			}
			if s.Reference.Label != "" && len(it.Reference) == 0 {
				it.Reference = []string{s.Reference.Label}
			}
		}
		if p.verdict != "" {
			it.Judge, it.JudgeWinner = judge.Name, p.verdict
		}
		q.Items = append(q.Items, it)
		q.byID[it.ID] = it
		q.Meta.Buckets[it.Bucket]++
	}
	if len(q.Items) == 0 {
		why := fmt.Sprintf("run %s has no pair of answers to review", o.Run)
		switch {
		case len(sides) == 0:
			why += ": it has no scores yet (of its scoring " + scoring + "): wait for the run, or check its name"
		case q.Meta.Missing > 0:
			why += fmt.Sprintf(": the texts of all %d pairs drawn are no longer stored", q.Meta.Missing)
		default:
			why += fmt.Sprintf(": no sample has answers of both %s and the baseline %s that did not fail", strings.Join(cands, ", "), spec.Baseline)
		}
		return nil, errors.New(why)
	}
	// The order the reviewers see, and which half shows the candidate
	// first, come from the secret: a shuffle across buckets, then A/B
	// alternating over a second shuffle.
	q.Items = shuffled(q.Items, salt, "show")
	for i, it := range shuffled(slices.Clone(q.Items), salt, "order") {
		it.CandidateFirst = i%2 == 0
	}
	for i, it := range q.Items {
		it.Position = i
	}
	q.Meta.Items = len(q.Items)
	return q, nil
}

// shuffled sorts items by a hash of the salt, purpose and their ids.
func shuffled(items []*Item, salt, purpose string) []*Item {
	slices.SortFunc(items, func(a, b *Item) int {
		return cmp.Compare(draw(0, salt, purpose, a.ID), draw(0, salt, purpose, b.ID))
	})
	return items
}

// Buckets are the buckets a queue draws from, in the report's order; an
// answer that failed (bucket error) has nothing to read.
var Buckets = []eval.Bucket{eval.BucketRefusal, eval.BucketFormatError, eval.BucketOffTopic, eval.BucketWrongAnswer, eval.BucketVerbose,
	eval.BucketTruncated, eval.BucketEmpty, eval.BucketOK}

// draw is a number the seed fixes for the parts.
func draw(seed uint64, parts ...string) uint64 {
	h := sha256.New()
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seed)
	h.Write(s[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// itemID names the pair of a candidate's and the baseline's answers to a
// sample within a queue: salted, so that it says nothing of the sample.
func itemID(salt, suite, id, cand string) string {
	sum := sha256.Sum256([]byte(salt + "\x00" + suite + "\x00" + id + "\x00" + cand))
	return hex.EncodeToString(sum[:8])
}

func clip(s string) string {
	if len(s) <= maxText {
		return s
	}
	cut := maxText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " […]"
}

func clipMessages(ms []eval.Message) []eval.Message {
	out := make([]eval.Message, len(ms))
	for i, m := range ms {
		out[i] = eval.Message{Role: m.Role, Content: clip(m.Content)}
	}
	return out
}

// ErrQueueExists is returned by [Store] for a queue name already used.
var ErrQueueExists = errors.New("queue exists")

// Store claims q's name, then publishes its items and its meta. A name is
// used once, claimed by the first Store of it: labels refer to the items
// of one draw. A Store that fails half-way leaves the name claimed and the
// queue unreadable: draw again under another name.
func Store(ctx context.Context, b *bus.Bus, q *Queue) error {
	run, queue := q.Meta.Run, q.Meta.Queue
	claim := bus.LabelsSubject(run) + "." + queue + ".claim"
	data, err := json.Marshal(map[string]any{"queue": queue, "created": q.Meta.Created})
	if err != nil {
		return err
	}
	if _, err := b.JS.Publish(ctx, claim, data, jetstream.WithExpectLastSequencePerSubject(0)); err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return fmt.Errorf("%w: %s of run %s: choose another name (--queue)", ErrQueueExists, queue, run)
		}
		return fmt.Errorf("claiming queue %s: %w", queue, err)
	}
	for _, it := range q.Items {
		if _, err := b.Publish(ctx, itemsSubject(run, queue), bus.MsgID("review-item", run, queue, it.ID), it); err != nil {
			return fmt.Errorf("storing item %s of queue %s: %w (the name is taken: draw again with another --queue)", it.ID, queue, err)
		}
	}
	if _, err := b.Publish(ctx, metaSubject(run, queue), bus.MsgID("review-meta", run, queue), q.Meta); err != nil {
		return fmt.Errorf("storing queue %s: %w (the name is taken: draw again with another --queue)", queue, err)
	}
	return nil
}

// ErrNoQueue is returned for a queue that is not stored (or not whole).
var ErrNoQueue = errors.New("no such review queue")

func loadMeta(ctx context.Context, b *bus.Bus, run, queue string) (*Meta, error) {
	st, err := b.JS.Stream(ctx, bus.StreamLabels)
	if err != nil {
		return nil, err
	}
	m, err := st.GetLastMsgForSubject(ctx, metaSubject(run, queue))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("%w: %s of run %s (assay review create makes one; a queue whose storing failed half-way has no meta: draw again under another name)", ErrNoQueue, queue, run)
	}
	if err != nil {
		return nil, err
	}
	data, err := b.Payload(ctx, m.Data, m.Header)
	if err != nil {
		return nil, err
	}
	var meta Meta
	if err := json.Unmarshal(data, &meta); err != nil {
		return nil, fmt.Errorf("queue %s of run %s: its meta does not decode: %w", queue, run, err)
	}
	return &meta, nil
}

// Load reads a stored queue.
func Load(ctx context.Context, b *bus.Bus, run, queue string) (*Queue, error) {
	if err := CheckName("queue", queue); err != nil {
		return nil, err
	}
	meta, err := loadMeta(ctx, b, run, queue)
	if err != nil {
		return nil, err
	}
	q := &Queue{Meta: *meta, byID: map[string]*Item{}}
	err = b.ReadStored(ctx, bus.StreamLabels, jetstream.OrderedConsumerConfig{FilterSubjects: []string{itemsSubject(run, queue)}}, func(m jetstream.Msg, _ uint64) error {
		data, err := b.Payload(ctx, m.Data(), m.Headers())
		if err != nil {
			return err
		}
		var it Item
		if err := json.Unmarshal(data, &it); err != nil {
			return fmt.Errorf("an item of queue %s does not decode: %w", queue, err)
		}
		if q.byID[it.ID] == nil {
			q.Items = append(q.Items, &it)
			q.byID[it.ID] = &it
		}
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	if len(q.Items) != meta.Items {
		return nil, fmt.Errorf("queue %s of run %s holds %d items of the %d its meta names: it cannot be reviewed; draw again under another name", queue, run, len(q.Items), meta.Items)
	}
	slices.SortFunc(q.Items, func(a, b *Item) int { return cmp.Compare(a.Position, b.Position) })
	return q, nil
}
