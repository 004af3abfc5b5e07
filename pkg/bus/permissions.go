package bus

import "slices"

// Identities a NATS server serving assay knows, each with the least it
// needs ([Grants]): one per stage (the Stage… names), the CLI, production
// systems sending queries, and an administrator.
const (
	// IdentityAdmin may do anything, including creating, changing and
	// deleting streams: `assay up` uses it to set up the topology.
	IdentityAdmin = "admin"
	// IdentityClient is the assay CLI: it submits runs, announces
	// checkpoints, asks for replays and reads statuses, reports and exports.
	IdentityClient = "client"
	// IdentityIntake is a production system: it may only send intake
	// requests and read their answers.
	IdentityIntake = "intake"
)

// Identities lists every identity, in the order they are documented.
var Identities = []string{StageIngest, StageInfer, StageScore, StageJudge, StageReport, IdentityClient, IdentityIntake, IdentityAdmin}

// Grant is what one identity may do on NATS: the subjects it may publish
// to and subscribe to. Anything not allowed is refused by the server.
type Grant struct {
	Publish   []string
	Subscribe []string
	// Respond lets the identity answer the requests it receives (ingest
	// answers intake requests on their reply subjects).
	Respond bool
}

// Inbox is the prefix of the reply subjects of a connection authenticated
// by the nkey whose public key is pub. Each identity may subscribe only to
// its own inbox: with the shared _INBOX.> any identity could read the
// messages JetStream delivers to another (pull deliveries and API replies
// travel on inboxes).
func Inbox(pub string) string { return "_INBOX_" + pub }

// Grants returns the grant of every identity whose replies arrive under
// inbox (see [Inbox]). This is the one place where assay's NATS
// permissions are defined:
//
//   - ingest publishes samples, "ingested" run events, redacted queries;
//     writes ingest statuses and progress in assay_runs (and specs and
//     statuses, to add announced checkpoints and reopen their runs), and
//     assay_seen; receives and answers intake requests; stores live
//     experiments' events and writes assay_ab_units (assignments).
//   - infer publishes generations; writes its own key space of the LLM
//     cache (CacheSpaceInfer), and purges the cache's stream (releasing
//     settled answers key by key).
//   - score publishes scores, and its readings of live experiments'
//     served answers (events of kind score); writes its own key space
//     of the LLM cache (CacheSpaceEmbed: the embeddings of semantic_sim).
//   - judge publishes judgments; writes its own key space of the LLM
//     cache (CacheSpaceJudge) and assay_pairs, and purges the streams of
//     both (releasing the calls of each pair judged, and the join of each
//     sample judged; a key never released expires with the bucket's age
//     limit, which only admin may set on a bucket created without one:
//     see [DefaultPairsTTL]).
//   - report publishes "completed" and "gated" run events and live
//     experiments' decisions; writes
//     statuses in assay_runs and reports (purging a replaced report's
//     chunks, which the object store does on every put); purges samples,
//     generations, scores and judgments (old windows of continuous runs,
//     once folded).
//   - client publishes "created" run events, retry requests, checkpoint
//     announcements and labels; writes specs (and statuses, to open a run
//     it submits, changes or retries) and datasets.
//   - intake sends intake requests and live experiments' assignment and
//     event requests, and reads their answers (on its inbox or the shared
//     _INBOX), nothing else.
//   - admin may do anything.
//
// Each stage also publishes its own dead letters and large payloads to assay_blobs, and every identity but
// intake may read every stream, bucket and store (stream and consumer
// info, consumers, message gets, acknowledgements): reading is not
// forging. None but admin may create, update or delete a stream, or delete
// a stream's messages; but for the buckets infer and judge release entries
// of, only admin and report may purge one.
func Grants(inbox string) map[string]Grant {
	reply := []string{inbox + ".>"}
	// Reading is not forging: every stage and the client may read every
	// stream, bucket and store, which keeps a stage that starts reading
	// something new from failing on a permission.
	var read []string
	for _, s := range []string{StreamSamples, StreamGens, StreamScores, StreamJudgments, StreamLabels, StreamEvents, StreamIntake, StreamDLQ, StreamAB} {
		read = append(read, streamRead(s)...)
	}
	for _, b := range []string{BucketRuns, BucketPairs, BucketLLMCache, BucketSeen, BucketABUnits} {
		read = append(read, streamRead("KV_"+b)...)
	}
	for _, o := range []string{StoreReports, StoreDatasets, StoreBlobs} {
		read = append(read, streamRead("OBJ_"+o)...)
	}
	// publish is what an identity may publish: its subjects, large
	// payloads, and the JetStream API calls of reading.
	publish := func(subjects ...[]string) []string {
		return slices.Concat(append(subjects,
			[]string{jsAPI + "INFO", jsAPI + "STREAM.NAMES", jsAPI + "STREAM.LIST"}, objectWrite(StoreBlobs), read)...)
	}
	// dlq is where stages (as their consumers name them) put dead letters.
	dlq := func(stages ...string) []string {
		var out []string
		for _, s := range stages {
			out = append(out, DLQSubject(s, "*"))
		}
		return out
	}
	return map[string]Grant{
		StageIngest: {
			Publish: publish(dlq(StageIngest, StageCheckpoint), []string{prefix + "samples.>", prefix + "events.run.*." + EventIngested, prefix + "queries.>", prefix + "abevents.>"},
				kvWrite(BucketRuns, "*.ingest", "*.ingest-progress", AllSpecs, "*.status"), kvWrite(BucketSeen, ">"), kvWrite(BucketABUnits, ">")),
			Subscribe: append(reply, AllIntake, AllABRequests),
			Respond:   true,
		},
		StageInfer: {
			Publish: publish(dlq(StageInfer, StageInferRetry), []string{prefix + "gens.>"}, kvWrite(BucketLLMCache, CacheSpaceInfer+".>"),
				purge("KV_"+BucketLLMCache)),
			Subscribe: reply,
		},
		StageScore: {
			Publish:   publish(dlq(StageScore), []string{prefix + "scores.>", prefix + "abevents.>"}, kvWrite(BucketLLMCache, CacheSpaceEmbed+".>")),
			Subscribe: reply,
		},
		StageJudge: {
			Publish: publish(dlq(StageJudge), []string{prefix + "judgments.>"}, kvWrite(BucketLLMCache, CacheSpaceJudge+".>"), kvWrite(BucketPairs, ">"),
				purge("KV_"+BucketPairs, "KV_"+BucketLLMCache)),
			Subscribe: reply,
		},
		StageReport: {
			Publish: publish(dlq(StageReport), []string{prefix + "events.run.*." + EventCompleted, prefix + "events.run.*." + EventGated, prefix + "events.ab.*.decision"},
				kvWrite(BucketRuns, "*.status"), objectWrite(StoreReports), []string{jsAPI + "STREAM.PURGE.OBJ_" + StoreReports},
				purge(StreamScores, StreamJudgments)),
			Subscribe: reply,
		},
		IdentityClient: {
			Publish: publish([]string{AllRunEvents(EventCreated), prefix + "events.retry.>", CheckpointSubject, prefix + "labels.>"},
				kvWrite(BucketRuns, AllSpecs, "*.status"), objectWrite(StoreDatasets)),
			Subscribe: reply,
		},
		IdentityIntake: {
			Publish: []string{AllIntake, AllABRequests},
			// And the shared inbox, so that any NATS client (nats req)
			// can read its answer: only intake clients reply there, as
			// every other identity has an inbox of its own.
			Subscribe: append(reply, "_INBOX.>"),
		},
		IdentityAdmin: {
			Publish:   []string{">"},
			Subscribe: []string{">"},
			Respond:   true,
		},
	}
}

const jsAPI = "$JS.API."

// streamRead is what reading stream needs: its info, consumers of its own
// (created, looked up, pulled from and removed when their run ends),
// message gets, and acknowledgements and flow control of its deliveries.
func streamRead(stream string) []string {
	return []string{
		jsAPI + "STREAM.INFO." + stream,
		jsAPI + "STREAM.MSG.GET." + stream,
		jsAPI + "DIRECT.GET." + stream, jsAPI + "DIRECT.GET." + stream + ".>",
		jsAPI + "CONSUMER.CREATE." + stream, jsAPI + "CONSUMER.CREATE." + stream + ".>",
		jsAPI + "CONSUMER.DURABLE.CREATE." + stream + ".>",
		jsAPI + "CONSUMER.INFO." + stream + ".>",
		jsAPI + "CONSUMER.NAMES." + stream, jsAPI + "CONSUMER.LIST." + stream,
		jsAPI + "CONSUMER.MSG.NEXT." + stream + ".>",
		jsAPI + "CONSUMER.DELETE." + stream + ".>",
		"$JS.ACK." + stream + ".>",
		"$JS.FC." + stream + ".>",
	}
}

// kvWrite is putting (and deleting) the keys of bucket that match each
// pattern.
func kvWrite(bucket string, keys ...string) []string {
	var out []string
	for _, k := range keys {
		out = append(out, "$KV."+bucket+"."+k)
	}
	return out
}

// purge is purging streams, whole or by subject: the report purges the
// old windows of continuous runs once folded; infer and judge release the
// KV entries they no longer need by purging each key's subject up to its
// revision, which, unlike a KV delete, leaves no marker behind (see
// [Entry]). The server cannot restrict a purge to some subjects.
func purge(streams ...string) []string {
	var out []string
	for _, s := range streams {
		out = append(out, jsAPI+"STREAM.PURGE."+s)
	}
	return out
}

// objectWrite is putting objects into store: chunks, then metadata.
func objectWrite(store string) []string {
	return []string{"$O." + store + ".C.>", "$O." + store + ".M.>"}
}

// GrantOf returns identity's grant, and whether the identity exists.
func GrantOf(identity, inbox string) (Grant, bool) {
	g, ok := Grants(inbox)[identity]
	return g, ok
}
