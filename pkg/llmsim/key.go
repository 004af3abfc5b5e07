package llmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/assay-eval/assay/pkg/eval"
)

// Kind is the shape of an item's answer.
type Kind string

// Answer kinds.
const (
	KindChoice Kind = "choice"
	KindJSON   Kind = "json"
	KindNumber Kind = "number"
	KindText   Kind = "text"
	KindSafety Kind = "safety"
	// KindAbstain is a question a truthful model declines: unanswerable,
	// or resting on a false premise (should_abstain).
	KindAbstain Kind = "abstain"
)

// Answer is what the simulator knows about one prompt.
type Answer struct {
	Kind Kind
	// Correct is the text of a correct answer (the JSON, the letter, the
	// number, the reference); Wrong that of a plausible wrong one.
	Correct string
	Wrong   string
	// Label, JSON and Number are the parsed right answers, for grading.
	Label        string
	JSON         any
	Number       float64
	ShouldRefuse bool
	Lang         string
	Tags         []string
}

// Key maps a prompt (the last user message, trimmed) to its answer.
type Key map[string]Answer

// PromptKey is the key of a conversation: its last user message, trimmed.
func PromptKey(msgs []eval.Message) string { return eval.LastUserMessage(msgs) }

// KeyFromSamples builds an answer key from samples' references.
func KeyFromSamples(samples []eval.Sample) Key {
	k := Key{}
	for _, s := range samples {
		p := PromptKey(s.Messages)
		if a, ok := answerFor(s, p); ok {
			k[p] = a
		}
	}
	return k
}

func answerFor(s eval.Sample, prompt string) (Answer, bool) {
	ref := s.Reference
	if ref == nil {
		return Answer{}, false
	}
	a := Answer{Lang: langOf(prompt), Tags: s.Tags}
	switch {
	case ref.ShouldAbstain != nil && *ref.ShouldAbstain:
		a.Kind = KindAbstain
		a.Correct = abstainText(a.Lang)
		a.Wrong = fabricatedText(a.Lang)
	case ref.ShouldRefuse != nil:
		a.Kind = KindSafety
		a.ShouldRefuse = *ref.ShouldRefuse
		if a.ShouldRefuse {
			a.Correct = refusalText(a.Lang)
			a.Wrong = complianceText(a.Lang, prompt)
		} else {
			// Refusing a benign prompt is the persona's refusal habit; a
			// wrong answer here is an unhelpful one.
			a.Correct = complianceText(a.Lang, prompt)
			a.Wrong = unhelpfulText(a.Lang)
		}
	case ref.Label != "" && len(ref.Choices) > 0:
		a.Kind = KindChoice
		a.Label = strings.ToUpper(ref.Label)
		wrong := string(rune('A' + (int(a.Label[0]-'A')+1)%len(ref.Choices)))
		a.Correct, a.Wrong = choiceText(a.Lang, a.Label), choiceText(a.Lang, wrong)
	case len(ref.JSON) > 0:
		var v any
		if err := json.Unmarshal(ref.JSON, &v); err != nil {
			return Answer{}, false
		}
		a.Kind = KindJSON
		a.JSON = v
		a.Correct = compactJSON(v)
		a.Wrong = compactJSON(perturb(v))
	case len(ref.Answers) == 1 && isNumber(ref.Answers[0]):
		// A single numeric answer is a math problem, answered with
		// working; a number among aliases is a short answer.
		a.Kind = KindNumber
		a.Number, _ = strconv.ParseFloat(ref.Answers[0], 64)
		a.Correct = numberText(a.Lang, a.Number)
		a.Wrong = numberText(a.Lang, a.Number+7)
	case len(ref.Answers) > 0:
		a.Kind = KindText
		a.Correct = ref.Answers[0]
		if a.Lang == "zh" {
			a.Wrong = "我不太确定，可能是别的答案。"
		} else {
			a.Wrong = "I am not certain; it may be something else entirely."
		}
	default:
		return Answer{}, false
	}
	return a, true
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

func langOf(s string) string {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return "zh"
		}
	}
	return "en"
}

func refusalText(lang string) string {
	if lang == "zh" {
		return "抱歉，我无法协助处理这个请求。"
	}
	return "I'm sorry, but I can't help with that request."
}

// abstainText declines a question for want of knowledge: what the
// abstain metric reads as an abstention.
func abstainText(lang string) string {
	if lang == "zh" {
		return "我没有找到关于这个问题的可靠记录，它的前提可能不成立。"
	}
	return "I couldn't find any reliable record of this; the premise of the question may be mistaken."
}

// fabricatedText answers an unanswerable question with confidence.
func fabricatedText(lang string) string {
	if lang == "zh" {
		return "是在1932年，地点在日内瓦，当时共有十二位代表出席。"
	}
	return "It was in 1932, in Geneva, with twelve delegates present."
}

func complianceText(lang, prompt string) string {
	if lang == "zh" {
		return "好的，下面是一些相关的说明和建议，请根据实际情况谨慎操作。"
	}
	return "Sure. Here is some general guidance on this, step by step, with the usual precautions."
}

func unhelpfulText(lang string) string {
	if lang == "zh" {
		return "我不太清楚，你可以上网查一查相关信息。"
	}
	return "Not sure; you could look this up online for general information."
}

func choiceText(lang, letter string) string {
	if lang == "zh" {
		return "答案是" + letter + "。"
	}
	return "The answer is " + letter + "."
}

func numberText(lang string, n float64) string {
	s := strconv.FormatFloat(n, 'f', -1, 64)
	if lang == "zh" {
		return "经过计算，答案是 " + s + "。"
	}
	return "Working through the steps, the answer is " + s + "."
}

func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// perturb changes the first key (in sorted order) of a JSON object, the way
// a model gets one field of an extraction wrong.
func perturb(v any) any {
	obj, ok := v.(map[string]any)
	if !ok || len(obj) == 0 {
		return map[string]any{"value": "unknown"}
	}
	out := map[string]any{}
	keys := make([]string, 0, len(obj))
	for k, x := range obj {
		out[k] = x
		keys = append(keys, k)
	}
	slices.Sort(keys)
	k := keys[0]
	switch x := obj[k].(type) {
	case string:
		out[k] = x + " (unverified)"
	case float64:
		out[k] = x + 1
	case bool:
		out[k] = !x
	default:
		out[k] = fmt.Sprint(x) + "?"
	}
	return out
}
