package metric

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/eval"
)

// checkFormat is the first declared check an answer fails, or "" when it
// passes them all.
func (s *Scorer) checkFormat(f *eval.FormatChecks, out string, tokens int, val any, valOK bool) string {
	if f == nil {
		return ""
	}
	out = strings.TrimSpace(out)
	chars := AnswerChars(out)
	switch {
	case f.MinChars > 0 && chars < f.MinChars:
		return fmt.Sprintf("%d characters, fewer than min_chars %d", chars, f.MinChars)
	case f.MaxChars > 0 && chars > f.MaxChars:
		return fmt.Sprintf("%d characters, more than max_chars %d", chars, f.MaxChars)
	case f.MinTokens > 0 && tokens < f.MinTokens:
		return fmt.Sprintf("%d tokens, fewer than min_tokens %d", tokens, f.MinTokens)
	case f.MaxTokens > 0 && tokens > f.MaxTokens:
		return fmt.Sprintf("%d tokens, more than max_tokens %d", tokens, f.MaxTokens)
	}
	for _, p := range f.MustMatch {
		re, err := s.regexps.compile(p)
		if err != nil {
			return "must_match: the suite's pattern is unusable: " + err.Error()
		}
		if !re.MatchString(out) {
			return "does not match must_match " + p
		}
	}
	for _, p := range f.MustNotMatch {
		re, err := s.regexps.compile(p)
		if err != nil {
			return "must_not_match: the suite's pattern is unusable: " + err.Error()
		}
		if loc := re.FindStringIndex(out); loc != nil {
			return fmt.Sprintf("matches must_not_match %s at %q", p, clip(out[loc[0]:loc[1]], 40))
		}
	}
	if len(f.RequiredKeys) > 0 {
		if !valOK {
			return "required_keys: the answer is not JSON"
		}
		for _, k := range f.RequiredKeys {
			if !hasKey(val, k) {
				return "required_keys: " + k + " is missing"
			}
		}
	}
	if f.MarkdownTable && !HasMarkdownTable(out) {
		return "markdown_table: no Markdown table (a header row and a |---| delimiter row)"
	}
	if f.Language != "" {
		if got := AnswerLanguage(out); got != f.Language {
			if got == "" {
				got = "neither zh nor en"
			}
			return fmt.Sprintf("language: written in %s, not %s", got, f.Language)
		}
	}
	return ""
}

// AnswerChars is an answer's length as the format checks and the live
// metric length count it: in characters, the whitespace around it left
// out. Answers arrive byte for byte (a code completion keeps its
// indentation); the whitespace a model puts around its answer is not what
// a format rule is about.
func AnswerChars(answer string) int { return utf8.RuneCountInString(strings.TrimSpace(answer)) }

// CheckFormat is the first of f's checks an answer fails, or "" when it
// passes them all; tokens is its length in tokens, when known (0 fails a
// min_tokens check and passes a max_tokens one).
func (s *Scorer) CheckFormat(f *eval.FormatChecks, answer string, tokens int) string {
	val, ok := ExtractJSON(answer)
	return s.checkFormat(f, answer, tokens, val, ok)
}

// hasKey looks a dotted key up in a decoded JSON object. A key that itself
// contains a dot is found too, as a whole.
func hasKey(v any, key string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if _, ok := m[key]; ok {
		return true
	}
	for i := range len(key) {
		if key[i] != '.' {
			continue
		}
		if sub, ok := m[key[:i]]; ok && hasKey(sub, key[i+1:]) {
			return true
		}
	}
	return false
}

// tableDelimiterRE is a Markdown table's delimiter row (GFM): cells of
// hyphens with optional alignment colons, separated by pipes.
var tableDelimiterRE = regexp.MustCompile(`^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)+\|?\s*$|^\s*\|\s*:?-+:?\s*\|\s*$`)

// HasMarkdownTable reports whether text contains a GitHub-flavoured
// Markdown table: a row with a pipe, directly followed by a delimiter row
// with as many cells.
func HasMarkdownTable(text string) bool {
	lines := strings.Split(text, "\n")
	for i := 1; i < len(lines); i++ {
		head, delim := strings.TrimSpace(lines[i-1]), lines[i]
		if !strings.Contains(head, "|") || !tableDelimiterRE.MatchString(delim) {
			continue
		}
		if tableCells(head) == tableCells(delim) {
			return true
		}
	}
	return false
}

func tableCells(row string) int {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	row = strings.TrimSuffix(row, "|")
	return strings.Count(row, "|") + 1
}

// AnswerLanguage is "zh" when an answer is mostly Chinese, "en" when it is
// mostly Latin-script words, "" when it has neither. Chinese characters are
// counted one by one and Latin words as wholes, so that a Chinese answer
// naming a few English terms is still Chinese.
func AnswerLanguage(text string) string {
	han, words := hanAndWords(text, func(r rune) bool { return unicode.Is(unicode.Latin, r) })
	switch {
	case han == 0 && words == 0:
		return ""
	case han >= words:
		return "zh"
	}
	return "en"
}

// hanAndWords counts the Chinese characters of text and its words: runs
// of the runes inWord says belong to one.
func hanAndWords(text string, inWord func(rune) bool) (han, words int) {
	in := false
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
			in = false
		case inWord(r):
			if !in {
				words++
			}
			in = true
		default:
			in = false
		}
	}
	return han, words
}

// regexpCache compiles a suite's patterns once.
type regexpCache struct{ m sync.Map }

func (c *regexpCache) compile(p string) (*regexp.Regexp, error) {
	if re, ok := c.m.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	c.m.Store(p, re)
	return re, nil
}
