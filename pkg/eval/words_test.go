package eval

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestWords: lower-cased words, punctuation and markup left out, an
// apostrophe kept inside a word, each Chinese character a word.
func TestWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"**Certainly!** It's 42.", []string{"certainly", "it's", "42"}},
		{"好的，北京。OK", []string{"好", "的", "北", "京", "ok"}},
		{"abc北京def", []string{"abc", "北", "京", "def"}},
		{"  \n** ", nil},
		{"L’été", []string{"l’été"}},
	} {
		if got := slices.Collect(Words(c.in)); !slices.Equal(got, c.want) {
			t.Errorf("Words(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// A caller may stop early.
	for w := range Words("one two three") {
		if w != "one" {
			t.Fatalf("read %q after stopping", w)
		}
		break
	}
}

// wordsByRune is how Edges split an answer before Words: a word built rune
// by rune. Words must split every text as it did.
func wordsByRune(output string) []string {
	var toks []string
	var word strings.Builder
	flush := func() {
		if word.Len() > 0 {
			toks = append(toks, word.String())
			word.Reset()
		}
	}
	for _, r := range strings.ToLower(output) {
		switch {
		case unicode.Is(unicode.Han, r):
			flush()
			toks = append(toks, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’':
			word.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return toks
}

// FuzzWords: model output is anyone's text; Words splits it as the rune by
// rune reading did, into words that are never empty.
func FuzzWords(f *testing.F) {
	for _, s := range []string{"**Certainly!** It's 42.", "好的，北京。OK", "abc北京def", "\xff\xfe北x", "ǅemo İstanbul ΣΑΣ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := slices.Collect(Words(s)), wordsByRune(s)
		if !slices.Equal(got, want) {
			t.Fatalf("Words(%q) = %q, want %q", s, got, want)
		}
		for _, w := range got {
			if w == "" {
				t.Fatalf("Words(%q) gave an empty word", s)
			}
		}
	})
}

// TestHanFirst: no rune below hanFirst is a Chinese character, so Words
// may skip looking them up.
func TestHanFirst(t *testing.T) {
	for r := rune(0); r < hanFirst; r++ {
		if unicode.Is(unicode.Han, r) {
			t.Fatalf("%U is Han, below hanFirst", r)
		}
	}
	if !unicode.Is(unicode.Han, hanFirst) {
		t.Fatalf("hanFirst %U is not Han", hanFirst)
	}
}
