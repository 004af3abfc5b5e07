// Package bus is assay's JetStream topology: the streams, consumers, KV
// buckets and object stores of the design, the subjects that address them,
// and the publish and consume helpers that keep the ack discipline.
//
// Nobody outside this package writes a subject string by hand.
//
// Streams use limits retention and file storage: nothing is a work queue,
// so a run can be replayed from what was kept. Every publish carries a
// Nats-Msg-Id built from the stage and the keys of the message, so a
// republished message is stored once; consumers of the report key their
// aggregates the same way, so a redelivered one never counts twice.
package bus
