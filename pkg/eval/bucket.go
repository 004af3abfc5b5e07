package eval

// VerboseMinChars and VerboseFactor state the verbose rule: an answer is
// verbose when it has at least VerboseMinChars characters and more than
// VerboseFactor times what was needed, the longer of the baseline's answer
// to the same sample and the sample's reference.
const (
	VerboseMinChars = 300
	VerboseFactor   = 2
)

// BucketFacts are what the report knows about an answer beyond its score:
// the judge's reading of it and the lengths it is compared with.
type BucketFacts struct {
	// OffTopic is the gate's judge (or the first judge) saying the answer
	// does not address the question, in most of the rounds that said
	// anything about it.
	OffTopic bool
	// Chars is the answer's length; BaselineChars the baseline's answer's
	// to the same sample when that answer is ok (-1 otherwise, and for the
	// baseline itself); RefChars the reference's (0: none).
	Chars, BaselineChars, RefChars int
}

// RefineBucket is the bucket of a scored answer once the judge's reading
// and the baseline's answer are known. The score stage's buckets stand
// above off_topic (an error, an empty, cut-off or refused answer, broken
// format); off_topic then takes a wrong or passing answer the judge says
// misses the question; verbose takes a passing answer markedly longer
// than needed (see [VerboseFactor]). Without a baseline's answer or a
// reference there is nothing to call it longer than, and it stays ok.
func RefineBucket(b Bucket, f BucketFacts) Bucket {
	if b != BucketOK && b != BucketWrongAnswer {
		return b
	}
	if f.OffTopic {
		return BucketOffTopic
	}
	if b != BucketOK || f.Chars < VerboseMinChars {
		return b
	}
	needed := max(f.BaselineChars, f.RefChars)
	if needed <= 0 || f.Chars <= VerboseFactor*needed {
		return b
	}
	return BucketVerbose
}

// Readings of an answer a judge gives in each round (see [Round]).
const (
	ReadingOffTopic = "off_topic"
	ReadingRefusal  = "refusal"
)

// MostSay reads a judgment's rounds for one reading (ReadingOffTopic or
// ReadingRefusal) of one side ("candidate" or "baseline"): said when some
// round that did not fail said anything about it, yes when most of those
// rounds said yes.
func MostSay(rounds []Round, reading, side string) (said, yes bool) {
	n, y := 0, 0
	for _, r := range rounds {
		if r.Error != "" {
			continue
		}
		m := r.OffTopic
		if reading == ReadingRefusal {
			m = r.Refusal
		}
		if b, ok := m[side]; ok {
			n++
			if b {
				y++
			}
		}
	}
	return n > 0, 2*y > n
}
