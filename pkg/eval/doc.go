// Package eval holds the messages that assay's services exchange on the bus
// (Sample, Generation, Score, Judgment, DeadLetter) and the run spec that
// drives a run.
//
// Every message is JSON with "v": 1 and carries the fingerprint of the run
// spec it was produced under, so that results made under different decoding,
// templates, judge prompts or metric versions are never compared silently.
// The run spec is YAML for people ([ParseSpec]) and JSON on the bus.
package eval
