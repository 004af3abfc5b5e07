// Package contam tells which eval items a model may have seen in training:
// an item is contaminated when a large share of its n-grams occurs in one
// training document, or when it is a near-duplicate of one. Every item gets
// its score and the id of the training document that matches it best.
//
// # Streaming
//
// Training data is far larger than the eval set, so the eval set is what
// is indexed ([NewIndex]) and the training documents stream through it
// ([Index.Check]), read once, in batches, by GOMAXPROCS workers. Memory
// is bounded by the eval set and the batches in flight, never by the
// training data: the index is a posting array and an open-addressing table
// of 64-bit n-gram hashes with a bit filter in front (under 100 bytes per
// distinct n-gram of the eval set, with the workers' counters), and
// at most 2×workers+2 batches of about 1 MiB are read ahead. Checking
// 10,000 items against a million 1 KB documents takes 5 to 6 seconds and
// 140 MiB at most on 2 cores (BenchmarkContamination).
//
// # Tokens and n-grams
//
// Text is NFKC-normalised and lower-cased; a word (a run of letters,
// digits and combining marks) is a token, and so is each Han, kana or
// hangul character, since Chinese and Japanese put no spaces between
// words; punctuation and spaces only separate tokens. So one n (default
// [DefaultNGram]) counts words in English and characters in Chinese, and
// mixed text needs nothing special. Tokens are hashed with FNV-1a and
// n-grams with a fixed mix of those hashes: the same on every run and
// machine.
//
// # Score
//
// For an item I and a training document D, the containment is the share
// of I's distinct n-grams that occur in D: 1 for a copy, however large D
// is around it. An item shorter than n tokens is one gram of all its
// tokens: its containment is 1 when it occurs word for word in D, else 0.
//
// A near-duplicate is a document of about the item's length (the shorter
// at least threshold × the longer, in tokens) whose set of 3-token
// shingles has a Jaccard similarity with the item's of at least the
// threshold. Shingles of 3 survive heavier editing than n-grams of 6 (a
// copy with every tenth word changed keeps 4/10 of its 6-grams, too few,
// but 7/10 of its 3-grams, a similarity of 0.54), while the length
// condition keeps a long document from
// matching a short item by sharing common phrases. The similarity is
// computed exactly, by merging two sorted sets, for the documents that
// share at least one n-gram with the item: MinHash would estimate it with
// noise, and with candidates so filtered there are few pairs to compare.
//
// An item's score is, over all training documents, the largest of its
// containment and, where it reaches the threshold, its near-duplicate
// similarity; its match is that document (the first in input order on a
// tie). It is contaminated when the score reaches the threshold (default
// [DefaultThreshold]).
//
// # Defaults
//
// An edit (a word substituted, deleted or inserted) spoils the n-grams
// overlapping it, so with a share p of the words edited about (1-p)^n of
// the n-grams survive: at 5% edits 0.95^6 = 0.74 with n = 6, well above
// the threshold of 0.5, but 0.66 with n = 8, and 7% of the edited copies
// of the Debian test corpus (TestDebianCorpus) fell below it. Shorter
// n-grams recur by chance between unrelated texts and let boilerplate
// weigh more: on that corpus 1.1% of the clean items were flagged with
// n = 5, 0.8% with n = 6 and 0.5% with n = 7, which already missed 0.8% of
// the edited copies; with n = 6 every exact and every edited copy was
// found. A threshold of 0.4 flags more clean items (1.0%), one of 0.6
// misses 1.5% of the edited copies.
//
// # Boilerplate
//
// Titles, author lines ("-- Mark Twain"), licence headers and prompt
// templates shared with training documents add to an item's containment
// only the n-grams that lie inside them, so they decide nothing while the
// item's own text is most of it. An item that is mostly boilerplate (a
// two-line couplet under a long poem title and its author) can be flagged
// by another work under the same title: check the field without the
// boilerplate, or raise the threshold.
package contam
