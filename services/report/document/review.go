package document

// HumanReview sums up a human review queue of the run (assay review): the
// reviewers' verdicts on the pairs drawn, the buckets they confirmed, and
// how the judges agree with them.
type HumanReview struct {
	Run   string `json:"run"`
	Queue string `json:"queue"`
	Items int    `json:"items"`
	// Labelled counts the items with a label in force; Labels the labels
	// in force (an item two reviewers labelled counts twice).
	Labelled int `json:"labelled"`
	Labels   int `json:"labels"`
	// Superseded counts the labels a later label of the same reviewer
	// replaced; Bad the stored messages that are not labels.
	Superseded int `json:"superseded"`
	Bad        int `json:"bad,omitempty"`
	// AfterReveal counts the labels given once their reviewer had seen
	// which answers were whose: kept, never in a figure.
	AfterReveal int `json:"after_reveal,omitempty"`
	// WinRate is, per candidate, the reviewers' win rate.
	WinRate []HumanWinRate `json:"win_rate"`
	// Buckets says, per bucket, how many items reviewers confirmed.
	Buckets []HumanBucket `json:"buckets"`
	// Judges compares each judge's verdicts with the reviewers'.
	Judges []HumanAgreement `json:"judges"`
	// Reviewers compares reviewers who labelled the same items (the
	// first two of each item, in the order they labelled).
	Reviewers *HumanAgreement `json:"reviewers,omitempty"`
	// FirstShown is the share of non-tie labels that picked answer A
	// (0.5 without position bias), with its interval.
	FirstShown *HumanRate `json:"first_shown,omitempty"`
}

// HumanRate is a share with its 95% interval.
type HumanRate struct {
	N     int     `json:"n"`
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

// HumanWinRate is the reviewers' verdicts on one candidate: wins, ties and
// losses against the baseline (labels), and the win rate over the items
// (a tie counts half; an item's labels are averaged) with its 95% Wilson
// interval. The items are drawn per bucket, regressions first: this is
// the win rate on the reviewed pairs, not the run's.
type HumanWinRate struct {
	Candidate string `json:"candidate"`
	Wins      int    `json:"wins"`
	Ties      int    `json:"ties"`
	Losses    int    `json:"losses"`
	HumanRate
}

// HumanBucket is how many of a bucket's reviewed items reviewers confirmed:
// ticked the error type the bucket names for the candidate's answer (for
// ok: ticked none for it); an item several reviewers labelled is
// confirmed when at least half of them confirm it.
type HumanBucket struct {
	Bucket    string `json:"bucket"`
	Reviewed  int    `json:"reviewed"`
	Confirmed int    `json:"confirmed"`
	// ErrorType is what confirms the bucket ("" for ok: no error).
	ErrorType string `json:"error_type,omitempty"`
	HumanRate
}

// HumanAgreement compares two raters' verdicts (candidate, baseline, tie)
// on the same items: the share that agree and Cohen's kappa, each with a
// 95% percentile bootstrap interval over the items.
type HumanAgreement struct {
	Judge   string    `json:"judge,omitempty"`
	N       int       `json:"n"`
	Percent HumanRate `json:"percent"`
	Kappa   float64   `json:"kappa"`
	KappaLo float64   `json:"kappa_lo"`
	KappaHi float64   `json:"kappa_hi"`
	// KappaDefined is false when both raters gave one verdict only.
	KappaDefined bool `json:"kappa_defined"`
	// CandidateMore is the share of disagreements where the judge
	// favoured the candidate more than the reviewer did: 0.5 when its
	// leanings are balanced.
	CandidateMore *float64 `json:"candidate_more,omitempty"`
}
