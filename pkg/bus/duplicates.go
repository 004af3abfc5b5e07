package bus

import "time"

// DefaultSampleDuplicates and DefaultDuplicates are the streams' duplicate
// windows (how long the server remembers a Nats-Msg-Id, dropping a message
// published again under it), sized by this rule.
//
// The window is a saving, not the guarantee: nothing downstream counts a
// message twice when a duplicate is stored. The report keys scores,
// judgments and dead letters by (stage, run, member, suite, sample, retry
// attempt) and reads a run's sample ids as a set; a generation stored twice
// is scored and judged again under the same keys; a production query
// stored twice becomes the same sample (its id is its window and text);
// ingest republishes after a crash only what the samples stream does not
// hold (its progress record and the ids stored after it). What a window
// saves is the work of a republished message: a duplicate stored is
// handled once more downstream, counted once under the keys above. Its
// endpoint call comes from the LLM cache while the cache still holds the
// answer, which is released once its sample is acked for good: a sample
// stored again after the window — a process killed between publishing and
// acking and restarted more than 30 s later — is answered again (paid
// twice, counted once). So a window need cover only
// the republishes that happen while a stage runs: a handler that published
// but could not ack is redelivered after the ack wait ([DefaultAckWait],
// 3 s), one whose publish failed after it was stored after its nak delay
// (0.5 s, doubling from the second delivery), a dead letter whose entry
// seemed to fail after 5 s, a batch of samples cut short when its ingest
// is retried. 30 s covers these with room; a process killed and restarted
// later republishes outside any window, and the keys above catch it, as
// they did with the 2 minutes every stream had before.
//
// The intake is written for every production query, sampled or not: at
// thousands of queries a second a 2-minute window held about 100 MB of ids
// in the server (measured at 3,800 queries/s; the server compacts its
// table only at about three windows' worth), so it keeps the samples'
// window too; a client that sends a query again after it stores it twice,
// which is the same sample. The streams written a few times per run — run
// events, checkpoint announcements and retry requests, labels — cost
// nothing to remember: they keep [DefaultDuplicates].
const (
	DefaultSampleDuplicates = 30 * time.Second
	DefaultDuplicates       = 2 * time.Minute
)

// sampleStreams are the streams written for every sample or production
// query, whose duplicate window is [Options.SampleDuplicates].
var sampleStreams = map[string]bool{
	StreamSamples:   true,
	StreamGens:      true,
	StreamScores:    true,
	StreamJudgments: true,
	StreamDLQ:       true,
	StreamIntake:    true,
}

// duplicates returns stream's duplicate window (at most maxAge, when that
// is set: the server refuses a longer one), and whether it was given
// rather than defaulted.
func (o *Options) duplicates(stream string, maxAge time.Duration) (window time.Duration, given bool) {
	window, given = o.Duplicates, !o.keepDuplicates
	if sampleStreams[stream] {
		window, given = o.SampleDuplicates, !o.keepSampleDuplicates
	}
	if maxAge > 0 && window > maxAge {
		window = maxAge
	}
	return window, given
}
