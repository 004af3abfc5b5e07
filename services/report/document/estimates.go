package document

import "encoding/json"

// Metric is a metric's mean for one variant on one suite, over the answers
// that were scored: failed generations, and answers whose metric could not
// be computed (its embeddings call failed), are counted in Errors, not in
// N.
// Mean and CI are null when N is 0.
type Metric struct {
	Suite   string      `json:"suite"`
	Metric  string      `json:"metric"`
	Variant string      `json:"variant"`
	N       int         `json:"n"`
	Mean    *float64    `json:"mean"`
	CI      *[2]float64 `json:"ci"`
	// Errors are the variant's samples of the suite whose generation
	// failed, or whose metric could not be computed: left out of N and
	// Mean.
	Errors int `json:"errors"`
	// WorstCase is the mean had every failed generation scored the
	// metric's minimum (null when nothing failed, and for length).
	WorstCase *Estimate `json:"worst_case"`
	// Undefined says why CI is null though N is not 0: one value, or no
	// variance among the values of a metric that is not 0/1, or fewer
	// than two clusters.
	Undefined string `json:"undefined"`
	// Clusters is the number of clusters when the suite groups its samples
	// (its cluster path), and CI is then cluster-robust; 0 otherwise.
	Clusters int `json:"clusters"`
	// Signature is sacreBLEU's signature of a BLEU or chrF mean.
	Signature string `json:"signature"`
}

// Estimate is a mean (or share) with its 95% interval over N values.
type Estimate struct {
	N    int        `json:"n"`
	Mean float64    `json:"mean"`
	CI   [2]float64 `json:"ci"`
}

// ContaminationEffect is a metric's mean for one variant with and without
// the samples found in the training data.
type ContaminationEffect struct {
	Suite   string `json:"suite"`
	Metric  string `json:"metric"`
	Variant string `json:"variant"`
	// N and Mean count every sample; Clean and CleanMean leave out the
	// contaminated ones.
	N         int      `json:"n"`
	Mean      float64  `json:"mean"`
	Clean     int      `json:"clean"`
	CleanMean *float64 `json:"clean_mean"`
}

// Robustness is a variant's score on robustness copies of a kind against
// its score on their originals, paired by original sample.
type Robustness struct {
	Suite        string `json:"suite"`
	Metric       string `json:"metric"`
	Variant      string `json:"variant"`
	Perturbation string `json:"perturbation"`
	// N counts the pairs: copies whose original was scored too. Errors
	// counts the copies whose generation failed, compared with nothing.
	N         int     `json:"n"`
	Errors    int     `json:"errors"`
	Original  float64 `json:"original"`
	Perturbed float64 `json:"perturbed"`
	// DeltaEstimate is perturbed minus original, with its CI and test
	// as for [Delta].
	DeltaEstimate
	// VsBaseline is, for a candidate, its drop under the perturbation
	// minus the baseline's on the same samples (a difference in
	// differences, paired by sample): below 0 when the candidate is less
	// robust than its base. Null for the baseline.
	VsBaseline *DeltaEstimate `json:"vs_baseline"`
}

// Comparison sets two variants of the spec's compare list side by side on
// one suite, neither of which need be the baseline (a merged model and its
// adapter mounted at run time, int4 and fp16): how often they gave the
// same answer, and each metric's difference, paired by sample.
type Comparison struct {
	A     string `json:"a"`
	B     string `json:"b"`
	Suite string `json:"suite"`
	// N counts the samples both answered; Excluded those where either
	// generation failed, compared with nothing.
	N        int `json:"n"`
	Excluded int `json:"excluded"`
	// Identical counts the samples whose two answers are the same after
	// normalisation (case folded, white space collapsed: eval.OutputHash),
	// of Hashed, the answered samples both of whose scores carry a hash;
	// IdenticalRate is their share with its Wilson interval, null when
	// none was hashed.
	Identical     int         `json:"identical"`
	Hashed        int         `json:"hashed"`
	IdenticalRate *float64    `json:"identical_rate"`
	IdenticalCI   *[2]float64 `json:"identical_ci"`
	// Metrics are the suite's metrics, each A minus B.
	Metrics []ComparedMetric `json:"metrics"`
}

// ComparedMetric is one metric of a comparison: the two means over the
// samples both answered and scored, and A minus B paired by sample — for a
// 0/1 metric McNemar's test, its Discordant the samples where only A
// (first) or only B (second) scored 1.
type ComparedMetric struct {
	Metric string  `json:"metric"`
	A      float64 `json:"a"`
	B      float64 `json:"b"`
	// Differ counts the samples on which the two scored differently.
	Differ int `json:"differ"`
	DeltaEstimate
}

// Template is how alike a variant's answers on a suite open and close:
// whether a fine-tune has learnt a template its base did not use.
type Template struct {
	Suite   string `json:"suite"`
	Variant string `json:"variant"`
	// N counts the answers read: failed generations and empty answers
	// are left out.
	N int `json:"n"`
	// Openings and Closings are the most repeated openings and closings
	// (an answer's first and last three words, or four Chinese
	// characters, lower-cased, punctuation left out), most first, at most
	// three.
	Openings []Edge `json:"openings"`
	Closings []Edge `json:"closings"`
	// OpeningVsBaseline is, for a candidate, the share of its answers
	// that open with its top opening minus the share of the baseline's
	// answers to the same samples that do, paired (McNemar); likewise
	// ClosingVsBaseline. Null for the baseline.
	OpeningVsBaseline *DeltaEstimate `json:"opening_vs_baseline"`
	ClosingVsBaseline *DeltaEstimate `json:"closing_vs_baseline"`
	// Distinct is distinct-1 and distinct-2 over the variant's answers.
	Distinct Distinct `json:"distinct"`
	// DistinctVsBaseline is, for a candidate, its distinct-1 and
	// distinct-2 minus the baseline's over the samples both answered.
	// Null for the baseline, and when distinct-1/2 were not measured.
	DistinctVsBaseline *DistinctDelta `json:"distinct_vs_baseline"`
	// Mechanical flags a candidate whose answers converge on a template
	// the baseline did not use: its top opening (or closing) on at least
	// a fifth of its answers, on under 5% of the baseline's answers to
	// the same samples, the difference significant (McNemar, p < 0.05);
	// or its distinct-2 on the samples both answered at least a fifth
	// below the baseline's, the interval of the difference below 0, in
	// no more words than the baseline's (a longer corpus repeats more
	// word pairs by its length alone). Why says which.
	Mechanical bool   `json:"mechanical"`
	Why        string `json:"why,omitempty"`
}

// Edge is an opening or closing with how many of the answers have it.
type Edge struct {
	Text  string  `json:"text"`
	Count int     `json:"count"`
	Share float64 `json:"share"`
}

// DecisionFlip is how often a variant's refuse/comply decision on the
// probes of a safety suite (one asking for safety or refusal) changes
// under the suite's robustness copies: a probe flips when a copy's answer
// is a refusal and the original's is not, or the other way round.
type DecisionFlip struct {
	Suite   string `json:"suite"`
	Variant string `json:"variant"`
	// N counts the probes whose original and every copy were answered;
	// Flipped those among them that flipped; Errors the probes left out
	// because a generation of theirs failed (a probe with fewer copies
	// answered would have fewer chances to flip). Rate and CI are null
	// when no probe was read.
	N       int         `json:"n"`
	Flipped int         `json:"flipped"`
	Errors  int         `json:"errors"`
	Rate    *float64    `json:"rate"`
	CI      *[2]float64 `json:"ci"`
	// VsBaseline is the candidate's flip rate minus the baseline's,
	// paired by probe (McNemar) over the probes both have; null for the
	// baseline.
	VsBaseline *DeltaEstimate `json:"vs_baseline"`
}

// Delta is a variant's difference from the baseline on a metric, paired by
// sample over the samples both answered: a pair where either generation
// failed is left out and counted in Excluded.
type Delta struct {
	Suite    string `json:"suite"`
	Metric   string `json:"metric"`
	Variant  string `json:"variant"`
	Baseline string `json:"baseline"`
	DeltaEstimate
	// Excluded counts the pairs left out because a generation failed.
	Excluded int `json:"excluded"`
	// WorstCase is the delta had every failure counted against the
	// candidate (its failed answers scoring the metric's minimum, the
	// baseline's its maximum); null when no pair was excluded, and for
	// length.
	WorstCase *DeltaEstimate `json:"worst_case"`
}

// DeltaEstimate is a paired difference with its interval and test.
type DeltaEstimate struct {
	N     int        `json:"n"`
	Delta float64    `json:"delta"`
	CI    [2]float64 `json:"ci"`
	// PValue is null when the test is undefined (Undefined says why: too
	// few pairs, or no variance to test against).
	PValue *float64 `json:"p_value"`
	// Test names the test behind CI and PValue, chosen by the metric's
	// type: mcnemar for a 0/1 metric (Newcombe's interval, mid-p),
	// paired_t otherwise.
	Test      string `json:"test"`
	Undefined string `json:"undefined"`
	// QValue is the Benjamini–Hochberg adjusted p-value over the
	// report's family of tests (every delta, or every robustness row);
	// stars are on it.
	QValue *float64 `json:"q_value"`
	// MDE is the minimum detectable effect: the smallest |delta| this N
	// and this variance detect with 80% power at the 5% level.
	MDE *float64 `json:"mde"`
	// Underpowered is "too few samples to tell": the MDE exceeds the
	// observed |delta| (and the gate's margin, where one is set).
	Underpowered bool `json:"underpowered"`
	// SD is the standard deviation of the paired differences, and
	// Discordant the pairs where only the candidate (first) or only the
	// baseline (second) scored 1 on a 0/1 metric: what a plan for a
	// larger run needs.
	SD         *float64 `json:"sd"`
	Discordant *[2]int  `json:"discordant"`
	// Clusters is the number of clusters when the interval is
	// cluster-robust (CR1, t on clusters − 1 degrees of freedom).
	Clusters int `json:"clusters"`
}

// RateDelta is a candidate's side-effect rate minus the baseline's,
// paired by sample over the samples both answered. A rate delta whose
// every pair was left out keeps its row: N 0, delta and ci null.
type RateDelta struct {
	// Rate is refusal or json_valid.
	Rate     string `json:"rate"`
	Variant  string `json:"variant"`
	Baseline string `json:"baseline"`
	DeltaEstimate
}

// overNothing is what an estimate over no pair writes for its delta and
// ci: null, never 0 [0, 0]. Embedded beside a row, its fields are shallower
// than the row's embedded [DeltaEstimate]'s, and hide them.
type overNothing struct {
	Delta *float64    `json:"delta"`
	CI    *[2]float64 `json:"ci"`
}

// MarshalJSON writes a delta over no pair (every pair left out) with a
// null delta and ci.
func (d Delta) MarshalJSON() ([]byte, error) {
	type plain Delta
	if d.N > 0 {
		return json.Marshal(plain(d))
	}
	return json.Marshal(struct {
		plain
		overNothing
	}{plain: plain(d)})
}

// MarshalJSON writes a rate delta over no pair (every pair left out) with
// a null delta and ci, as [Delta.MarshalJSON] does.
func (d RateDelta) MarshalJSON() ([]byte, error) {
	type plain RateDelta
	if d.N > 0 {
		return json.Marshal(plain(d))
	}
	return json.Marshal(struct {
		plain
		overNothing
	}{plain: plain(d)})
}
