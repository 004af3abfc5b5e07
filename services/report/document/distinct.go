package document

// Distinct is distinct-1 and distinct-2 over a variant's answers on a
// suite (Li et al. 2016): the number of distinct words over the number of
// words, and of distinct word pairs (two words next to each other in an
// answer) over the number of word pairs, over all the answers together,
// words read as the openings are (lower-cased, punctuation left out, each
// Chinese character a word). Low values say the answers repeat the same
// wording. They are counted exactly up to 24,576 distinct words (or
// pairs) and estimated beyond (a k-minimum-values sketch), Exact saying
// which.
type Distinct struct {
	// N counts the answers read (an empty one adds no word); Failed the
	// failed generations and Unread the answers whose text could no
	// longer be read, both left out.
	N      int `json:"n"`
	Failed int `json:"failed"`
	Unread int `json:"unread"`
	// Tokens and Bigrams count the words and the word pairs.
	Tokens  int64 `json:"tokens"`
	Bigrams int64 `json:"bigrams"`
	// Distinct1 and Distinct2 are null when not measured, or over no
	// word (pair): Undefined says why.
	Distinct1 *float64 `json:"distinct_1"`
	Distinct2 *float64 `json:"distinct_2"`
	// Exact says the distinct words and pairs were counted, not
	// estimated; RelError is otherwise the estimates' relative standard
	// error (null when exact).
	Exact     bool     `json:"exact"`
	RelError  *float64 `json:"rel_error"`
	Undefined string   `json:"undefined"`
}

// DistinctDelta is a candidate's distinct-1 and distinct-2 against the
// baseline's over the samples both answered: each corpus holds the two
// variants' answers to the same samples.
type DistinctDelta struct {
	// N counts the samples both answered; Excluded those where either
	// generation failed, left out.
	N        int `json:"n"`
	Excluded int `json:"excluded"`
	// Tokens and BaselineTokens count the two corpora's words.
	Tokens         int64        `json:"tokens"`
	BaselineTokens int64        `json:"baseline_tokens"`
	Distinct1      DistinctDiff `json:"distinct_1"`
	Distinct2      DistinctDiff `json:"distinct_2"`
	// Groups is the number of groups of samples (drawn by hashing the
	// sample id) the delete-a-group jackknife left out in turn for the
	// intervals.
	Groups int `json:"groups"`
}

// DistinctDiff is one of distinct-1 and distinct-2 for the candidate and
// the baseline over the same samples, and the difference with its 95%
// interval (delete-a-group jackknife, Student's t on groups − 1 degrees
// of freedom, widened by the sketches' error when estimated). Null when
// undefined; Undefined says why.
type DistinctDiff struct {
	Candidate *float64    `json:"candidate"`
	Baseline  *float64    `json:"baseline"`
	Delta     *float64    `json:"delta"`
	CI        *[2]float64 `json:"ci"`
	Undefined string      `json:"undefined"`
}
