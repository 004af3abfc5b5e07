package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// Choice is what a reviewer picked, as shown: answer A, answer B, or a tie.
type Choice string

const (
	ChoiceA   Choice = "a"
	ChoiceB   Choice = "b"
	ChoiceTie Choice = "tie"
)

// ErrorTypes are the error types a reviewer may tick, the method's
// failure types.
var ErrorTypes = []string{"factual", "format_error", "refusal", "off_topic", "verbose"}

// confirms is the error type that confirms an item's bucket: a refusal
// the reviewer also calls a refusal is a confirmed over-refusal.
var confirms = map[eval.Bucket]string{
	eval.BucketRefusal:     "refusal",
	eval.BucketFormatError: "format_error",
	eval.BucketWrongAnswer: "factual",
	eval.BucketOffTopic:    "off_topic",
	eval.BucketVerbose:     "verbose",
}

// Limits of what a label carries.
const (
	maxCorrected  = 32 << 10
	maxNote       = 4 << 10
	maxLabelBytes = 64 << 10
	// maxFormBytes bounds a label sent from the page: form encoding takes
	// up to 3 bytes for each byte of text (9 for a CJK character's 3).
	maxFormBytes = 9*(maxCorrected+maxNote) + 4<<10
)

// Label is one reviewer's verdict on one item, as stored on the labels
// stream.
type Label struct {
	V        int       `json:"v"`
	Run      string    `json:"run"`
	Queue    string    `json:"queue"`
	Item     string    `json:"item"`
	Reviewer string    `json:"reviewer"`
	At       time.Time `json:"at"`
	// Submission identifies the submitted form: the same form sent twice
	// is one label.
	Submission string `json:"submission"`
	// Choice is as shown; Preferred is which variant's answer it is.
	Choice    Choice      `json:"choice"`
	Preferred eval.Winner `json:"preferred"`
	// CandidateErrors and BaselineErrors are the error types ticked for
	// each answer (ticked as A's or B's, and told apart here).
	CandidateErrors []string `json:"candidate_errors,omitempty"`
	BaselineErrors  []string `json:"baseline_errors,omitempty"`
	Corrected       string   `json:"corrected,omitempty"`
	Note            string   `json:"note,omitempty"`
	// CandidateGen and BaselineGen are the generations the label is of.
	CandidateGen uint64 `json:"candidate_gen"`
	BaselineGen  uint64 `json:"baseline_gen"`
	// Supersedes is the submission of the reviewer's earlier label of the
	// item that this one replaces.
	Supersedes string `json:"supersedes,omitempty"`
	// AfterReveal: the reviewer had labelled every item of the queue, and
	// so been told which answers were the fine-tune's, before this label.
	// It is kept, and counted apart: no figure takes it.
	AfterReveal bool `json:"after_reveal,omitempty"`
}

// Input is a label as a reviewer submits it: the error types ticked are
// answer A's and answer B's.
type Input struct {
	Item       string   `json:"item"`
	Choice     Choice   `json:"choice"`
	ErrorsA    []string `json:"errors_a"`
	ErrorsB    []string `json:"errors_b"`
	Corrected  string   `json:"corrected"`
	Note       string   `json:"note"`
	Submission string   `json:"submission"`
}

// ErrBadLabel marks a label refused for what it holds.
var ErrBadLabel = errors.New("bad label")

// DecodeInput reads a label sent as JSON and checks it (see [Input.Check]).
func DecodeInput(data []byte) (Input, error) {
	if len(data) > maxLabelBytes {
		return Input{}, fmt.Errorf("%w: %d bytes, at most %d", ErrBadLabel, len(data), maxLabelBytes)
	}
	var in Input
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Input{}, fmt.Errorf("%w: %v (send {\"item\", \"choice\": \"a\"|\"b\"|\"tie\", \"errors_a\", \"errors_b\", \"corrected\", \"note\", \"submission\"})", ErrBadLabel, err)
	}
	if dec.More() {
		return Input{}, fmt.Errorf("%w: more than one JSON value", ErrBadLabel)
	}
	return in, in.Check()
}

// Check says what is wrong with in, if anything.
func (in *Input) Check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadLabel, fmt.Sprintf(format, a...))
	}
	switch {
	case in.Item == "" || len(in.Item) > 64:
		return bad("item: missing or too long")
	case in.Choice != ChoiceA && in.Choice != ChoiceB && in.Choice != ChoiceTie:
		return bad("choice %q: use a, b or tie", in.Choice)
	case len(in.Submission) < 16 || len(in.Submission) > 64 || strings.ContainsFunc(in.Submission, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}):
		return bad("submission: 16 to 64 letters, digits, '-' or '_' that name this form (the same when it is sent again)")
	case len(in.Corrected) > maxCorrected:
		return bad("corrected answer: %d bytes, at most %d", len(in.Corrected), maxCorrected)
	case len(in.Note) > maxNote:
		return bad("note: %d bytes, at most %d", len(in.Note), maxNote)
	case !utf8.ValidString(in.Corrected) || !utf8.ValidString(in.Note) || !utf8.ValidString(in.Item):
		return bad("text that is not UTF-8")
	}
	for side, es := range map[string][]string{"A": in.ErrorsA, "B": in.ErrorsB} {
		seen := map[string]bool{}
		for _, e := range es {
			if !slices.Contains(ErrorTypes, e) {
				return bad("error type %q of answer %s: use %s", e, side, strings.Join(ErrorTypes, ", "))
			}
			if seen[e] {
				return bad("error type %q twice for answer %s", e, side)
			}
			seen[e] = true
		}
	}
	return nil
}

// preferred is the variant a choice on it picks.
func (it *Item) preferred(c Choice) eval.Winner {
	switch {
	case c == ChoiceTie:
		return eval.WinTie
	case (c == ChoiceA) == it.CandidateFirst:
		return eval.WinCandidate
	default:
		return eval.WinBaseline
	}
}

// Shown says which variant each of the answers A and B is.
func (it *Item) Shown() (a, b string) {
	if it.CandidateFirst {
		return it.Candidate, it.Baseline
	}
	return it.Baseline, it.Candidate
}

// Labels are a queue's labels as stored, in order.
type Labels struct {
	All []*Label
	// latest is each (item, reviewer)'s latest label; blind the latest
	// of those given before the reveal, the label in force.
	latest, blind map[[2]string]*Label
	subs          map[[2]string]*Label
	// AfterReveal counts the labels given after the reveal.
	AfterReveal int
}

// Latest is reviewer's latest label of item, or nil.
func (ls *Labels) Latest(item, reviewer string) *Label { return ls.latest[[2]string{item, reviewer}] }

// InForce are the labels in force, in the order they were stored: each
// reviewer's latest label of each item given blind (before the reveal).
func (ls *Labels) InForce() []*Label {
	var out []*Label
	for _, l := range ls.All {
		if ls.blind[[2]string{l.Item, l.Reviewer}] == l {
			out = append(out, l)
		}
	}
	return out
}

// Finished reports whether reviewer has labelled every item of q: from
// then on they may be told which answers were whose.
func (ls *Labels) Finished(q *Queue, reviewer string) bool {
	for _, it := range q.Items {
		if ls.Latest(it.ID, reviewer) == nil {
			return false
		}
	}
	return len(q.Items) > 0
}

func (ls *Labels) add(l *Label) {
	k := [2]string{l.Reviewer, l.Submission}
	if ls.subs[k] != nil {
		return // the same form sent again
	}
	ls.subs[k] = l
	ls.All = append(ls.All, l)
	ls.latest[[2]string{l.Item, l.Reviewer}] = l
	if l.AfterReveal {
		ls.AfterReveal++
	} else {
		ls.blind[[2]string{l.Item, l.Reviewer}] = l
	}
}

// LoadLabels reads a queue's labels. A message that does not decode is
// counted in bad, never taken as a label.
func LoadLabels(ctx context.Context, b *bus.Bus, run, queue string) (ls *Labels, bad int, err error) {
	ls = &Labels{latest: map[[2]string]*Label{}, blind: map[[2]string]*Label{}, subs: map[[2]string]*Label{}}
	err = b.ReadStored(ctx, bus.StreamLabels, jetstream.OrderedConsumerConfig{FilterSubjects: []string{labelSubject(run, queue)}}, func(m jetstream.Msg, _ uint64) error {
		var l Label
		data, err := b.Payload(ctx, m.Data(), m.Headers())
		if err != nil && !bus.PayloadLost(err) {
			return err
		}
		if err != nil || json.Unmarshal(data, &l) != nil || l.Reviewer == "" || l.Item == "" {
			bad++
			return nil
		}
		ls.add(&l)
		return nil
	}, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the labels of queue %s of run %s: %w", queue, run, err)
	}
	return ls, bad, nil
}

// ErrUnknownItem is returned for a label of an item not in the queue.
var ErrUnknownItem = errors.New("no such item in the queue")

// Submit stores reviewer's label in of an item of q, given the labels
// stored so far, and returns it. A form sent again returns the label it
// stored the first time; a new label of an item the reviewer labelled
// before supersedes that one, by name.
func Submit(ctx context.Context, b *bus.Bus, q *Queue, ls *Labels, reviewer string, in Input, now time.Time) (*Label, error) {
	if err := in.Check(); err != nil {
		return nil, err
	}
	it := q.Item(in.Item)
	if it == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownItem, in.Item)
	}
	candErrs, baseErrs := in.ErrorsA, in.ErrorsB
	if !it.CandidateFirst {
		candErrs, baseErrs = baseErrs, candErrs
	}
	l := &Label{V: 1, Run: it.Run, Queue: it.Queue, Item: it.ID, Reviewer: reviewer, At: now.UTC(), Submission: in.Submission,
		Choice: in.Choice, Preferred: it.preferred(in.Choice), CandidateErrors: sorted(candErrs), BaselineErrors: sorted(baseErrs),
		Corrected: in.Corrected, Note: in.Note, CandidateGen: it.CandidateGen, BaselineGen: it.BaselineGen}
	if old := ls.subs[[2]string{reviewer, in.Submission}]; old != nil {
		// The same form sent again is the label stored; one changed since
		// (a page restored from the browser's history) is refused.
		if old.Item != l.Item || old.Choice != l.Choice || !slices.Equal(old.CandidateErrors, l.CandidateErrors) ||
			!slices.Equal(old.BaselineErrors, l.BaselineErrors) || old.Corrected != l.Corrected || old.Note != l.Note {
			return nil, fmt.Errorf("%w: this form was saved before with other answers: reload the page to label the item again", ErrResent)
		}
		return old, nil
	}
	if prev := ls.Latest(it.ID, reviewer); prev != nil {
		l.Supersedes = prev.Submission
	}
	l.AfterReveal = ls.Finished(q, reviewer)
	ack, err := b.Publish(ctx, labelSubject(it.Run, it.Queue), bus.MsgID("review-label", it.Run, it.Queue, reviewer, in.Submission), l)
	if err != nil {
		return nil, fmt.Errorf("storing the label: %w", err)
	}
	if ack.Duplicate {
		// The same form, stored by another server (a replica) since
		// the labels were read: what is stored stands.
		return nil, fmt.Errorf("%w: this form was saved already: reload the page", ErrResent)
	}
	ls.add(l)
	return l, nil
}

// ErrResent is returned for a form sent again with other content.
var ErrResent = errors.New("form already saved")

func sorted(es []string) []string {
	if len(es) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(es))
}
