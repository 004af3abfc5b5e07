// Package llmsim simulates OpenAI-compatible models for assay's demo, tests
// and load tests: an HTTP server with /v1/chat/completions (plain and
// streamed) and /v1/models, serving named personas.
//
// A persona is a model with knowable habits: how often it answers
// correctly, refuses, breaks JSON, pads its answer, thinks aloud, gets cut
// off, fails transiently or for good, and how slowly it answers. Every
// choice is a pure function of the simulator's seed, the persona and the
// prompt ([Sim.Decide]), so a test can compute the exact report a run must
// produce. The simulator knows the right answers because it is given an
// answer key built from the suite's samples ([KeyFromSamples]).
//
// The simulator also serves embeddings (/v1/embeddings, and vLLM's
// /pooling for token vectors) from [Embedder]: a deterministic
// simulation of a weak semantic encoder built on a synonym table, not a
// model, so that near-duplicates, contamination and semantic_sim can be
// tested and measured without one.
//
// A judge persona follows assay's judge contract: it reads the MT-Bench
// style markers of the judge prompt, grades both answers against the key
// ([Sim.Grade]) and answers with the contract's JSON, or with [[A]]/[[B]]/
// [[C]] free text some of the time. Its position bias makes it prefer the
// answer shown first some of the time, so swap handling is exercised.
package llmsim
