package eval

import (
	"slices"
	"testing"
)

func TestSuggest(t *testing.T) {
	for _, tc := range []struct {
		word  string
		known []string
		want  []string
	}{
		// Case first, even where another name is nearer by edits.
		{"rougel", KnownMetrics, []string{"rougeL"}},
		{"ROUGE1", KnownMetrics, []string{"rouge1"}},
		{"ZH", textLangs, []string{"zh"}},
		// One edit: a transposition, a deletion, an insertion, a
		// substitution.
		{"blue", KnownMetrics, []string{"bleu"}},
		{"metircs", []string{"name", "metrics", "lang"}, []string{"metrics"}},
		{"modle", []string{"name", "base_url", "model"}, []string{"model"}},
		{"dimensons", []string{"name", "dimensions", "decoding"}, []string{"dimensions"}},
		{"win_rate_mn", []string{"variants", "judge", "win_rate_min", "json_valid_min"}, []string{"win_rate_min"}},
		{"typo", PerturbationKinds, []string{"typos"}},
		{"mt_bench", DatasetPresets, []string{"mt-bench"}},
		{"f2", KnownMetrics, []string{"f1"}},
		// Two edits.
		{"tmpratre", []string{"temperature", "top_p"}, nil},
		{"temprature", []string{"temperature", "top_p"}, []string{"temperature"}},
		{"benchmrks", roleNames, []string{"benchmark"}},
		// The nearest only, and all of them, in the list's order.
		{"rouge", KnownMetrics, []string{"rouge1", "rouge2", "rougeL"}},
		{"modle", []string{"mode", "model"}, []string{"mode", "model"}},
		// A shared prefix when no name is within two edits.
		{"json", KnownMetrics, []string{"json_valid", "json_schema", "json_fields"}},
		{"num", KnownMetrics, []string{"num_match", "num_strict", "num_flexible"}},
		{"humaneval-plus", DatasetPresets, []string{"humaneval"}},
		{"bench", roleNames, []string{"benchmark"}},
		// Nothing near: the caller lists every name.
		{"meteor", KnownMetrics, nil},
		{"exact", KnownMetrics, nil},
		{"squad", DatasetPresets, nil},
		{"fr", textLangs, nil},
		{"", KnownMetrics, nil},
		// Short words: one edit at most, and never all of the word.
		{"ab", []string{"em"}, nil},
		{"x", []string{"em", "f1"}, nil},
		{"x", []string{"y"}, nil},
		{"eng", textLangs, []string{"en"}},
		{"num", []string{"em", "nu"}, []string{"nu"}},
		// A prefix of fewer than three letters says too little.
		{"js", KnownMetrics, nil},
		{"rougeLsumx", KnownMetrics, []string{"rougeLsum"}},
		{"中文", textLangs, nil},
		{"", nil, nil},
	} {
		t.Run(tc.word, func(t *testing.T) {
			if got := suggest(tc.word, tc.known); !slices.Equal(got, tc.want) {
				t.Errorf("suggest(%q) = %q, want %q", tc.word, got, tc.want)
			}
		})
	}
}

func TestSuggestAtMostThree(t *testing.T) {
	if got := suggest("ab", []string{"abc", "abd", "abe", "abf", "abg"}); len(got) != maxSuggestions {
		t.Errorf("suggest = %q, want %d names", got, maxSuggestions)
	}
}

func TestNearOr(t *testing.T) {
	for _, tc := range []struct {
		word  string
		known []string
		want  string
	}{
		{"rougel", KnownMetrics, "did you mean rougeL?"},
		{"modle", []string{"mode", "model"}, "did you mean mode or model?"},
		{"rouge", KnownMetrics, "did you mean rouge1, rouge2 or rougeL?"},
		{"meteor", []string{"em", "f1"}, "use one of em, f1"},
		{"x", []string{"pairwise"}, "use pairwise"},
	} {
		t.Run(tc.word, func(t *testing.T) {
			if got := nearOr(tc.word, tc.known); got != tc.want {
				t.Errorf("nearOr(%q) = %q, want %q", tc.word, got, tc.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"model", "model", 0},
		{"modle", "model", 1}, // a transposition
		{"metircs", "metrics", 1},
		{"mode", "model", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // OSA, not Damerau: no edit of a transposed pair
		{"win_rate_mn", "win_rate_min", 1},
		{"中文", "中午", 1}, // runes, not bytes
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
}
