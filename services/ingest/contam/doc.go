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
// # Embeddings
//
// N-grams find copies and light edits; a paraphrase shares too few of
// them. With an [EmbedIndex], [Index.CheckWith] also embeds every training
// document through an OpenAI-compatible /embeddings endpoint (pkg/llm,
// under the process's endpoint policy, cached by content when the client
// has a cache) and compares it with the eval items' embeddings: an item
// whose best cosine reaches the threshold (default
// [DefaultEmbeddingThreshold]) is contaminated too, and its result says
// which check flagged it. Texts longer than a window ([DefaultWindow]
// characters) are embedded a window at a time, overlapping by a quarter:
// a training document scores by its best window, an eval item by its
// first. Memory follows the eval set: the items' vectors and their graph,
// and the windows of the batches in flight.
//
// The threshold depends on the model: unrelated texts score about 0.3
// with small encoders (and with the simulator's embedder), paraphrases
// 0.85 and more, and questions on one topic that ask different things up
// to about 0.9. On the development pairs of pkg/llmsim 0.85 finds 21 of 30
// paraphrases and flags 2 of 30 topic-sharing pairs; calibrate it on a few
// pairs of your own when you use a real model.
//
// The items are found through an HNSW graph (github.com/coder/hnsw). The
// graph looks up a sample of the items' own vectors when it is built; when
// it misses more than 1% of them, every training window is compared with
// every item instead (exactly, with SIMD dot products), so that a fault
// of the graph never hides a match. The release served today misses
// about half (see [EmbedIndex.Search]), and the check then runs exact.
//
// A training batch whose embeddings could not be had after the retries is
// counted with its cause ([EmbedStats]), never taken as clean; an eval
// item without an embedding is reported as not checked by embeddings.
//
// # Within a set
//
// [Index.Within] finds the near-duplicates among the eval items
// themselves: each item is compared with every earlier one by the same
// checks, so that the first of a group is kept and each later one names
// it. By n-grams each item is read as a document against the index of
// all of them, and a pair's score goes to its later item, whichever
// direction it was found in: an item that holds a shorter earlier one
// whole repeats it as much as one the earlier one holds. By embeddings
// each item's nearest items come from the graph, or, when the graph
// failed its self-check, every item is compared with every earlier one,
// exactly, a block of items at a time (10,000 items: about 5·10⁷ dot
// products, under a second on 2 cores). Where the ingest stage's
// near-duplicate rule (services/ingest/dedup) drops copies that differ
// by typos, this check also finds rewordings and items held in longer
// ones: a list for a person to read, not a rule to drop by.
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
