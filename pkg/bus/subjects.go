package bus

import "strings"

// Stream names.
const (
	StreamSamples   = "ASSAY_SAMPLES"
	StreamGens      = "ASSAY_GENS"
	StreamScores    = "ASSAY_SCORES"
	StreamJudgments = "ASSAY_JUDGMENTS"
	StreamLabels    = "ASSAY_LABELS"
	StreamEvents    = "ASSAY_EVENTS"
	StreamIntake    = "ASSAY_INTAKE"
	StreamDLQ       = "ASSAY_DLQ"
	// StreamAB holds the events of live experiments, as ingest stored
	// them (checked, ids hashed, texts redacted).
	StreamAB = "ASSAY_AB"
)

// KV buckets and object stores.
const (
	BucketRuns     = "assay_runs"
	BucketPairs    = "assay_pairs"
	BucketLLMCache = "assay_llm_cache"
	// BucketSeen remembers the production queries of each window, so that a
	// query asked again in the same window is evaluated once.
	BucketSeen = "assay_seen"
	// BucketABUnits keeps each unit's first assignment in each live
	// experiment (see [ABUnitKey]).
	BucketABUnits = "assay_ab_units"
	StoreReports  = "assay_reports"
	StoreDatasets = "assay_datasets"
	StoreBlobs    = "assay_blobs"
)

// Stages, as they appear in DLQ subjects, message ids, logs and metrics.
const (
	StageIngest = "ingest"
	StageInfer  = "infer"
	StageScore  = "score"
	StageJudge  = "judge"
	StageReport = "report"
	// StageCheckpoint names checkpoint announcements in dead letters.
	StageCheckpoint = "checkpoint"
)

const prefix = "assay."

// SamplesSubject is where ingest publishes a suite's samples.
func SamplesSubject(run, suite string) string { return prefix + "samples." + run + "." + suite }

// RunSamples matches every sample of a run.
func RunSamples(run string) string { return prefix + "samples." + run + ".>" }

// GensSubject is where infer publishes a variant's generations.
func GensSubject(run, variant string) string { return prefix + "gens." + run + "." + variant }

// RunGens matches every generation of a run.
func RunGens(run string) string { return prefix + "gens." + run + ".>" }

// ScoresSubject is where score publishes a variant's scores.
func ScoresSubject(run, variant string) string { return prefix + "scores." + run + "." + variant }

// RunScores matches every score of a run.
func RunScores(run string) string { return prefix + "scores." + run + ".>" }

// JudgmentsSubject is where a judge publishes its verdicts on a run.
func JudgmentsSubject(run, judge string) string {
	return prefix + "judgments." + run + "." + judge
}

// RunJudgments matches every judgment of a run.
func RunJudgments(run string) string { return prefix + "judgments." + run + ".>" }

// LabelsSubject is where human labels of a run are published.
func LabelsSubject(run string) string { return prefix + "labels." + run }

// DLQSubject is where a stage records the messages of a run it gave up on;
// run is "_" when the message named none (it did not decode).
func DLQSubject(stage, run string) string {
	if run == "" {
		run = "_"
	}
	return prefix + "dlq." + stage + "." + run
}

// RunDLQ matches the dead letters of a run, from every stage.
func RunDLQ(run string) string { return prefix + "dlq.*." + run }

// Run lifecycle events.
const (
	EventCreated   = "created"
	EventIngested  = "ingested"
	EventCompleted = "completed"
	// EventGated carries a variant's gate verdict, once per completion.
	EventGated = "gated"
)

// CheckpointSubject is where new checkpoints are announced (by assay
// checkpoint, or by a training job).
const CheckpointSubject = prefix + "events.checkpoint"

// RunEvent is the subject of a run lifecycle event.
func RunEvent(run, event string) string { return prefix + "events.run." + run + "." + event }

// AllRunEvents matches one lifecycle event of every run.
func AllRunEvents(event string) string { return prefix + "events.run.*." + event }

// IntakeSubject is where production systems send queries, as requests
// that ingest answers once the query is stored, redacted. No stream
// listens on it: personal data must not reach a stream.
func IntakeSubject(source string) string { return prefix + "intake." + source }

// AllIntake matches the intake subject of every source.
const AllIntake = prefix + "intake.*"

// ABAssignSubject and ABEventsSubject are where a product asks for a
// unit's arm in a live experiment and sends its events, as requests that
// ingest answers; like the intake's, no stream listens on them.
func ABAssignSubject(experiment string) string { return prefix + "ab." + experiment + ".assign" }

// ABEventsSubject: see [ABAssignSubject].
func ABEventsSubject(experiment string) string { return prefix + "ab." + experiment + ".events" }

// AllABRequests matches every live experiment's requests.
const AllABRequests = prefix + "ab.*.*"

// ABStoredSubject is where ingest stores the events of run's experiment,
// in [StreamAB]: an experiment is its run's, so a name declared again by
// another run later starts afresh.
func ABStoredSubject(run, experiment string) string {
	return prefix + "abevents." + run + "." + experiment
}

// ABDecisionSubject is where the report announces an experiment's
// decision (ramp, hold, rollback).
func ABDecisionSubject(experiment string) string {
	return prefix + "events.ab." + experiment + ".decision"
}

// SampleMsgID is the message id ingest publishes a run's sample under:
// it names the sample, so that reading a run's samples by their headers
// (see [ParseSampleMsgID]) finds their ids without their payloads.
func SampleMsgID(run, suite, id string) string { return MsgID(StageIngest, run, suite, id) }

// ParseSampleMsgID returns the sample id in msgID, a message id of a
// sample of run's suite built by [SampleMsgID], or false when it is none.
func ParseSampleMsgID(run, suite, msgID string) (id string, ok bool) {
	id, ok = strings.CutPrefix(msgID, MsgID(StageIngest, run, suite)+"|")
	return id, ok && id != ""
}

// DLQStage returns the stage whose dead-letter subject (see [DLQSubject])
// subject is, or "" when it is none. The grants let each stage publish
// only on its own, so this, not a letter's body, says who gave up.
func DLQStage(subject string) string {
	if !strings.HasPrefix(subject, prefix+"dlq.") {
		return ""
	}
	return SubjectToken(subject, 2)
}

// QueriesSubject is where ingest stores a source's redacted queries.
func QueriesSubject(source string) string { return prefix + "queries." + source }

// IntakeConsumer is ingest's durable consumer of a continuous run's
// queries.
func IntakeConsumer(run string) string { return StageIngest + sep + run + sep + "intake" }

// SubjectToken returns the n-th dot-separated token of subject (0-based),
// or "" when it has fewer.
func SubjectToken(subject string, n int) string {
	for i := 0; i < n; i++ {
		_, rest, ok := strings.Cut(subject, ".")
		if !ok {
			return ""
		}
		subject = rest
	}
	tok, _, _ := strings.Cut(subject, ".")
	return tok
}

// Consumer names. The separator '~' cannot occur in a name (names are
// [A-Za-z0-9_-]), so distinct runs and variants never share a consumer.
const sep = "~"

// InferConsumer is the durable consumer of one variant of one run.
func InferConsumer(run, variant string) string { return StageInfer + sep + run + sep + variant }

// JudgeConsumer is the durable consumer of one judge of one run.
func JudgeConsumer(run, judge string) string { return StageJudge + sep + run + sep + judge }

// ScoreConsumer is the score stage's durable consumer of one run's
// generations under one scoring: re-scoring a run starts a new one.
func ScoreConsumer(run, scoring string) string { return StageScore + sep + run + sep + scoring }

// ScoreABConsumer is the score stage's durable consumer of the events of
// run's live experiment, whose served answers it reads.
func ScoreABConsumer(run, experiment string) string {
	return StageScore + sep + run + sep + "ab" + sep + experiment
}

// ReportFollower is the name the report stage's ordered consumers of a
// run's samples and results go by in its [LagMetrics] (the server names
// them at random).
func ReportFollower(run string) string { return StageReport + sep + run }

// ReportABFollower is the name the report stage's ordered consumer of the
// events of run's live experiment goes by in its [LagMetrics].
func ReportABFollower(run, experiment string) string {
	return StageReport + sep + run + sep + "ab" + sep + experiment
}

// IngestConsumer is the ingest stage's durable consumer of run events.
const IngestConsumer = StageIngest

// CheckpointConsumer is the ingest stage's durable consumer of checkpoint
// announcements. Its name has no '~': names with one belong to a run's
// consumers, which are kept and removed with their runs.
const CheckpointConsumer = StageIngest + "-checkpoints"

// KV keys in assay_runs.

// SpecKey holds a run's spec (JSON).
func SpecKey(run string) string { return run + ".spec" }

// IngestKey holds a run's ingest status (JSON).
func IngestKey(run string) string { return run + ".ingest" }

// StatusKey holds a run's completion status (JSON).
func StatusKey(run string) string { return run + ".status" }

// AllSpecs matches every spec key.
const AllSpecs = "*.spec"

// RunOfKey returns the run of an assay_runs key.
func RunOfKey(key string) string {
	run, _, _ := strings.Cut(key, ".")
	return run
}
