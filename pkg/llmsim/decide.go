package llmsim

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/eval"
)

// Outcome is what a persona does with a prompt.
type Outcome string

// Outcomes of [Sim.Decide].
const (
	OutcomeCorrect Outcome = "correct"
	OutcomeWrong   Outcome = "wrong"
	OutcomeRefuse  Outcome = "refuse"
	OutcomeBroken  Outcome = "broken_json"
	// OutcomeOffTopic answers something else than the question.
	OutcomeOffTopic Outcome = "off_topic"
	// OutcomeGeneric is the answer to a prompt the key does not know.
	OutcomeGeneric Outcome = "generic"
)

// Decision is everything a persona decides about one prompt.
type Decision struct {
	Outcome   Outcome
	Verbose   bool
	Truncated bool
	Think     bool
	// Flaky: the first call fails transiently; Down: every call fails.
	Flaky bool
	Down  bool
	// Templated: the answer is wrapped in the persona's template
	// (TemplateText).
	Templated bool
	// Text is the answer's content as sent (reasoning included when Think).
	Text string
	// Answer is Text without the reasoning trace.
	Answer       string
	FinishReason string
}

// u maps (seed, who, purpose, text) to a number in [0, 1).
func (s *Sim) u(who, purpose, text string) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(s.seed))
	h.Write(b[:])
	h.Write([]byte(who))
	h.Write([]byte{0})
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(text))
	return float64(mix(h.Sum64())>>11) / (1 << 53)
}

// mix is the splitmix64 finaliser: FNV's high bits barely depend on the
// last bytes hashed, and prompts of a suite often end alike.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Decide returns persona p's choices for a prompt (see [PromptKey]).
func (s *Sim) Decide(p Persona, prompt string) Decision {
	if like, ok := s.personas[p.Like]; ok && like.Like == "" && s.u(p.Name, "differ", prompt) >= p.Differ && !slices.Contains(p.DifferOn, prompt) {
		d := s.Decide(like, prompt)
		d.Down = s.u(p.Name, "down", prompt) < p.Down
		d.Flaky = s.u(p.Name, "flaky", prompt) < p.Flaky
		return d
	}
	d := Decision{Think: p.Think, FinishReason: "stop"}
	d.Down = s.u(p.Name, "down", prompt) < p.Down
	d.Flaky = s.u(p.Name, "flaky", prompt) < p.Flaky
	a, known := s.key[prompt]
	lang := langOf(prompt)
	var text string
	switch {
	case known && a.Kind == KindSafety && a.ShouldRefuse:
		if s.u(p.Name, "refuse", prompt) < p.SafetyRefusal {
			d.Outcome, text = OutcomeRefuse, a.Correct
		} else {
			d.Outcome, text = OutcomeWrong, a.Wrong
		}
	case s.u(p.Name, "refuse", prompt) < p.Refusal:
		// Over-refusal strikes prompts the key does not know too
		// (production queries).
		d.Outcome, text = OutcomeRefuse, refusalText(lang)
	case p.OffTopic > 0 && !(known && a.Kind == KindSafety) && s.u(p.Name, "off_topic", prompt) < p.OffTopic:
		d.Outcome, text = OutcomeOffTopic, offTopicText(lang)
	case !known:
		d.Outcome = OutcomeGeneric
		text = genericText(lang, prompt)
	case a.Kind == KindAbstain:
		if s.u(p.Name, "fabricate", prompt) < p.Fabrication {
			d.Outcome, text = OutcomeWrong, a.Wrong
		} else {
			d.Outcome, text = OutcomeCorrect, a.Correct
		}
	case s.u(p.Name, "correct", prompt) < accuracy(p, a):
		d.Outcome, text = OutcomeCorrect, a.Correct
	default:
		d.Outcome, text = OutcomeWrong, a.Wrong
	}
	isJSON := known && a.Kind == KindJSON && d.Outcome != OutcomeRefuse
	if isJSON && s.u(p.Name, "json_break", prompt) < p.JSONBreak {
		d.Outcome = OutcomeBroken
		text = text[:len(text)/2]
	}
	if d.Outcome != OutcomeRefuse && s.u(p.Name, "verbose", prompt) < p.Verbosity {
		d.Verbose = true
		if isJSON {
			text = preface(lang) + "```json\n" + text + "\n```"
		} else {
			text = preface(lang) + text
		}
	}
	if d.Outcome != OutcomeRefuse && s.u(p.Name, "template", prompt) < p.Template {
		d.Templated = true
		open, end := TemplateText(lang)
		text = open + text + end
	}
	// Refusals are short: they are never cut off.
	if d.Outcome != OutcomeRefuse && s.u(p.Name, "truncate", prompt) < p.Truncate {
		d.Truncated = true
		d.FinishReason = "length"
		text = cutRunes(text, utf8.RuneCountInString(text)/2)
	}
	d.Answer = text
	d.Text = text
	if d.Think {
		d.Text = "<think>\n" + thinkText(lang) + "\n</think>\n\n" + text
	}
	return d
}

func accuracy(p Persona, a Answer) float64 {
	for _, t := range a.Tags {
		if v, ok := p.TagAccuracy[t]; ok {
			return v
		}
	}
	return p.Accuracy
}

func preface(lang string) string {
	if lang == "zh" {
		return "好的，这是我的回答。\n\n"
	}
	return "Certainly! Here is my answer.\n\n"
}

func thinkText(lang string) string {
	if lang == "zh" {
		return "用户的问题需要仔细分析。我先理清条件，再给出答案。"
	}
	return "The user wants a precise answer. Let me check the details before answering."
}

func genericText(lang, prompt string) string {
	words := strings.Fields(prompt)
	if len(words) > 6 {
		words = words[:6]
	}
	if lang == "zh" {
		return "这是对“" + cutRunes(prompt, 12) + "”的模拟回答。"
	}
	return "This is a simulated answer about: " + strings.Join(words, " ") + "."
}

func cutRunes(s string, n int) string {
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// Grades of an answer, best first.
const (
	GradeGood    = 3 // correct, or a refusal of a prompt that should be refused
	GradeWrong   = 2 // an answer, but not the right one
	GradeBroken  = 1 // unusable format: broken JSON, no letter, no number
	GradeHarmful = 0 // empty, an over-refusal, or compliance with a harmful prompt
)

var (
	letterRE = regexp.MustCompile(`(?:answer is|答案是)\s*\(?([A-J])\b`)
	numberRE = regexp.MustCompile(`-?\d+(?:\.\d+)?`)
)

// Grade is how the simulated judge rates an answer to a prompt.
func (s *Sim) Grade(prompt, answer string) int {
	answer = strings.TrimSpace(answer)
	if answer == "" {
		return GradeHarmful
	}
	a, known := s.key[prompt]
	if isOffTopic(answer) {
		return GradeWrong
	}
	if isRefusal(answer) {
		if known && a.Kind == KindSafety && a.ShouldRefuse {
			return GradeGood
		}
		return GradeHarmful
	}
	if !known {
		return GradeWrong
	}
	switch a.Kind {
	case KindSafety:
		if a.ShouldRefuse {
			return GradeHarmful
		}
	case KindChoice:
		m := letterRE.FindStringSubmatch(answer)
		if m == nil {
			return GradeBroken
		}
		if m[1] == a.Label {
			return GradeGood
		}
		return GradeWrong
	case KindJSON:
		i, j := strings.IndexByte(answer, '{'), strings.LastIndexByte(answer, '}')
		var v any
		if i < 0 || j < i || json.Unmarshal([]byte(answer[i:j+1]), &v) != nil {
			return GradeBroken
		}
		if reflect.DeepEqual(v, a.JSON) {
			return GradeGood
		}
		return GradeWrong
	case KindNumber:
		ms := numberRE.FindAllString(answer, -1)
		if len(ms) == 0 {
			return GradeBroken
		}
		if n, _ := strconv.ParseFloat(ms[len(ms)-1], 64); n == a.Number {
			return GradeGood
		}
		return GradeWrong
	}
	if strings.Contains(answer, a.Correct) {
		return GradeGood
	}
	return GradeWrong
}

// TemplateText is the opening and closing a templated answer is wrapped in.
func TemplateText(lang string) (opening, closing string) {
	if lang == "zh" {
		return "作为您的智能助手，我来回答：", "希望对您有帮助！"
	}
	return "As a helpful assistant, I can tell you: ", " I hope this helps!"
}

// offTopicText is the answer of a persona that misses the question.
func offTopicText(lang string) string {
	if lang == "zh" {
		return "说到这个，我想起一个做葱油饼的好方法：面要烫一半冷一半，擀薄后抹油卷起，小火慢煎到两面金黄。"
	}
	return "That reminds me of a good way to make pancakes: whisk the eggs and milk first, fold in the flour gently, and let the batter rest before the pan is hot."
}

// isOffTopic reports whether an answer is one of the simulator's
// off-topic answers.
func isOffTopic(s string) bool {
	return strings.Contains(s, offTopicText("en")) || strings.Contains(s, offTopicText("zh"))
}

func isRefusal(s string) bool {
	return strings.Contains(s, refusalText("en")) || strings.Contains(s, refusalText("zh"))
}

// CountTokens approximates a tokenizer deterministically: each run of ASCII
// letters or digits is a token, and so is every other non-space character.
func CountTokens(s string) int { return eval.ApproxTokens(s) }
