package metric

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	// Phrases that announce the chosen option, in English and Chinese.
	choiceAnnouncedRE = regexp.MustCompile(`(?i)(?:answer\s*(?:is|:)|correct\s+(?:answer|option|choice)\s+is|option\s+is|choose|pick|答案(?:是|为|应该是|：|:)|正确(?:答案|选项)(?:是|为|：|:)|选项?)\s*[:：]?\s*[*(（\[]*\s*([A-Ja-j])\b`)
	choiceBoldRE      = regexp.MustCompile(`\*\*\s*\(?([A-J])\)?[.:)]?\s*\*\*`)
	choiceLoneRE      = regexp.MustCompile(`^[(（\[]?\s*([A-J])\s*[)）\].:：、]?$`)
	choiceLeadRE      = regexp.MustCompile(`^[(（\[]?([A-J])[)）\].:：、]\s`)
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
	if ms := choiceAnnouncedRE.FindAllStringSubmatch(text, -1); len(ms) > 0 {
		if l, ok := valid(ms[len(ms)-1][1]); ok {
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
	strictNumberRE   = regexp.MustCompile(`#### (-?[0-9.,]+)`)
	flexibleNumberRE = regexp.MustCompile(`-?[$]?[0-9][0-9,]*(?:\.[0-9]+)?`)
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
	ms := flexibleNumberRE.FindAllString(text, -1)
	if len(ms) == 0 {
		return 0, false
	}
	return parseNumber(ms[len(ms)-1])
}

func parseNumber(s string) (float64, bool) {
	s = strings.NewReplacer(",", "", "$", "").Replace(s)
	s = strings.TrimRight(s, ".")
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// NumbersEqual compares numeric answers with a relative tolerance that
// forgives float formatting only.
func NumbersEqual(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	scale := max(1, abs(a), abs(b))
	return d <= 1e-9*scale
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
