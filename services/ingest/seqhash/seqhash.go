// Package seqhash hashes sequences of token hashes, order-dependent: the
// keys of the near-duplicate index (services/ingest/dedup) and the n-grams
// of the contamination check (services/ingest/contam) are built on it.
package seqhash

// Seed starts a sequence's hash.
const Seed = 0x243f6a8885a308d3

// Step adds the next token's hash t to h.
func Step(h, t uint64) uint64 {
	h = (h ^ t) * 0xbf58476d1ce4e5b9
	return h ^ h>>31
}

// Finish is the murmur3 finaliser of h and the sequence's length n, so that
// sequences that differ only in length hash apart.
func Finish(h uint64, n int) uint64 {
	h ^= uint64(n) * 0x9e3779b97f4a7c15
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
