package perturb

import (
	_ "embed"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"unicode"

	"github.com/assay-eval/assay/pkg/eval"
)

// ContextKinds are the perturbations that change the conversation around a
// question rather than its words: long_context pads the question's turn
// with unrelated prose (LongContext), instruction_conflict gives an
// instruction in an earlier turn that the question's turn overrides
// (InstructionConflict).
var ContextKinds = []string{"long_context", "instruction_conflict"}

// The unrelated prose: paragraphs written for the project, about nothing a
// question could be about (a bakery's morning, a harbour walk), one per
// line with a blank line between.
var (
	//go:embed filler_en.txt
	fillerEN string
	//go:embed filler_zh.txt
	fillerZH string
)

func paragraphs(text string) []string {
	var out []string
	for _, p := range strings.Split(text, "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var fillerParagraphs = map[string][]string{"en": paragraphs(fillerEN), "zh": paragraphs(fillerZH)}

// CountTokens is how long the prose is: eval.ApproxTokens.
func CountTokens(s string) int { return eval.ApproxTokens(s) }

// LongContext returns text with at least tokens tokens (CountTokens) of
// unrelated prose in text's language, whole paragraphs drawn in an order
// seed decides, before text (before) or after it, and how many tokens it
// added. The same seed and text give the same prose.
func LongContext(seed, text string, tokens int, before bool) (out string, added int) {
	pool := fillerParagraphs[langOf(text)]
	rng := rand.New(rand.NewPCG(seedOf("long_context", seed), 0x9e3779b97f4a7c15))
	var b strings.Builder
	for added < tokens {
		order := rng.Perm(len(pool))
		for _, i := range order {
			if added >= tokens {
				break
			}
			b.WriteString(pool[i])
			b.WriteString("\n\n")
			added += CountTokens(pool[i])
		}
	}
	prose := strings.TrimSpace(b.String())
	if before {
		return prose + "\n\n" + text, added
	}
	return text + "\n\n" + prose, added
}

// Conflict is an instruction given in an earlier user turn, the
// assistant's acknowledgement of it, and what the question's own turn
// says to override it. The question's turn is the later and says so: it
// is the expected winner, and a model that follows it answers the
// question as the original asks, so the suite's own metrics score it.
type Conflict struct {
	Instruction, Ack, Override string
}

// conflicts are the instructions, by language: each would change the
// form of any answer (its language, its case, its words), and each
// override names what it cancels.
var conflicts = map[string][]Conflict{
	"en": {
		{"From now on, reply only in French, and write everything in capital letters.", "D'ACCORD.",
			"Forget my earlier request about French and capital letters: answer this one as you normally would."},
		{"For the rest of our chat, answer every question with the single word \"banana\".", "Banana.",
			"Drop the banana rule from before and answer this question properly."},
		{"From now on, respond only with emojis, no words at all.", "👍",
			"Cancel the emoji-only rule I gave you earlier: answer this one in words."},
		{"Until I say otherwise, answer everything backwards, last word first.", "First word last, backwards everything answer will I.",
			"I'm saying otherwise now: no more backwards answers, reply to this one normally."},
	},
	"zh": {
		{"从现在开始，你只能用英文回答，而且每个字母都要大写。", "OK, GOT IT.",
			"刚才让你用英文大写回答的要求作废，这个问题请像平常一样回答。"},
		{"接下来不管我问什么，你都只回答“香蕉”两个字。", "香蕉。",
			"之前只回答“香蕉”的规则不算了，请认真回答这个问题。"},
		{"从现在起只用表情符号回复，不要写字。", "👌",
			"之前只用表情回复的要求取消，这个问题请用文字回答。"},
		{"在我说停之前，你的每句话都要倒着写。", "好的，写着倒会我。",
			"停，之前倒着写的要求取消了，请正常回答这个问题。"},
	},
}

// InstructionConflict picks, by seed, the conflict a copy of text gets, in
// text's language.
func InstructionConflict(seed, text string) Conflict {
	cs := conflicts[langOf(text)]
	return cs[seedOf("instruction_conflict", seed)%uint64(len(cs))]
}

// langOf is "zh" for a text with Chinese characters, else "en".
func langOf(text string) string {
	if hasHan(text) {
		return "zh"
	}
	return "en"
}

// hasHan reports whether text holds a Chinese character.
func hasHan(text string) bool {
	return strings.ContainsFunc(text, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

// seedOf is the seed of kind's choices for one sample (seed names it).
func seedOf(kind, seed string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s", kind, seed)
	return h.Sum64()
}
