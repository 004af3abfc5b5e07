package metric

import (
	"context"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

func TestFormatChecks(t *testing.T) {
	s := NewScorer(nil)
	table := "| name | age |\n|---|:--:|\n| Ann | 3 |"
	for _, c := range []struct {
		name   string
		checks eval.FormatChecks
		output string
		reason string // "" passes
	}{
		{"within length", eval.FormatChecks{MinChars: 2, MaxChars: 5}, "你好世界", ""},
		{"too long in characters, not bytes", eval.FormatChecks{MaxChars: 3}, "你好世界", "4 characters, more than max_chars 3"},
		{"too short", eval.FormatChecks{MinChars: 10}, "short", "5 characters, fewer than min_chars 10"},
		// Answers keep their whitespace; the format rules do not see it.
		{"blank lines around an answer", eval.FormatChecks{MaxChars: 5, MustMatch: []string{`^\d+$`}}, "\n\n42\n", ""},
		{"tokens", eval.FormatChecks{MaxTokens: 2}, "one two three", "3 tokens, more than max_tokens 2"},
		{"must match", eval.FormatChecks{MustMatch: []string{`^Answer:`}}, "Answer: yes", ""},
		{"must match fails", eval.FormatChecks{MustMatch: []string{`^Answer:`}}, "yes", "does not match must_match ^Answer:"},
		{"must not match", eval.FormatChecks{MustNotMatch: []string{`(?i)as an ai`}}, "As an AI model, no.", `matches must_not_match (?i)as an ai at "As an AI"`},
		{"required keys", eval.FormatChecks{RequiredKeys: []string{"name", "address.city"}}, `{"name": "x", "address": {"city": "Oslo"}}`, ""},
		{"required key missing", eval.FormatChecks{RequiredKeys: []string{"address.city"}}, `{"address": {"zip": "1"}}`, "required_keys: address.city is missing"},
		{"a dotted key as a whole", eval.FormatChecks{RequiredKeys: []string{"a.b"}}, `{"a.b": 1}`, ""},
		{"required keys need JSON", eval.FormatChecks{RequiredKeys: []string{"name"}}, `name: x`, "required_keys: the answer is not JSON"},
		{"markdown table", eval.FormatChecks{MarkdownTable: true}, "Here:\n\n" + table, ""},
		{"no markdown table", eval.FormatChecks{MarkdownTable: true}, "name | age\nAnn | 3", "markdown_table: no Markdown table (a header row and a |---| delimiter row)"},
		{"delimiter with the wrong number of cells", eval.FormatChecks{MarkdownTable: true}, "| a | b |\n|---|", "markdown_table: no Markdown table (a header row and a |---| delimiter row)"},
		{"language zh", eval.FormatChecks{Language: "zh"}, "这个问题的答案是 Python 和 Go。", ""},
		{"language en, answered in Chinese", eval.FormatChecks{Language: "en"}, "答案是巴黎。", "language: written in zh, not en"},
		{"language of digits only", eval.FormatChecks{Language: "en"}, "42", "language: written in neither zh nor en, not en"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := s.Score(context.Background(), Input{Output: c.output, Metrics: []string{"format"}, Format: &c.checks})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Metrics["format"]; got != b2f(c.reason == "") {
				t.Errorf("format = %v, reason %q", got, r.Reason)
			}
			if c.reason == "" {
				if r.Bucket != eval.BucketOK {
					t.Errorf("bucket %s (%s)", r.Bucket, r.Reason)
				}
				return
			}
			if r.Bucket != eval.BucketFormatError || r.Reason != "format: "+c.reason {
				t.Errorf("bucket %s, reason %q; want format_error, %q", r.Bucket, r.Reason, "format: "+c.reason)
			}
		})
	}
}

func TestCodePassBuckets(t *testing.T) {
	test := &eval.CodeTest{Test: "assert f() == 1", EntryPoint: "f"}
	run := func(_ context.Context, answer string, got *eval.CodeTest) (CodeOutcome, error) {
		if got != test {
			t.Errorf("runner got test %+v", got)
		}
		switch {
		case strings.Contains(answer, "return 1"):
			return CodeOutcome{Passed: true, Status: "passed"}, nil
		case strings.Contains(answer, "def f(:"):
			return CodeOutcome{Status: "syntax_error", Detail: "SyntaxError: invalid syntax"}, nil
		}
		return CodeOutcome{Status: "failed", Detail: "AssertionError"}, nil
	}
	s := NewScorer(run)
	for _, c := range []struct {
		answer string
		pass   float64
		bucket eval.Bucket
		reason string
	}{
		{"def f():\n    return 1", 1, eval.BucketOK, ""},
		{"def f():\n    return 2", 0, eval.BucketWrongAnswer, "code_pass: failed: AssertionError"},
		{"def f(:", 0, eval.BucketFormatError, "code_pass: syntax_error: SyntaxError: invalid syntax"},
	} {
		r := mustScore(t, s, Input{Output: c.answer, Metrics: []string{"code_pass"}, Reference: &eval.Reference{Code: test}})
		if r.Metrics["code_pass"] != c.pass || r.Bucket != c.bucket || r.Reason != c.reason {
			t.Errorf("%q: %v %s %q", c.answer, r.Metrics["code_pass"], r.Bucket, r.Reason)
		}
	}
	// Without a runner (or a test), code_pass is not scored rather than 0.
	r := mustScore(t, NewScorer(nil), Input{Output: "x", Metrics: []string{"code_pass"}, Reference: &eval.Reference{Code: test}})
	if _, ok := r.Metrics["code_pass"]; ok {
		t.Errorf("scored without a runner: %v", r.Metrics)
	}
}

func FuzzFormat(f *testing.F) {
	for _, s := range []string{"| a | b |\n|---|---|", "|---|", "答案是 yes", "", "\n\n|", "{\"a\": {\"b\": 1}}"} {
		f.Add(s)
	}
	checks := &eval.FormatChecks{MaxChars: 50, MustMatch: []string{`\w`}, RequiredKeys: []string{"a.b"}, MarkdownTable: true, Language: "zh"}
	s := NewScorer(nil)
	f.Fuzz(func(t *testing.T, out string) {
		HasMarkdownTable(out)
		if l := AnswerLanguage(out); l != "" && l != "zh" && l != "en" {
			t.Fatalf("language %q", l)
		}
		r, err := s.Score(context.Background(), Input{Output: out, Metrics: []string{"format"}, Format: checks})
		if err != nil {
			t.Fatal(err)
		}
		if v := r.Metrics["format"]; (v == 0) != (r.Bucket == eval.BucketFormatError || r.Bucket == eval.BucketEmpty) {
			t.Fatalf("format %v in bucket %s", v, r.Bucket)
		}
	})
}
