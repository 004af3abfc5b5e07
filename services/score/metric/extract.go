package metric

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

var (
	// choiceAnnouncedRE finds a phrase that announces the chosen option,
	// in English or Chinese, followed by the letter. An upper-case letter
	// must end there ("is B." but not "is Because"); a lower-case one must
	// be closed by punctuation or the end of the line, so that the article
	// in "the answer is a bit tricky" is not option A. A bare mention of an
	// option ("选项A", "option A") announces nothing.
	choiceAnnouncedRE = regexp.MustCompile(`(?:` +
		`(?i:\banswer(?:\s+(?:is|would\s+be|should\s+be|must\s+be|will\s+be)|\s*[:：])` +
		`|\bcorrect\s+(?:option|choice)\s*(?:is|[:：])|\boption\s+is|\bchoose|\bpick|\bselect|\bgo\s+with)` +
		`|\\boxed\{` +
		`|答案(?:应该是|應該是|应为|應為|是|为|為|选|選|：|:)` +
		`|正[确確](?:答案|选项|選項)(?:是|为|為|：|:)` +
		`|选项(?:是|为)|選項(?:是|為)|选择?|選擇?` +
		`)\s*[:：]?\s*[*(（\[“"'‘]*\s*` +
		`(?:([A-J])\b|([a-j])(?:[)）\]}.:：。”"'’*]|\s*(?m:$)))`)
	choiceBoldRE = regexp.MustCompile(`\*\*\s*[(（]?\s*([A-J])\s*[)）]?(?:[.:：、]\s*[^*\n]{0,80})?\s*\*\*`)
	choiceLoneRE = regexp.MustCompile(`^[(（\[]?\s*([A-Ja-j])\s*[)）\].:：、。]?$`)
	// choiceLeadRE is an answer that starts with its option: "B. Paris",
	// "(B) Paris", and in Chinese, where no space follows, "B、巴黎".
	choiceLeadRE = regexp.MustCompile(`^[(（\[]?([A-J])(?:[)）\].:]\s|[）：、])`)
	pronounIRE   = regexp.MustCompile(`^\s+[a-z']`)
)

// ExtractChoice finds the option letter an answer chose among n options:
// "The answer is (C)", "答案是B", "**B**", "B." at the start, or a lone
// letter. The last announced letter wins, since models restate their final
// choice at the end.
func ExtractChoice(text string, n int) (string, bool) {
	if n < 1 || n > 10 {
		n = 10
	}
	valid := func(l string) (string, bool) {
		l = strings.ToUpper(l)
		if l[0]-'A' < byte(n) {
			return l, true
		}
		return "", false
	}
	text = strings.TrimSpace(text)
	ms := choiceAnnouncedRE.FindAllStringSubmatchIndex(text, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		start, end := m[2], m[3]
		if start < 0 {
			start, end = m[4], m[5]
		}
		// "Answer: I think it is B" announces the pronoun, not option I.
		if text[start:end] == "I" && pronounIRE.MatchString(text[end:]) {
			continue
		}
		if l, ok := valid(text[start:end]); ok {
			return l, true
		}
	}
	if ms := choiceBoldRE.FindAllStringSubmatch(text, -1); len(ms) > 0 {
		if l, ok := valid(ms[len(ms)-1][1]); ok {
			return l, true
		}
	}
	if m := choiceLoneRE.FindStringSubmatch(text); m != nil {
		return valid(m[1])
	}
	if m := choiceLeadRE.FindStringSubmatch(text); m != nil {
		return valid(m[1])
	}
	return "", false
}

var (
	strictNumberRE = regexp.MustCompile(`#### \$?(-?[0-9.,]+)`)
	// flexibleNumberRE over-matches commas ("5,6" in a list); parseLoose
	// sorts thousands separators from list commas.
	flexibleNumberRE = regexp.MustCompile(`(?:-|−)?\$?[0-9][0-9,]*(?:\.[0-9]+)?`)
	thousandsRE      = regexp.MustCompile(`^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$`)
)

// ExtractNumber reads a numeric answer: the GSM8K "#### 42" form when
// present, else the last number in the text, with thousands separators, a
// dollar sign and a trailing period removed.
func ExtractNumber(text string) (float64, bool) {
	if m := strictNumberRE.FindAllStringSubmatch(text, -1); len(m) > 0 {
		if v, ok := parseNumber(m[len(m)-1][1]); ok {
			return v, true
		}
	}
	ms := flexibleNumberRE.FindAllStringIndex(text, -1)
	if len(ms) == 0 {
		return 0, false
	}
	start, end := ms[len(ms)-1][0], ms[len(ms)-1][1]
	s := text[start:end]
	neg := false
	if rest, ok := cutMinus(s); ok {
		// A hyphen glued to a word or number joins, it does not negate:
		// "2023-2024", "COVID-19".
		if start == 0 || !isASCIIAlnum(text[start-1]) {
			neg = true
		}
		s = rest
	}
	s = strings.TrimPrefix(s, "$")
	s = strings.TrimRight(s, ",")
	if strings.Contains(s, ",") && !thousandsRE.MatchString(s) {
		// "3,4" is a list, not three thousand and four: take its last item.
		s = s[strings.LastIndexByte(s, ',')+1:]
	}
	v, ok := parseNumber(s)
	if neg {
		v = -v
	}
	return v, ok
}

func cutMinus(s string) (string, bool) {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		return rest, true
	}
	return strings.CutPrefix(s, "−")
}

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// parseNumber reads a number as datasets and models write it: "1,234.5",
// "$12", "-3", "12.". Only finite values count: a reference of "inf" or
// "NaN" is not a numeric answer.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "−"); ok {
		s = "-" + rest
	}
	s = strings.NewReplacer(",", "", "$", "").Replace(s)
	s = strings.TrimRight(s, ".")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// ReferenceNumber reads the number a num_match reference gives: the text
// after its first "#### " marker when it has one (a GSM8K solution ends
// "#### 18", and lm-evaluation-harness's target is what follows the
// marker), else the whole reference.
func ReferenceNumber(ref string) (float64, bool) {
	if _, after, ok := strings.Cut(ref, "#### "); ok {
		ref = after
	}
	return parseNumber(ref)
}

// NumbersEqual compares numeric answers with a relative tolerance that
// forgives float formatting only (0.1 + 0.2 against 0.3). Whole numbers
// compare exactly: a tolerance relative to 13800138000 would accept a
// different phone number, and 1000000001 is not 1000000000.
func NumbersEqual(a, b float64) bool {
	if isWhole(a) && isWhole(b) {
		return a == b
	}
	d := a - b
	if d < 0 {
		d = -d
	}
	scale := max(1, abs(a), abs(b))
	return d <= 1e-9*scale
}

// isWhole reports whether x is an integer that float64 holds exactly.
func isWhole(x float64) bool {
	return x == math.Trunc(x) && math.Abs(x) < 1<<53
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// The GSM8K answer filters of lm-evaluation-harness: "strict-match" takes
// the first "#### <number>", "flexible-extract" the last number-like run
// in the text. Both then compare as its exact_match does, as strings after
// removing commas, dollar signs, everything up to "#### " and one final
// period, ignoring case.
var (
	lmevalStrictRE   = regexp.MustCompile(`#### (\-?[0-9\.\,]+)`)
	lmevalFlexibleRE = regexp.MustCompile(`(-?[$0-9.,]{2,})|(-?[0-9]+)`)
	lmevalIgnoreRE   = []*regexp.Regexp{
		regexp.MustCompile(`,`),
		regexp.MustCompile(`\$`),
		regexp.MustCompile(`(?s).*#### `),
		// Python's `\.$` also matches before a final newline.
		regexp.MustCompile(`\.(\n?)$`),
	}
)

// ExtractNumberStrict is lm-evaluation-harness's GSM8K strict-match
// filter: the number after the first "#### ".
func ExtractNumberStrict(text string) (string, bool) {
	m := lmevalStrictRE.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	return strings.TrimSpace(m[1]), true
}

// ExtractNumberFlexible is its flexible-extract filter: the last match of
// (-?[$0-9.,]{2,})|(-?[0-9]+).
func ExtractNumberFlexible(text string) (string, bool) {
	ms := lmevalFlexibleRE.FindAllStringSubmatch(text, -1)
	if len(ms) == 0 {
		return "", false
	}
	m := ms[len(ms)-1]
	for _, g := range m[1:] {
		if g != "" {
			return strings.TrimSpace(g), true
		}
	}
	return "", false
}

// NumberAnswerMatch is lm-evaluation-harness's exact_match with GSM8K's
// options: ignore_case, and the regexes_to_ignore ",", "\$", "(?s).*#### "
// and "\.$" removed from both sides. "12.50" and "12.5" differ, as there.
func NumberAnswerMatch(extracted, reference string) bool {
	return lmevalNormalize(extracted) == lmevalNormalize(reference)
}

func lmevalNormalize(s string) string {
	for i, re := range lmevalIgnoreRE {
		if i == len(lmevalIgnoreRE)-1 {
			s = re.ReplaceAllString(s, "$1")
			continue
		}
		s = re.ReplaceAllString(s, "")
	}
	return strings.ToLower(s)
}
