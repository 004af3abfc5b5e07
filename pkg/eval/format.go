package eval

import (
	"fmt"
	"regexp"
	"slices"
)

// FormatChecks are a suite's declared constraints on an answer's form,
// scored by the metric "format": 1 when the answer meets all of them.
// Zero values check nothing.
type FormatChecks struct {
	MinChars  int `yaml:"min_chars" json:"min_chars,omitempty"`
	MaxChars  int `yaml:"max_chars" json:"max_chars,omitempty"`
	MinTokens int `yaml:"min_tokens" json:"min_tokens,omitempty"`
	MaxTokens int `yaml:"max_tokens" json:"max_tokens,omitempty"`
	// MustMatch are regular expressions (RE2 syntax) the answer must
	// match somewhere; MustNotMatch ones it must not.
	MustMatch    []string `yaml:"must_match" json:"must_match,omitempty"`
	MustNotMatch []string `yaml:"must_not_match" json:"must_not_match,omitempty"`
	// RequiredKeys are keys the answer's JSON object must have; a dotted
	// key ("address.city") looks into nested objects.
	RequiredKeys []string `yaml:"required_keys" json:"required_keys,omitempty"`
	// MarkdownTable requires a Markdown table (a header row and its
	// delimiter row).
	MarkdownTable bool `yaml:"markdown_table" json:"markdown_table,omitempty"`
	// Language is the language the answer must be written in: zh or en.
	Language string `yaml:"language" json:"language,omitempty"`
}

// Languages an answer can be required to be written in.
var formatLanguages = []string{"zh", "en"}

func (c *checker) format(f *FormatChecks, metrics []string, path ...any) {
	at := func(p ...any) []any { return append(slices.Clone(path), p...) }
	if f == nil {
		if slices.Contains(metrics, "format") {
			c.fail("the metric format needs a format: section saying what to check (max_chars, must_match, language, …)", at()...)
		}
		return
	}
	if !slices.Contains(metrics, "format") {
		c.fail("is only scored with the metric format: add format to the suite's metrics", at()...)
	}
	f.problems(func(msg string, path ...any) { c.fail(msg, at(path...)...) })
}

// problems reports, by add with the field's path within the checks, what
// is wrong with f.
func (f *FormatChecks) problems(add func(msg string, path ...any)) {
	for _, b := range []struct {
		name     string
		min, max int
	}{{"chars", f.MinChars, f.MaxChars}, {"tokens", f.MinTokens, f.MaxTokens}} {
		if b.min < 0 {
			add("must not be negative", "min_"+b.name)
		}
		if b.max < 0 {
			add("must not be negative", "max_"+b.name)
		}
		if b.max > 0 && b.min > b.max {
			add(fmt.Sprintf("min_%s %d is above max_%s %d", b.name, b.min, b.name, b.max), "min_"+b.name)
		}
	}
	for _, list := range []struct {
		name string
		res  []string
	}{{"must_match", f.MustMatch}, {"must_not_match", f.MustNotMatch}} {
		for k, re := range list.res {
			if _, err := regexp.Compile(re); err != nil {
				add(fmt.Sprintf("is not a regular expression (RE2 syntax): %v", err), list.name, k)
			}
		}
	}
	for k, key := range f.RequiredKeys {
		if key == "" {
			add("is empty: name a key of the answer's JSON object", "required_keys", k)
		}
	}
	if f.Language != "" && !slices.Contains(formatLanguages, f.Language) {
		add(fmt.Sprintf("%q is not a language assay can recognise: use zh or en", f.Language), "language")
	}
}
