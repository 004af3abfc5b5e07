package bus

import (
	"slices"
	"strings"
)

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
//   - ingest publishes samples, run events, redacted queries and its dead
//     letters; writes ingest statuses and progress (and adds announced
//     checkpoints to specs) in assay_runs, and assay_seen; reads run
//     events, checkpoint announcements and queries; answers intake
//     requests; reads datasets.
//   - infer publishes generations and its dead letters, writes the LLM
//     cache, reads samples.
//   - score publishes scores and its dead letters, reads samples and
//     generations.
//   - judge publishes judgments and its dead letters, writes the LLM cache
//     and assay_pairs, reads samples and generations.
//   - report publishes completion and gate events and its dead letters,
//     writes statuses and reports, reads every stream.
//   - client publishes run events (a replay's), checkpoint announcements
//     and labels, writes specs and datasets, reads every stream, bucket and
//     store.
//   - intake sends intake requests only.
//   - admin may do anything.
//
// Every identity but intake and admin may also publish large payloads to
// assay_blobs, read the streams and buckets above through the JetStream
// API (stream and consumer info, their own consumers, message gets) and
// acknowledge what it reads. None but admin may create, update, purge or
// delete a stream or delete a stream's messages; report may purge the
// chunks of a report it replaces, which the object store does on every
// put.
func Grants(inbox string) map[string]Grant {
	reply := []string{inbox + ".>"}
	jsInfo := []string{jsAPI + "INFO", jsAPI + "STREAM.INFO.*", jsAPI + "STREAM.NAMES", jsAPI + "STREAM.LIST"}
	// publish is what every stage and the client may do besides their own
	// subjects: large payloads, and dead letters of their stage.
	publish := func(stage string, subjects ...string) []string {
		out := append(slices.Clone(jsInfo), subjects...)
		out = append(out, objectWrite(StoreBlobs)...)
		if stage != "" {
			out = append(out, prefix+"dlq."+stage+".>")
		}
		return out
	}
	reads := func(streams ...string) []string {
		var out []string
		for _, s := range streams {
			out = append(out, streamRead(s)...)
		}
		return out
	}
	kvRead := func(buckets ...string) []string {
		var out []string
		for _, b := range buckets {
			out = append(out, streamRead("KV_"+b)...)
		}
		return out
	}
	objRead := func(stores ...string) []string {
		var out []string
		for _, s := range stores {
			out = append(out, streamRead("OBJ_"+s)...)
		}
		return out
	}
	allStreams := []string{StreamSamples, StreamGens, StreamScores, StreamJudgments, StreamLabels, StreamEvents, StreamIntake, StreamDLQ}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }
	return map[string]Grant{
		StageIngest: {
			Publish: cat(publish(StageIngest, prefix+"samples.>", prefix+"events.run.*."+EventIngested, prefix+"queries.>"),
				kvWrite(BucketRuns, "*.ingest", "*.ingest-progress", AllSpecs), kvWrite(BucketSeen, ">"),
				reads(StreamEvents, StreamIntake, StreamSamples), kvRead(BucketRuns, BucketSeen), objRead(StoreDatasets, StoreBlobs)),
			Subscribe: cat(reply, []string{AllIntake}),
			Respond:   true,
		},
		StageInfer: {
			Publish: cat(publish(StageInfer, prefix+"gens.>"), kvWrite(BucketLLMCache, ">"),
				reads(StreamSamples), kvRead(BucketRuns, BucketLLMCache), objRead(StoreBlobs)),
			Subscribe: reply,
		},
		StageScore: {
			Publish: cat(publish(StageScore, prefix+"scores.>"),
				reads(StreamSamples, StreamGens), kvRead(BucketRuns), objRead(StoreBlobs)),
			Subscribe: reply,
		},
		StageJudge: {
			Publish: cat(publish(StageJudge, prefix+"judgments.>"), kvWrite(BucketLLMCache, ">"), kvWrite(BucketPairs, ">"),
				reads(StreamSamples, StreamGens), kvRead(BucketRuns, BucketLLMCache, BucketPairs), objRead(StoreBlobs)),
			Subscribe: reply,
		},
		StageReport: {
			Publish: cat(publish(StageReport, prefix+"events.run.*."+EventCompleted, prefix+"events.run.*."+EventGated),
				kvWrite(BucketRuns, "*.status"), objectWrite(StoreReports), []string{jsAPI + "STREAM.PURGE.OBJ_" + StoreReports},
				reads(allStreams...), kvRead(BucketRuns), objRead(StoreReports, StoreDatasets, StoreBlobs)),
			Subscribe: reply,
		},
		IdentityClient: {
			Publish: cat(publish(StageCheckpoint, prefix+"events.run.>", CheckpointSubject, prefix+"labels.>"),
				kvWrite(BucketRuns, AllSpecs), objectWrite(StoreDatasets),
				reads(allStreams...), kvRead(BucketRuns, BucketPairs, BucketLLMCache, BucketSeen), objRead(StoreReports, StoreDatasets, StoreBlobs)),
			Subscribe: reply,
		},
		IdentityIntake: {
			Publish:   []string{AllIntake},
			Subscribe: reply,
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

// objectWrite is putting objects into store: chunks, then metadata.
func objectWrite(store string) []string {
	return []string{"$O." + store + ".C.>", "$O." + store + ".M.>"}
}

// GrantOf returns identity's grant, and whether the identity exists.
func GrantOf(identity, inbox string) (Grant, bool) {
	g, ok := Grants(inbox)[strings.ToLower(identity)]
	return g, ok
}
