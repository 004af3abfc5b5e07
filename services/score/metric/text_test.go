package metric

import (
	"reflect"
	"testing"
)

func TestIsCJK(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"北京", true},
		{"東京タワー", true}, // traditional/Japanese kanji are Han too
		{"Beijing 北京", true},
		{"Tokyo", false},
		{"", false},
		{"。，！", false},  // CJK punctuation is not Han
		{"한국어", false},  // Hangul
		{"カタカナ", false}, // Katakana alone
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := IsCJK(tt.in); got != tt.want {
				t.Errorf("IsCJK(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeEN(t *testing.T) {
	// Expected values follow SQuAD v1.1's normalize_answer: lower, drop
	// punctuation, re.sub(r'\b(a|an|the)\b', ' '), ' '.join(split()),
	// with punctuation widened from string.punctuation to all of Unicode's
	// (MLQA's evaluation does the same).
	tests := []struct {
		name, in, want string
	}{
		{"articles and punctuation", "The Eiffel Tower!", "eiffel tower"},
		{"all three articles", "A cat, an owl and the dog.", "cat owl and dog"},
		{"article inside a word stays", "Theatre and anthem", "theatre and anthem"},
		{"punctuation joins words before articles go", "the-a", "thea"},
		{"apostrophe", "Rock 'n' roll's", "rock n rolls"},
		{"numbers with separators", "$1,234.50", "123450"},
		{"whitespace collapses", "  New\t\nYork  ", "new york"},
		{"empty", "", ""},
		{"only an article", "The", ""},
		{"only punctuation", "?!...", ""},
		{"curly quotes stay (SQuAD strips ASCII only)", "“The Eiffel Tower”", "“ eiffel tower”"},
		{"full-width punctuation stays", "Paris。", "paris。"},
		// Punctuation goes before articles, as in SQuAD: "(The)Louvre"
		// would become "thelouvre".
		{"full-width parentheses and comma stay", "（The） Louvre，Paris", "（ ） louvre，paris"},
		{"em dash stays", "Paris—France", "paris—france"},
		// A symbol is not punctuation: it stays, but bounds the article.
		{"symbol bounds an article", "€the price", "€ price"},
		{"non-ASCII letters are word characters", "théa", "théa"},
		{"unicode case folding", "ÉCOLE", "école"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeEN(tt.in); got != tt.want {
				t.Errorf("NormalizeEN(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeZH(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"full-width punctuation", "北京，中国。", "北京中国"},
		{"spaces between characters", " 北 京 ", "北京"},
		{"curly and corner quotes", "“北京”「上海」", "北京上海"},
		{"book title marks", "《红楼梦》", "红楼梦"},
		{"ASCII lowercased, punctuation and symbols dropped", "iPhone 15 Pro!", "iphone15pro"},
		{"currency symbol and separators", "$1,234", "1234"},
		{"no articles removed", "the 北京", "the北京"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeZH(tt.in); got != tt.want {
				t.Errorf("NormalizeZH(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		in   string
		lang Lang
		want []string
	}{
		{"English words", "The quick, brown fox.", LangEN, []string{"quick", "brown", "fox"}},
		{"English keeps repeats", "the cat the cat", LangEN, []string{"cat", "cat"}},
		{"English empty", "", LangEN, []string{}},
		{"Chinese characters", "北京，欢迎你！", LangZH, []string{"北", "京", "欢", "迎", "你"}},
		{"Chinese keeps ASCII runs whole", "2008年北京Olympics", LangZH, []string{"2008", "年", "北", "京", "olympics"}},
		{"Chinese mode keeps English words apart", "New York", LangZH, []string{"new", "york"}},
		{"Chinese empty", "。", LangZH, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Tokens(tt.in, tt.lang)
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tokens(%q, %v) = %q, want %q", tt.in, tt.lang, got, tt.want)
			}
		})
	}
}

func TestCountTokens(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"   \n", 0},
		{"Hello, world!", 4},    // Hello , world !
		{"It's 42.", 5},         // It ' s 42 .
		{"北京欢迎你", 5},            // one per character
		{"北京 2008 年", 4},        // 北 京 2008 年
		{"naïve", 3},            // na ï ve: non-ASCII letters stand alone
		{"a-b_c", 5},            // a - b _ c
		{"```json\n{}\n```", 9}, // ` ` ` json { } ` ` `
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := CountTokens(tt.in); got != tt.want {
				t.Errorf("CountTokens(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestPyLower(t *testing.T) {
	// As Python 3.11's str.lower() prints them.
	for in, want := range map[string]string{
		"ΟΔΟΣ": "οδος", "ΟΔΟΣ ΟΔΟΣ": "οδος οδος", "Σ": "σ", "ΑΣ.": "ας.", "ΑΣΑ": "ασα",
		"Α\u0301Σ": "α\u0301ς", "ΑΣ\u0301": "ας\u0301", "ΑΣ'Α": "ασ'α", "1Σ": "1σ", "ΑΣ1": "ας1",
		"ΑΣ’": "ας’", "İstanbul": "i\u0307stanbul", "ABC": "abc",
	} {
		if got := pyLower(in); got != want {
			t.Errorf("pyLower(%q) = %q, want %q", in, got, want)
		}
	}
	if em := ExactMatch("ΟΔΟΣ", []string{"οδος"}, LangEN); em != 1 {
		t.Errorf("EM of a word ending in a capital sigma: %v", em)
	}
}
