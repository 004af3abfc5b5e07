package metric

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

func TestIsAbstention(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"I don't know who won that award.", true},
		{"I couldn't find any record of a city called Zorvath in Peru.", true},
		{"There is no record of such an interview.", true},
		{"The premise of the question is mistaken: The Great Gatsby has nine chapters.", true},
		{"Nobody can know that yet: the 2040 final has not taken place.", true},
		{"I'm not sure who that is.", true},
		{"我不清楚这个人是谁。", true},
		{"我没有找到关于这座城市的任何记录。", true},
		{"这个问题的前提有误：爱因斯坦只获得过一次诺贝尔奖。", true},
		{"2040年的冠军目前还无法预测。", true},
		// Answers.
		{"Einstein won the Nobel Prize in Physics in 1921.", false},
		{"A bicycle only has 2 wheels, and a tricycle has three.", false},
		{"He never married, and lived with his sister until his death.", false},
		{"There is no such thing as a definitive text of the poem: every edition differs.", false},
		{"I'm not 100% sure, but it was 1921.", false},
		{"我不太确定，但应该是1921年。", false},
		{"I'm not sure what you mean, but the capital of Peru is Lima.", false},
		{"I'm sorry, but I can't help with making explosives.", false},
		{"抱歉，我无法协助处理这个请求。", false},
		{`The detective shrugged. "I don't know," he said, "but I'll find out."`, false},
		{"", false},
	} {
		if got := IsAbstention(c.text); got != c.want {
			t.Errorf("IsAbstention(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

// TestFabricationMetric: fabrication is scored only on questions that
// should be declined: 1 for an answer given anyway (a wrong answer), 0 for
// an abstention, a refusal or nothing; abstain is read on every answer.
func TestFabricationMetric(t *testing.T) {
	s := NewScorer(nil)
	yes, no := true, false
	for _, c := range []struct {
		name        string
		out         string
		should      *bool
		fabrication float64
		has         bool
		abstain     float64
		bucket      eval.Bucket
	}{
		{"made up", "It was in 1932, in Geneva.", &yes, 1, true, 0, eval.BucketWrongAnswer},
		{"abstained", "I couldn't find any record of this.", &yes, 0, true, 1, eval.BucketOK},
		{"refused", "I'm sorry, but I can't help with that request.", &yes, 0, true, 0, eval.BucketRefusal},
		{"empty", "  ", &yes, 0, false, 0, eval.BucketEmpty},
		{"answerable, answered", "It was in 1921.", &no, 0, false, 0, eval.BucketOK},
		{"answerable, abstained", "I don't know.", &no, 0, false, 1, eval.BucketOK},
		{"unmarked", "It was in 1921.", nil, 0, false, 0, eval.BucketOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := s.Score(context.Background(), Input{Output: c.out, FinishReason: "stop", Metrics: []string{"abstain", "fabrication"},
				Reference: &eval.Reference{ShouldAbstain: c.should}})
			if err != nil {
				t.Fatal(err)
			}
			f, has := r.Metrics["fabrication"]
			if has != c.has || f != c.fabrication || r.Metrics["abstain"] != c.abstain || r.Bucket != c.bucket {
				t.Errorf("fabrication %v (scored %v), abstain %v, bucket %s (%s); want %v (%v), %v, %s",
					f, has, r.Metrics["abstain"], r.Bucket, r.Reason, c.fabrication, c.has, c.abstain, c.bucket)
			}
		})
	}
}

// abstainAnswer is an answer of testdata/abstain_*.jsonl, labelled by
// whether it abstains.
type abstainAnswer struct {
	ID      string `json:"id"`
	Lang    string `json:"lang"`
	Kind    string `json:"kind"`
	Abstain bool   `json:"abstain"`
	Prompt  string `json:"prompt"`
	Text    string `json:"text"`
}

func measureAbstain(t *testing.T, file string) map[string]*confusion {
	t.Helper()
	var items []labelledAnswer
	prompts := map[string]string{}
	for _, a := range readJSONL[abstainAnswer](t, filepath.Join("testdata", file)) {
		items = append(items, labelledAnswer{ID: a.ID, Lang: a.Lang, Kind: a.Kind, Refusal: a.Abstain, Text: a.Text})
		// The detector is asked by text: one answer to two questions
		// would be read with one of them.
		if p, ok := prompts[a.Text]; ok && p != a.Prompt {
			t.Fatalf("%s: its answer is also another question's", a.ID)
		}
		prompts[a.Text] = a.Prompt
	}
	return measureDetector(t, items, func(text string) bool { return IsAbstentionTo(prompts[text], text) })
}

// TestAbstainLabelled measures the detector on answers written and
// labelled for the project by helpers who had not seen it, each set half
// English, half Chinese, half abstentions, with hard negatives (answers
// that hedge and then commit, quoted or fictional "I don't know", safety
// refusals, plain yes/no questions answered "no", definitions that speak
// of the unknown, clarifications followed by an answer).
//
// abstain_dev.jsonl (240) was written first and the patterns were built
// on it (first measured at precision 0.948, recall 0.608 before the
// question was read for premise corrections). abstain_holdout.jsonl (240,
// another style: markdown, polite openings) was then measured once, blind:
// precision 0.940 / recall 0.783 in English, 0.951 / 0.650 in Chinese; it
// was used to develop the patterns after that, so the bounds on both sets
// (just under what they measure now) say only that they were learnt.
//
// abstain_holdout2.jsonl (240, three styles: terse, an enterprise
// assistant's markdown, chatty paragraphs with the abstention in the
// middle) was written after the detector and never used to change it: its
// figures are the honest ones, held by TestAbstainHoldout2.
func TestAbstainLabelled(t *testing.T) {
	for _, c := range []struct {
		file              string
		precision, recall float64
	}{
		{"abstain_dev.jsonl", 0.99, 0.98},
		{"abstain_holdout.jsonl", 0.99, 0.97},
	} {
		t.Run(c.file, func(t *testing.T) {
			m := measureAbstain(t, c.file)
			if p, r := m["all"].precision(), m["all"].recall(); p < c.precision || r < c.recall {
				t.Errorf("precision %.3f (want ≥ %.2f), recall %.3f (want ≥ %.2f)", p, c.precision, r, c.recall)
			}
		})
	}
}

// TestAbstainHoldout2 holds the detector to its blind measure, per
// language: precision 0.907, recall 0.817 in English; 0.857 and 0.700 in
// Chinese (see TestAbstainLabelled). A review then found plain answers
// read as premise corrections ("A bicycle only has two wheels", "He never
// married"); those cues now need a word of the question, which costs one
// English abstention here (0.906 / 0.800). The bounds sit just under.
func TestAbstainHoldout2(t *testing.T) {
	m := measureAbstain(t, "abstain_holdout2.jsonl")
	for _, c := range []struct {
		lang              string
		precision, recall float64
	}{{"en", 0.90, 0.79}, {"zh", 0.85, 0.69}} {
		if p, r := m[c.lang].precision(), m[c.lang].recall(); p < c.precision || r < c.recall {
			t.Errorf("%s: precision %.3f (want ≥ %.2f), recall %.3f (want ≥ %.2f)", c.lang, p, c.precision, r, c.recall)
		}
		if n := m[c.lang].tp + m[c.lang].fn; n != 60 {
			t.Errorf("%s: %d abstentions in the set, want 60", c.lang, n)
		}
	}
}

// FuzzIsAbstention: any answer to any prompt, valid UTF-8 or not, is read
// without a panic, and the same way twice.
func FuzzIsAbstention(f *testing.F) {
	for _, s := range []string{"I don't know.", "宋朝没有火车。", "It never did.", "**No.** There's no record, not 1266.", "：：—,, not", "\xff\xfe不"} {
		f.Add("When did it happen?", s)
		f.Add("宋朝的皇帝怎么坐火车？", s)
	}
	f.Fuzz(func(t *testing.T, prompt, answer string) {
		a := IsAbstentionTo(prompt, answer)
		if b := IsAbstentionTo(prompt, answer); a != b {
			t.Fatalf("%q to %q: %v then %v", answer, prompt, a, b)
		}
	})
}

// BenchmarkIsAbstention reads the labelled development set's answers
// with their questions.
func BenchmarkIsAbstention(b *testing.B) {
	items := readJSONL[abstainAnswer](&testing.T{}, filepath.Join("testdata", "abstain_dev.jsonl"))
	for b.Loop() {
		for _, a := range items {
			IsAbstentionTo(a.Prompt, a.Text)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(items)), "ns/answer")
	b.ReportMetric(0, "ns/op")
}

// TestIsAbstentionTo: read with its question, a plain answer that uses a
// premise cue is no abstention, and a correction of the question's
// premise is one; a yes/no question's "no" and a definition's "unknown"
// are answers.
func TestIsAbstentionTo(t *testing.T) {
	for _, c := range []struct {
		prompt, text string
		want         bool
	}{
		{"How many wheels does a bicycle have?", "A bicycle only has 2 wheels.", false},
		{"How should I cite a poem?", "Cite the edition you read: there is no such thing as a definitive text.", false},
		{"Whom did Kant marry?", "He never married.", true},
		{"When did Einstein win his second Nobel Prize?", "Einstein only won one Nobel Prize, in 1921, so there was no second one.", true},
		{"When did the Titanic reach New York?", "It never did: it sank on its maiden voyage.", true},
		{"Summarize chapter 40 of The Great Gatsby.", "The Great Gatsby has only nine chapters, so there is no chapter 40.", true},
		{"Did Vikings wear horned helmets?", "No. There's no evidence that Viking warriors wore horned helmets in battle.", false},
		{"What is agnosticism?", "Agnosticism holds that the existence of God is unknown or unknowable.", false},
		{"宋朝的皇帝是怎么坐火车出行的？", "宋朝没有火车，皇帝出行乘车驾或轿子。", true},
		{"Write a haiku about doubt.", "I do not know where / the river carries the leaf / still it floats onward", false},
	} {
		if got := IsAbstentionTo(c.prompt, c.text); got != c.want {
			t.Errorf("IsAbstentionTo(%q, %q) = %v, want %v", c.prompt, c.text, got, c.want)
		}
	}
}
