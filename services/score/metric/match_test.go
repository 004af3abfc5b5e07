package metric

import (
	"math"
	"testing"
)

func TestExactMatch(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		refs   []string
		want   float64
	}{
		{"articles, case and punctuation", "The Eiffel Tower!", []string{"eiffel tower"}, 1},
		{"any reference", "Lutetia", []string{"Paris", "lutetia"}, 1},
		{"extra words", "It is the Eiffel Tower", []string{"Eiffel Tower"}, 0},
		{"number formatting", "1,234", []string{"1234"}, 1},
		{"empty answer", "", []string{"Paris"}, 0},
		{"no references", "Paris", nil, 0},
		// Unicode punctuation goes like ASCII punctuation (official SQuAD
		// would keep it and score 0 here).
		// SQuAD strips ASCII punctuation only, and assay matches it exactly.
		{"curly quotes stay", "“Paris”", []string{"Paris"}, 0},
		{"full-width stop on English stays", "Paris。", []string{"Paris"}, 0},
		{"curly apostrophe stays", "Rock ’n’ roll", []string{"rock n roll"}, 0},
		// A Chinese reference switches to NormalizeZH, which drops all
		// punctuation and spaces.
		{"Chinese with full-width punctuation", "北京。", []string{"北京"}, 1},
		{"Chinese with quotes and spaces", "“北 京”", []string{"北京"}, 1},
		{"Chinese differs", "上海", []string{"北京"}, 0},
		{"Chinese reference, mixed answer", "2008 年", []string{"2008年"}, 1},
		{"both normalise to empty", "the", []string{"a"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExactMatch(tt.answer, tt.refs, DetectLang(append([]string{tt.answer}, tt.refs...)...)); got != tt.want {
				t.Errorf("ExactMatch(%q, %q) = %v, want %v", tt.answer, tt.refs, got, tt.want)
			}
		})
	}
}

func TestF1(t *testing.T) {
	// Each expected value is SQuAD v1.1's f1_score worked by hand:
	// common = |Counter(pred) & Counter(gold)|, P = common/|pred|,
	// R = common/|gold|, F1 = 2PR/(P+R).
	tests := []struct {
		name   string
		answer string
		refs   []string
		want   float64
	}{
		// pred [eiffel tower in paris], gold [eiffel tower]: common 2,
		// P = 2/4, R = 2/2, F1 = 2·0.5·1/1.5 = 2/3.
		{"superset", "The Eiffel Tower in Paris", []string{"Eiffel Tower"}, 2.0 / 3},
		// pred [cat cat sat], gold [cat sat on mat]: common = min(2,1) cat
		// + 1 sat = 2; P = 2/3, R = 2/4; F1 = (2/3)/(7/6) = 4/7.
		{"repeated tokens count once per match", "the cat the cat sat", []string{"a cat sat on the mat"}, 4.0 / 7},
		// pred [paris france], gold [paris]: P = 1/2, R = 1, F1 = 2/3.
		{"punctuation", "Paris, France.", []string{"paris"}, 2.0 / 3},
		{"identical after normalisation", "THE Beatles", []string{"beatles"}, 1},
		{"no overlap", "London", []string{"Paris"}, 0},
		// Best over references: 0 against "Rome", 2/3 against "Paris".
		{"best reference", "Paris, France", []string{"Rome", "Paris"}, 2.0 / 3},
		{"empty answer", "", []string{"Paris"}, 0},
		{"no references", "Paris", nil, 0},
		// pred ["“", eiffel, "tower”"] (the curly quotes stay, "the" goes),
		// gold [eiffel tower]: common 1, P 1/3, R 1/2, F1 0.4.
		{"curly quotes", "“The Eiffel Tower”", []string{"Eiffel Tower"}, 0.4},
		// pred [eiffel tower， in paris。], gold [eiffel tower]: common 1
		// (eiffel), P 1/4, R 1/2, F1 1/3.
		{"full-width punctuation", "Eiffel Tower， in Paris。", []string{"Eiffel Tower"}, 1.0 / 3},
		// Punctuation between words joins them, as "Tower,in" would in
		// SQuAD: pred [eiffel towerin paris], common 1, P = 1/3, R = 1/2,
		// F1 = (1/3)/(5/6) = 2/5.
		{"full-width comma glued to the next word", "Eiffel Tower，in Paris", []string{"Eiffel Tower"}, 0.4},
		// Both normalise to no tokens. SQuAD v1.1 gives 0 here (no common
		// token) although EM is 1; assay reproduces v1.1.
		{"both empty", "The", []string{"a"}, 0},
		// Chinese: characters. pred 北 京 是 中 国 的 首 都 (8), gold 北 京
		// (2): common 2, P = 2/8, R = 1, F1 = 2·(1/4)/(5/4) = 2/5.
		{"Chinese characters", "北京是中国的首都", []string{"北京"}, 0.4},
		// pred [2008 年 北 京 奥 运 会] (7), gold [2008 年]: P = 2/7,
		// R = 1, F1 = (4/7)/(9/7) = 4/9.
		{"Chinese with ASCII runs", "2008年北京奥运会", []string{"2008年"}, 4.0 / 9},
		// A Chinese answer against an English reference still uses
		// characters: pred [北 京 beijing], gold [beijing]: P = 1/3, R = 1,
		// F1 = (2/3)/(4/3) = 1/2.
		{"Chinese answer, English reference", "北京 Beijing", []string{"Beijing"}, 0.5},
		{"full-width punctuation ignored in Chinese", "北京。", []string{"北京"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lang := DetectLang(append([]string{tt.answer}, tt.refs...)...)
			got := F1(tt.answer, tt.refs, lang)
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("F1(%q, %q) = %v, want %v", tt.answer, tt.refs, got, tt.want)
			}
			// F1 is symmetric in answer and reference.
			if len(tt.refs) == 1 {
				if back := F1(tt.refs[0], []string{tt.answer}, lang); math.Abs(back-got) > 1e-12 {
					t.Errorf("F1 not symmetric: %v one way, %v the other", got, back)
				}
			}
			// An exact match is a perfect F1, unless there is nothing
			// left to compare.
			if ExactMatch(tt.answer, tt.refs, lang) == 1 && got != 1 && len(Tokens(tt.answer, lang)) > 0 {
				t.Errorf("EM = 1 but F1 = %v", got)
			}
		})
	}
}

func TestRougeL(t *testing.T) {
	// ROUGE-L F = 2PR/(P+R) with P = LCS/|answer|, R = LCS/|reference|,
	// on lowercase [a-z0-9] runs (rouge_score's tokenizer, no stemming),
	// or on characters for Chinese.
	tests := []struct {
		name   string
		answer string
		refs   []string
		want   float64
	}{
		// [the cat sat on the mat] vs [the cat is on the mat]: LCS
		// the cat on the mat = 5; P = R = 5/6.
		{"one word differs", "The cat sat on the mat.", []string{"the cat is on the mat"}, 5.0 / 6},
		// [a b c] vs [c b a]: LCS 1, P = R = 1/3. Articles are tokens here.
		{"order matters", "a b c", []string{"c b a"}, 1.0 / 3},
		{"identical", "Hello, World", []string{"hello world"}, 1},
		{"no overlap", "foo", []string{"bar"}, 0},
		{"empty answer", "", []string{"bar"}, 0},
		{"punctuation only", "?!", []string{"?!"}, 0},
		// [我 爱 北 京 天 安 门] vs [北 京 天 安 门]: LCS 5, P = 5/7, R = 1,
		// F = (10/7)/(12/7) = 5/6.
		{"Chinese", "我爱北京天安门", []string{"北京天安门"}, 5.0 / 6},
		// Best over references: 1/3 against "c b a", 1 against "a b c".
		{"best reference", "a b c", []string{"c b a", "A, B, C"}, 1},
		{"no references", "x", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RougeL(tt.answer, tt.refs, RougeOptions{Lang: DetectLang(append([]string{tt.answer}, tt.refs...)...)})
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("RougeL(%q, %q) = %v, want %v", tt.answer, tt.refs, got, tt.want)
			}
		})
	}
}
