package perturb

import (
	"strings"
	"testing"
	"unicode"
)

// TestLongContext: the question is kept whole, at the end (prose before)
// or the start (prose after); the prose is at least the tokens asked and
// less than a paragraph more, in the question's language, the same for the
// same seed and another for another seed.
func TestLongContext(t *testing.T) {
	en := "What is the boiling point of water at sea level in Celsius?"
	zh := "海平面上水的沸点是多少摄氏度？"
	longest := 0
	for _, lang := range []string{"en", "zh"} {
		for _, p := range fillerParagraphs[lang] {
			longest = max(longest, CountTokens(p))
		}
		if n := len(fillerParagraphs[lang]); n < 20 {
			t.Fatalf("%d %s paragraphs", n, lang)
		}
	}
	for _, c := range []struct {
		text   string
		tokens int
		before bool
	}{{en, 2000, true}, {en, 500, false}, {zh, 3000, true}, {zh, 10, false}, {en, 20000, true}} {
		out, added := LongContext("qa\x00q1", c.text, c.tokens, c.before)
		if c.before && !strings.HasSuffix(out, "\n\n"+c.text) || !c.before && !strings.HasPrefix(out, c.text+"\n\n") {
			t.Fatalf("the question is not whole at its end: %.80q…", out)
		}
		prose := strings.TrimSpace(strings.Replace(out, c.text, "", 1))
		if added < c.tokens || added >= c.tokens+longest || CountTokens(prose) != added {
			t.Errorf("%d tokens asked: %d added, %d in the prose, paragraphs up to %d", c.tokens, added, CountTokens(prose), longest)
		}
		han := strings.ContainsFunc(prose, func(r rune) bool { return unicode.Is(unicode.Han, r) })
		if han != (c.text == zh) {
			t.Errorf("prose in the wrong language for %q: %.60q", c.text, prose)
		}
		again, _ := LongContext("qa\x00q1", c.text, c.tokens, c.before)
		other, _ := LongContext("qa\x00q2", c.text, c.tokens, c.before)
		if again != out {
			t.Error("the same seed gave other prose")
		}
		if c.tokens >= 500 && other == out {
			t.Error("another seed gave the same prose")
		}
	}
}

// TestFillerIsNeutral: the prose asks nothing and tells the model nothing
// to do, so that a copy measures the length of its context alone.
func TestFillerIsNeutral(t *testing.T) {
	for lang, ps := range fillerParagraphs {
		for i, p := range ps {
			lower := strings.ToLower(p)
			for _, w := range []string{"?", "？", "answer", "ignore", "please", "question", "instruction", "回答", "忽略", "请", "问题", "指令"} {
				if strings.Contains(lower, w) {
					t.Errorf("%s paragraph %d holds %q", lang, i+1, w)
				}
			}
		}
	}
}

// TestInstructionConflict: a question gets a conflict in its own
// language, the same for the same seed, every conflict some seed's, and
// each override names what it cancels.
func TestInstructionConflict(t *testing.T) {
	for lang, text := range map[string]string{"en": "Who wrote Hamlet?", "zh": "《哈姆雷特》的作者是谁？"} {
		seen := map[string]bool{}
		for i := range 200 {
			c := InstructionConflict(string(rune('a'+i%26))+strings.Repeat("x", i/26), text)
			if c != InstructionConflict(string(rune('a'+i%26))+strings.Repeat("x", i/26), text) {
				t.Fatal("the same seed gave another conflict")
			}
			seen[c.Instruction] = true
		}
		if len(seen) != len(conflicts[lang]) {
			t.Errorf("%s: %d of %d conflicts drawn", lang, len(seen), len(conflicts[lang]))
		}
		for _, c := range conflicts[lang] {
			if !seen[c.Instruction] {
				continue
			}
			han := strings.ContainsFunc(c.Instruction+c.Override, func(r rune) bool { return unicode.Is(unicode.Han, r) })
			if han != (lang == "zh") || c.Ack == "" {
				t.Errorf("%s conflict %+v", lang, c)
			}
		}
	}
}
