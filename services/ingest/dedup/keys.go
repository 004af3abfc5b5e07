package dedup

import (
	"unicode/utf8"

	"github.com/assay-eval/assay/services/ingest/seqhash"
)

// Candidate keys. Two near-duplicates have the same numbers and symbols in
// the same order (their skeleton), and differ in a few words or
// characters at most. A text's words and characters are dealt into
// [parts] groups by what a typo leaves alone: a word by its first letter
// (never touched by a typo), a Chinese character by its group of
// confusions (see hanzi.go). So a typo changes one group, and a dropped
// space at most two. Each text has two keys per group it has words in,
// both hashed with its skeleton: the group's tokens in order, and every
// other group's (the text without that group). A copy
// with one typo has the second key of the group it changed; a copy with
// more typos, in other groups, has the first key of each group it left
// alone.
//
// Templated suites are why the skeleton is in every key: 100,000 prompts
// of one template that differ in a number share no key. Prompts that
// differ only in names share the first keys of the groups no name is in;
// those keys grow past [maxBucket] and are not looked at, while the keys
// holding the names stay rare and find the twin.

// parts is the number of groups a text's words are dealt into.
const parts = 5

// key is a candidate key, its slot in the table and the number of kept
// texts that have it.
type key struct {
	h    uint64
	slot int
	n    int32
}

// keys returns the hash of toks' exact sequence and toks' candidate keys,
// with the sizes of their buckets.
func (x *Index) keys(toks []token) (exact uint64, ks []key) {
	exact, skel := uint64(seqhash.Seed), uint64(seqhash.Seed)
	var part [parts]uint64
	var count [parts]int
	for _, t := range toks {
		h := tokenHash(t)
		exact = seqhash.Step(exact, h)
		if t.kind == number || t.kind == symbol {
			skel = seqhash.Step(skel, h)
			continue
		}
		p := partOf(t)
		part[p] = seqhash.Step(part[p], h)
		count[p]++
	}
	ks = x.ks[:0]
	if x.minSim == 1 {
		return seqhash.Finish(exact, len(toks)), ks // exact copies only: no candidates
	}
	for p := range parts {
		if count[p] == 0 {
			continue // no word a typo could change
		}
		ks = append(ks, key{h: seqhash.Finish(seqhash.Step(seqhash.Step(skel, uint64(p)+1), part[p]), count[p])})
		rest, n := seqhash.Step(skel, uint64(p)+1+parts), 0
		for q := range parts {
			if q != p {
				rest = seqhash.Step(rest, part[q]^uint64(q))
				n += count[q]
			}
		}
		if n == 0 {
			// All the words are in group p (a text of a word or two):
			// the rest is the skeleton and how many words there are.
			rest = seqhash.Step(rest, uint64(count[p]))
		}
		ks = append(ks, key{h: seqhash.Finish(rest, n)})
	}
	for i := range ks {
		ks[i].slot = x.buckets.find(ks[i].h)
		ks[i].n = x.bucket(ks[i].slot).n
	}
	x.ks = ks
	return seqhash.Finish(exact, len(toks)), ks
}

// partOf is the group of a word or a Chinese character: one a typo does
// not change.
func partOf(t token) int {
	r, _ := utf8.DecodeRune(t.b)
	if t.kind == han {
		r = hanClass(r)
	}
	return int(uint64(r)*0x9e3779b97f4a7c15>>32) % parts
}

// tokenHash is FNV-1a of the token's kind and bytes.
func tokenHash(t token) uint64 {
	h := uint64(14695981039346656037)
	h = (h ^ uint64(t.kind)) * 1099511628211
	for _, c := range t.b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// A kept text is stored as its tokens, each a byte of kind and flags, its
// bytes and a 0xff (a byte no UTF-8 text holds): a fifth of the memory of
// token structs, and decoded only when the text is a candidate.
const tokenEnd = 0xff

func encodedSize(toks []token) int {
	n := 2 * len(toks)
	for _, t := range toks {
		n += len(t.b)
	}
	return n
}

func encode(dst []byte, toks []token) []byte {
	for _, t := range toks {
		dst = append(dst, byte(t.kind)<<4|t.flags)
		dst = append(dst, t.b...)
		dst = append(dst, tokenEnd)
	}
	return dst
}

// decode appends the tokens of enc (as encode wrote them) to dst; they
// share enc's bytes.
func decode(dst []token, enc []byte) []token {
	for len(enc) > 0 {
		head := enc[0]
		end := 1
		for enc[end] != tokenEnd {
			end++
		}
		dst = append(dst, token{b: enc[1:end:end], kind: kind(head >> 4), flags: head & 0x0f})
		enc = enc[end+1:]
	}
	return dst
}
