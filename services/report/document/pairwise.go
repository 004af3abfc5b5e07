package document

// Pairwise is a judge's verdicts on a candidate against the baseline, over
// the pairs it judged (or on the first variant of a compare pair against
// its second: see [Report.ComparePairwise]). WinRate, CI and FlipRate are
// null when N is 0.
type Pairwise struct {
	Judge    string   `json:"judge"`
	JudgeID  string   `json:"judge_id"`
	Variant  string   `json:"variant"`
	Baseline string   `json:"baseline"`
	N        int      `json:"n"`
	Wins     int      `json:"wins"`
	Losses   int      `json:"losses"`
	Ties     int      `json:"ties"`
	WinRate  *float64 `json:"win_rate"`
	// CI is the t interval on the per-pair scores (1 win, ½ tie, 0 loss:
	// AlpacaEval's standard error), cluster-robust when Clusters > 0.
	CI *[2]float64 `json:"ci"`
	// Undefined says why WinRate has no interval (fewer than 2 pairs, or
	// every pair scored the same).
	Undefined string `json:"undefined"`
	Clusters  int    `json:"clusters"`
	// Decisive is W/(W+L), the win share among pairs that were not ties,
	// with its Wilson interval; SignP is the exact sign test of W against
	// L. Null when every pair was a tie.
	Decisive   *float64    `json:"decisive"`
	DecisiveCI *[2]float64 `json:"decisive_ci"`
	SignP      *float64    `json:"sign_p"`
	// MDE is the smallest |win rate − ½| this N detects with 80% power.
	MDE          *float64 `json:"mde"`
	Underpowered bool     `json:"underpowered"`
	// LengthControlled is the win rate the judge would give at equal
	// answer lengths (AlpacaEval 2's length-controlled win rate).
	LengthControlled *LengthControlled `json:"length_controlled"`
	// FlipRate is the share of pairs whose verdict changed with the order
	// of presentation (counted as ties); FirstShown and SecondShown split
	// those flips by the answer that won both orders: the one shown first
	// (position bias towards A) or the one shown second.
	FlipRate *float64 `json:"flip_rate"`
	// Single marks a judge that grades each answer alone (mode: single):
	// it shows no order, so it has no flip rate or position bias.
	Single      bool `json:"single,omitempty"`
	FirstShown  int  `json:"first_shown_wins_both"`
	SecondShown int  `json:"second_shown_wins_both"`
	// BySuite is the win rate per suite.
	BySuite []SuiteWinRate `json:"by_suite"`
	// Errors are pairs the judge failed on; GenerationErrors pairs never
	// shown to it because a generation failed. Neither is in N.
	Errors           int `json:"errors"`
	GenerationErrors int `json:"generation_errors"`
	// WorstCase is the win rate had every pair left out counted as a loss
	// (null when none was left out).
	WorstCase *Estimate `json:"worst_case"`
}

// LengthControlled is a win rate at equal answer lengths: a logistic model
// of the judge's preference on tanh of the normalised difference in
// visible-answer length, predicted at zero difference (Dubois et al. 2024).
type LengthControlled struct {
	N       int         `json:"n"`
	WinRate *float64    `json:"win_rate"`
	CI      *[2]float64 `json:"ci"`
	// Slope is the model's length coefficient: above 0 when the judge
	// prefers the longer answer.
	Slope     float64 `json:"slope"`
	Undefined string  `json:"undefined"`
}

// SuiteWinRate is a judge's win rate on one suite.
type SuiteWinRate struct {
	Suite   string      `json:"suite"`
	N       int         `json:"n"`
	Wins    int         `json:"wins"`
	Losses  int         `json:"losses"`
	Ties    int         `json:"ties"`
	WinRate *float64    `json:"win_rate"`
	CI      *[2]float64 `json:"ci"`
}

// Strength is a variant's Bradley–Terry strength: log odds of being
// preferred over the baseline (0), with a bootstrap interval over the
// judged pairs.
type Strength struct {
	Judge   string `json:"judge"`
	Variant string `json:"variant"`
	// Strength and CI are null when Undefined says why there is none.
	Strength  *float64    `json:"strength"`
	CI        *[2]float64 `json:"ci"`
	Rank      int         `json:"rank"`
	Undefined string      `json:"undefined"`
}

// Agreement is how two judges' verdicts on the same pairs agree: the share
// of pairs with the same verdict (win, loss or tie) and Cohen's kappa,
// agreement beyond chance (null when undefined: one verdict throughout).
type Agreement struct {
	Variant string   `json:"variant"`
	JudgeA  string   `json:"judge_a"`
	JudgeB  string   `json:"judge_b"`
	N       int      `json:"n"`
	Percent float64  `json:"percent_agreement"`
	Kappa   *float64 `json:"kappa"`
	// KappaCI is kappa's asymptotic 95% interval; WeightedKappa is
	// linear-weighted over loss < tie < win, with its interval.
	KappaCI         *[2]float64 `json:"kappa_ci"`
	WeightedKappa   *float64    `json:"weighted_kappa"`
	WeightedKappaCI *[2]float64 `json:"weighted_kappa_ci"`
}

// Stability is how much a judge's verdict moves when it is asked about the
// same pair again (a judge with repeat): for one judge and candidate, each
// repeat's verdict in each order compared with the judgment's. Repeats
// that failed are counted, never compared.
type Stability struct {
	Judge   string `json:"judge"`
	Variant string `json:"variant"`
	// Pairs asked again, and Repeats with a verdict; Failed repeats.
	Pairs   int `json:"pairs"`
	Repeats int `json:"repeats"`
	Failed  int `json:"failed"`
	// Rounds are the verdicts compared, one per order and repeat;
	// Identical the share that are the same, with its Wilson interval.
	Rounds      int        `json:"rounds"`
	Identical   float64    `json:"identical"`
	IdenticalCI [2]float64 `json:"identical_ci"`
	// Kappa is Cohen's kappa between the judgment's verdicts and the
	// repeats' (nil when one verdict throughout), with its interval.
	Kappa   *float64    `json:"kappa"`
	KappaCI *[2]float64 `json:"kappa_ci"`
	// PairIdentical is the share of repeats whose combined verdict (both
	// orders) is the judgment's.
	PairIdentical float64 `json:"pair_identical"`
}

// DimensionDelta is one judge's scores on one dimension for a candidate's
// answers and the baseline's to the same samples: the means over the
// pairs where the judge scored both (over its rounds), and the paired
// difference with its 95% t-interval. Pairs the judge failed on are not
// in it. "rating" is a single-mode judge's overall grade.
type DimensionDelta struct {
	Judge     string `json:"judge"`
	Variant   string `json:"variant"`
	Dimension string `json:"dimension"`
	N         int    `json:"n"`
	// CandidateMean and BaselineMean are the two sides' mean scores (1–10).
	CandidateMean float64 `json:"candidate_mean"`
	BaselineMean  float64 `json:"baseline_mean"`
	Delta         float64 `json:"delta"`
	// CI is the paired difference's interval: cluster-robust (CR1, t on
	// Clusters − 1 degrees of freedom) when its pairs come from suites
	// that cluster their samples; null, with Undefined saying why, when
	// it cannot be computed.
	CI        *[2]float64 `json:"ci"`
	Clusters  int         `json:"clusters,omitempty"`
	Undefined string      `json:"undefined,omitempty"`
}

// JudgeRefusal compares, for one judge and one variant, the judge's
// reading of which answers decline (most of its rounds saying so) with
// the refusal pattern detector's, on the answers both read.
type JudgeRefusal struct {
	Judge   string `json:"judge"`
	Variant string `json:"variant"`
	N       int    `json:"n"`
	// Both, DetectorOnly, JudgeOnly and Neither count the answers each
	// called a refusal.
	Both         int `json:"both"`
	DetectorOnly int `json:"detector_only"`
	JudgeOnly    int `json:"judge_only"`
	Neither      int `json:"neither"`
	// DetectorRate and JudgeRate are each's share of refusals.
	DetectorRate float64 `json:"detector_rate"`
	JudgeRate    float64 `json:"judge_rate"`
	// Agreement is the share of answers both read alike; Kappa is
	// Cohen's kappa (nil when both gave one and the same label
	// throughout), and KappaCI its interval (nil when either gave one
	// label throughout: kappa is then 0, with no spread to estimate).
	Agreement float64     `json:"agreement"`
	Kappa     *float64    `json:"kappa"`
	KappaCI   *[2]float64 `json:"kappa_ci"`
}
