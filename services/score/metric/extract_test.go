package metric

import (
	"math"
	"strings"
	"testing"
)

func TestExtractChoice(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		n      int
		want   string
		wantOK bool
	}{
		// English announcements.
		{"answer is (C)", "The answer is (C)", 4, "C", true},
		{"answer is C.", "After checking each option, the answer is C.", 4, "C", true},
		{"Answer: lower-case at the end", "Answer: b", 4, "B", true},
		{"lower-case in parentheses", "The answer is (d) because…", 4, "D", true},
		{"correct answer in bold", "The correct answer is **B**.", 4, "B", true},
		{"Final Answer bold", "Final Answer: **C**", 4, "C", true},
		{"answer would be", "So the answer would be D", 4, "D", true},
		{"best option is", "The best option is (A).", 4, "A", true},
		{"I choose", "I choose B.", 4, "B", true},
		{"boxed", "Therefore $\\boxed{C}$.", 4, "C", true},
		{"quoted", `The answer is "A".`, 4, "A", true},
		// Chinese announcements.
		{"答案是B", "答案是B", 4, "B", true},
		{"答案：C with full-width colon", "答案：C", 4, "C", true},
		{"答案为（B） with full-width parentheses", "答案为（B）", 4, "B", true},
		{"正确答案是A。", "经过分析，正确答案是A。", 4, "A", true},
		{"我选B", "我选B", 4, "B", true},
		{"应该选择C", "综上所述，应该选择C", 4, "C", true},
		{"答案选D", "答案选D。", 4, "D", true},
		{"答案是 (D) with spaces", "答案是 (D)", 4, "D", true},
		{"traditional 答案為", "答案為B", 4, "B", true},
		// The last announcement wins.
		{"restated choice", "The answer is A. Wait, let me reconsider. The answer is C.", 4, "C", true},
		{"restated in Chinese", "答案是A。不对，重新计算后答案是C。", 4, "C", true},
		// Mentions are not announcements.
		{"a later option mention is no answer", "答案是C，因为选项A错误", 4, "C", true},
		{"article a is not option A", "The answer is a bit tricky. Answer: D", 4, "D", true},
		{"article only", "The answer is a bit tricky.", 4, "", false},
		{"pick a word", "Let me pick a strategy first. The answer is B.", 4, "B", true},
		{"pronoun I is not option I", "Answer: I think it is B.", 10, "", false},
		{"option I itself", "Answer: I", 10, "I", true},
		{"word starting with a letter", "答案是Beijing", 4, "", false},
		// Bold, lone and leading letters.
		{"bold letter", "**B**", 4, "B", true},
		{"bold in parentheses", "Between them I prefer **(B)**", 4, "B", true},
		{"bold with text", "**B. Paris**\nParis is the capital.", 4, "B", true},
		{"last bold wins", "**A** is wrong, so **C**", 4, "C", true},
		{"leading B.", "B. Paris is the capital of France.", 4, "B", true},
		{"leading (B)", "(B) Paris", 4, "B", true},
		{"leading Chinese 、", "B、巴黎", 4, "B", true},
		{"leading Chinese ：", "C：北京是首都", 4, "C", true},
		{"lone B", "B", 4, "B", true},
		{"lone lower-case", "b", 4, "B", true},
		{"lone with spaces", "  (c)\n", 4, "C", true},
		{"lone with full-width parenthesis", "（D）", 4, "D", true},
		{"lone with Chinese full stop", "A。", 4, "A", true},
		// Out of range and nothing found.
		{"letter beyond the options", "The answer is E", 4, "", false},
		{"unknown option count allows J", "The answer is E", 0, "E", true},
		{"announced out of range, earlier in range", "The answer is B. Actually the answer is F.", 4, "B", true},
		{"no letter", "Paris", 4, "", false},
		{"number", "The answer is 42", 4, "", false},
		{"empty", "", 4, "", false},
		{"A as an article starting a sentence", "A good answer needs care.", 4, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExtractChoice(tt.text, tt.n)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ExtractChoice(%q, %d) = %q, %v; want %q, %v", tt.text, tt.n, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestExtractNumber(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		want   float64
		wantOK bool
	}{
		{"GSM8K strict", "She has 3 apples.\n#### 42", 42, true},
		{"strict wins over later numbers", "#### 42\nThat is 6 times 7.", 42, true},
		{"strict with separators", "#### 1,234", 1234, true},
		{"strict with dollar", "#### $12", 12, true},
		{"strict negative", "#### -5", -5, true},
		{"strict unreadable falls back", "#### . The answer is 3", 3, true},
		{"thousands and decimals", "The total is 1,234.5", 1234.5, true},
		{"dollar", "It costs $12", 12, true},
		{"dollar with cents and trailing period", "It costs $1,000.50.", 1000.5, true},
		{"negative", "-3", -3, true},
		{"negative in a sentence", "The temperature fell to -3 degrees.", -3, true},
		{"negative dollars", "a loss of -$12", -12, true},
		{"unicode minus", "x = −7", -7, true},
		{"trailing period", "12.", 12, true},
		{"last of several", "First 3 apples, then 5 more, so 8 in total.", 8, true},
		{"decimal", "p = 0.5", 0.5, true},
		{"range is not a negative", "in 2023-2024", 2024, true},
		{"hyphenated name", "COVID-19", 19, true},
		{"list comma is no separator", "the pairs 3,4", 4, true},
		{"trailing comma", "5,", 5, true},
		{"Chinese", "答案是42元。", 42, true},
		{"Chinese with separators", "共有1,200个", 1200, true},
		{"large", "99999999999999999999", 1e20, true},
		{"no number", "no idea", 0, false},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExtractNumber(tt.text)
			if ok != tt.wantOK || (ok && !NumbersEqual(got, tt.want)) {
				t.Errorf("ExtractNumber(%q) = %v, %v; want %v, %v", tt.text, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	// parseNumber reads references as well as answers.
	tests := []struct {
		in     string
		want   float64
		wantOK bool
	}{
		{"42", 42, true},
		{" 42\n", 42, true},
		{"1,234", 1234, true},
		{"$12", 12, true},
		{"-3", -3, true},
		{"−3", -3, true},
		{"12.", 12, true},
		{"1e3", 1000, true},
		{"", 0, false},
		{"abc", 0, false},
		{"inf", 0, false},
		{"NaN", 0, false},
		{"1e999", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseNumber(tt.in)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("parseNumber(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestNumbersEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b float64
		want bool
	}{
		{"float formatting", 0.1 + 0.2, 0.3, true},
		{"equal", 42, 42, true},
		{"relative at large scale", 1e12, 1e12 + 1e-4, true},
		// Whole numbers compare exactly, whatever their size.
		{"off by one at a billion", 1000000000, 1000000001, false},
		{"phone numbers", 13800138000, 13800138009, false},
		{"millisecond timestamps", 1700000000000, 1700000000001, false},
		{"whole and formatted whole", 1234, 1234.0, true},
		{"absolute near zero", 0, 1e-10, true},
		{"too far near zero", 0, 1e-8, false},
		{"small relative difference", 1, 1.000001, false},
		{"sign", -3, 3, false},
		{"NaN", math.NaN(), math.NaN(), false},
		{"infinity", math.Inf(1), math.Inf(1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NumbersEqual(tt.a, tt.b); got != tt.want {
				t.Errorf("NumbersEqual(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := NumbersEqual(tt.b, tt.a); got != tt.want {
				t.Errorf("NumbersEqual not symmetric for %v, %v", tt.a, tt.b)
			}
		})
	}
}

func FuzzExtractChoice(f *testing.F) {
	for _, s := range []string{
		"The answer is (C)", "答案是B", "**B**", "B.", "b", "答案是C，因为选项A错误",
		"Answer: I think", "$\\boxed{J}$", "（D）", "B、巴黎", "**(", "答案：", "",
	} {
		f.Add(s, 4)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		got, ok := ExtractChoice(s, n)
		if !ok {
			if got != "" {
				t.Fatalf("ExtractChoice(%q, %d) = %q with ok false", s, n, got)
			}
			return
		}
		limit := n
		if limit < 1 || limit > 10 {
			limit = 10
		}
		if len(got) != 1 || got[0] < 'A' || int(got[0]-'A') >= limit {
			t.Fatalf("ExtractChoice(%q, %d) = %q, want a letter among the first %d", s, n, got, limit)
		}
	})
}

func FuzzExtractNumber(f *testing.F) {
	for _, s := range []string{
		"#### 42", "1,234.5", "$12", "-3", "12.", "−7", "2023-2024", "3,4", "#### .", "#### ,,,",
		"1,2,3,4,5", "-$", "答案是42元", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ExtractNumber(s)
		if !ok {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("ExtractNumber(%q) = %v", s, v)
		}
		// A number is only found where a digit is.
		if !strings.ContainsAny(s, "0123456789") {
			t.Fatalf("ExtractNumber(%q) = %v from text without digits", s, v)
		}
		// A readable strict answer is final: prose after it changes nothing.
		if m := strictNumberRE.FindAllStringSubmatch(s, -1); len(m) > 0 {
			if want, ok := parseNumber(m[len(m)-1][1]); ok {
				if v != want {
					t.Fatalf("ExtractNumber(%q) = %v, want the strict %v", s, v, want)
				}
				if w, _ := ExtractNumber(s + "\nand 7 more"); w != v {
					t.Fatalf("ExtractNumber(%q) changed from %v to %v with trailing prose", s, v, w)
				}
			}
		}
	})
}

func TestLMEvalNumberMatch(t *testing.T) {
	// lm-evaluation-harness's GSM8K filters and exact_match options,
	// worked through by hand from its gsm8k.yaml.
	for _, c := range []struct {
		name, output, reference string
		strict, flexible        bool
	}{
		{"strict form", "5 + 7 = 12\n#### 12", "Adding gives 12.\n#### 12", true, true},
		// The strict pattern has no dollar sign: lm-eval scores this 0.
		{"thousands separators and dollars", "#### $1,234", "#### 1234", false, true},
		{"thousands separators", "#### 1,234", "#### 1234", true, true},
		{"first #### wins for strict, last number for flexible", "#### 3\nActually #### 4", "#### 4", false, true},
		{"no #### fails strict", "The answer is 18.", "#### 18", false, true},
		{"trailing period", "so $18.", "18", false, true},
		{"12.50 is not 12.5, as in lm-eval", "#### 12.50", "#### 12.5", false, false},
		{"negative", "It drops to -3 degrees", "-3", false, true},
		// The flexible pattern needs two characters or a digit run; the
		// last match is "5" here.
		{"last number", "3 apples and 5 pears", "5", false, true},
		{"no number", "I am not sure.", "7", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, sok := ExtractNumberStrict(c.output)
			f, fok := ExtractNumberFlexible(c.output)
			if got := sok && NumberAnswerMatch(s, c.reference); got != c.strict {
				t.Errorf("strict: extracted %q (%v), match %v, want %v", s, sok, got, c.strict)
			}
			if got := fok && NumberAnswerMatch(f, c.reference); got != c.flexible {
				t.Errorf("flexible: extracted %q (%v), match %v, want %v", f, fok, got, c.flexible)
			}
		})
	}
}

func FuzzExtractNumberLMEval(f *testing.F) {
	for _, s := range []string{"#### 42", "#### $1,234.", "-5.", "a 1 b 2", "", "####", "$$,,..", "\n#### -\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, extract := range []func(string) (string, bool){ExtractNumberStrict, ExtractNumberFlexible} {
			got, ok := extract(s)
			if !ok {
				continue
			}
			if got == "" || !strings.Contains(s, got) {
				t.Fatalf("extracted %q from %q", got, s)
			}
			if !NumberAnswerMatch(got, got) {
				t.Fatalf("%q does not match itself", got)
			}
		}
	})
}
