package metric

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The expected values below were printed by the reference implementations
// (sacreBLEU 2.6.0, rouge-score 0.1.2; see testdata/reference/README.md)
// for inputs the golden pairs do not cover.

func TestTokenizersMatchReferences(t *testing.T) {
	if got := rougeTokens("İstanbul \u212aelvin café X\u2126", LangEN, false); !slices.Equal(got, []string{"i", "stanbul", "kelvin", "caf", "x"}) {
		t.Errorf("rouge tokens %q: Python lowercases İ to i + a combining dot, and the Kelvin sign to k", got)
	}
	if got := strings.Join(bleuTokens("a“b”c…d 𠮷x ，1.5.", TokenizerZh), " "); got != "a “ b ” c … d 𠮷x ， 1.5." {
		t.Errorf("zh tokens %q", got)
	}
	if got := strings.Join(pyFields(tokenize13a(" Hello, world. 3.5-4 (x)  a..b \x1cz ")), " "); got != "Hello , world . 3.5 - 4 ( x ) a . . b z" {
		t.Errorf("13a tokens %q", got)
	}
	for _, c := range []struct {
		out, ref          string
		bleu, chrf, rouge float64
	}{
		{"İstanbul is big", "istanbul is big", 55.03212081491043, 90.21205646205644, 0.5714285714285715},
		{"\u212aelvin scale", "kelvin scale", 49.99999999999999, 87.72426647426647, 1},
	} {
		if got := SentenceBLEU(c.out, []string{c.ref}, Tokenizer13a); math.Abs(got-c.bleu) > 1e-9 {
			t.Errorf("BLEU(%q) = %v, sacreBLEU %v", c.out, got, c.bleu)
		}
		if got := SentenceCHRF(c.out, []string{c.ref}); math.Abs(got-c.chrf) > 1e-9 {
			t.Errorf("chrF(%q) = %v, sacreBLEU %v", c.out, got, c.chrf)
		}
		if got := Rouge(c.out, []string{c.ref}, RougeOptions{}); math.Abs(got.Rouge1-c.rouge) > 1e-12 || math.Abs(got.RougeL-c.rouge) > 1e-12 {
			t.Errorf("ROUGE(%q) = %+v, rouge-score %v", c.out, got, c.rouge)
		}
	}
}

func TestRougeZhTokens(t *testing.T) {
	// The rule: every Han character a token, each run of ASCII
	// [a-z0-9] after lowercasing a token, everything else separates.
	got := rougeTokens("我爱Go语言，GPT-4很强！café 〇々", LangZH, false)
	want := []string{"我", "爱", "go", "语", "言", "gpt", "4", "很", "强", "caf", "〇", "々"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// With en, Chinese is dropped, as rouge-score drops it.
	if got := rougeTokens("我爱北京", LangEN, false); len(got) != 0 {
		t.Errorf("en tokens of Chinese text: %q", got)
	}
	if got := Rouge("我爱北京天安门", []string{"北京天安门"}, RougeOptions{Lang: LangZH}).RougeL; math.Abs(got-5.0/6) > 1e-12 {
		t.Errorf("zh ROUGE-L %v, want 5/6", got)
	}
}

func TestBLEUEdges(t *testing.T) {
	if got := SentenceBLEU("", []string{"a b c"}, Tokenizer13a); got != 0 {
		t.Errorf("empty hypothesis: %v", got)
	}
	if got := SentenceBLEU("the cat sat on the mat", []string{"the cat sat on the mat"}, Tokenizer13a); math.Abs(got-100) > 1e-9 {
		t.Errorf("identical: %v", got)
	}
	// No references: nothing matches, and nothing panics.
	if got := SentenceBLEU("a b", nil, Tokenizer13a); got != 0 {
		t.Errorf("no references: %v", got)
	}
	if got := SentenceCHRF("abc", nil); got != 0 {
		t.Errorf("chrF without references: %v", got)
	}
}

func FuzzTokenizers(f *testing.F) {
	for _, s := range []string{"", "a", "Hello, world.", "3.5-4", "&amp;lt;", "<skipped>-\n", "我爱北京“天安门”…", "İ\u212a", "\x1c\x1d", "\xff\xfe", "a..,,--", "𠮷x"} {
		f.Add(s, "the reference")
	}
	f.Fuzz(func(t *testing.T, out, ref string) {
		for _, tok := range []Tokenizer{Tokenizer13a, TokenizerZh} {
			for _, w := range bleuTokens(out, tok) {
				if w == "" || strings.ContainsFunc(w, isPySpace) {
					t.Fatalf("%s token %q", tok, w)
				}
			}
			if b := SentenceBLEU(out, []string{ref}, tok); b < 0 || b > 100+1e-9 || math.IsNaN(b) {
				t.Fatalf("BLEU %v", b)
			}
		}
		if c := SentenceCHRF(out, []string{ref}); c < 0 || c > 100+1e-9 || math.IsNaN(c) {
			t.Fatalf("chrF %v", c)
		}
		for _, lang := range []Lang{LangEN, LangZH} {
			for _, stem := range []bool{false, true} {
				for _, w := range rougeTokens(out, lang, stem) {
					if w == "" {
						t.Fatal("empty ROUGE token")
					}
				}
				r := Rouge(out, []string{ref}, RougeOptions{Lang: lang, Stem: stem})
				for _, v := range []float64{r.Rouge1, r.Rouge2, r.RougeL, r.RougeLsum} {
					if v < 0 || v > 1 || math.IsNaN(v) {
						t.Fatalf("ROUGE %+v", r)
					}
				}
			}
			em, f1 := ExactMatch(out, []string{ref}, lang), F1(out, []string{ref}, lang)
			if em != 0 && em != 1 || f1 < 0 || f1 > 1 {
				t.Fatalf("EM %v F1 %v", em, f1)
			}
		}
		if same := SentenceCHRF(out, []string{out}); strings.Join(pyFields(out), "") != "" && math.Abs(same-100) > 1e-9 {
			t.Fatalf("chrF of a text with itself = %v", same)
		}
	})
}

func TestGramTableGrows(t *testing.T) {
	var g gramTable
	g.reset(1) // an estimate far too small
	for k := range uint64(5000) {
		g.add(k)
		g.raise(k+10000, 3)
	}
	for k := range uint64(5000) {
		if g.get(k) != 1 || g.get(k+10000) != 3 {
			t.Fatalf("key %d: %d, %d", k, g.get(k), g.get(k+10000))
		}
	}
	if len(g.slots) != 10000 {
		t.Fatalf("%d live slots", len(g.slots))
	}
}

func TestBLEUMultiReference(t *testing.T) {
	// The second reference has far more n-grams than the first, whose
	// size the table was made for. Values from sacreBLEU 2.6.0.
	for _, c := range []struct {
		hyp  string
		refs []string
		want float64
	}{
		{"x b c d", []string{"a", "b c d e f g h i j k l m n o p q r s"}, 59.460355750136046},
		{"a\x00b c a\x00b c", []string{"a\x00b c"}, 31.947155212313625},
	} {
		if got := SentenceBLEU(c.hyp, c.refs, Tokenizer13a); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("BLEU(%q) = %v, sacreBLEU %v", c.hyp, got, c.want)
		}
		// The path for segments too large to number agrees.
		if fast, slow := BLEUSegment(c.hyp, c.refs, Tokenizer13a), bleuSegmentSlow(c.hyp, c.refs, Tokenizer13a); fast != slow {
			t.Errorf("%q: fast %+v, slow %+v", c.hyp, fast, slow)
		}
	}
}

func TestSlowPathsAgree(t *testing.T) {
	for _, lang := range []string{"en", "zh"} {
		pairs, _, _ := readReference(t, lang)
		for _, tok := range []Tokenizer{Tokenizer13a, TokenizerZh} {
			for _, p := range pairs {
				if fast, slow := BLEUSegment(p.Output, p.Refs, tok), bleuSegmentSlow(p.Output, p.Refs, tok); fast != slow {
					t.Errorf("%s %s: BLEU fast %+v, slow %+v", p.ID, tok, fast, slow)
				}
			}
		}
		for _, p := range pairs {
			if fast, slow := CHRFSegment(p.Output, p.Refs), chrfSegmentSlow(p.Output, p.Refs); fast != slow {
				t.Errorf("%s: chrF fast %+v, slow %+v", p.ID, fast, slow)
			}
		}
	}
	// A segment too large to number goes the slow way, and a word of NULs
	// is still one word.
	var b strings.Builder
	b.WriteString("\x00\x00\x00\x00 ")
	for i := range 1 << 15 {
		fmt.Fprintf(&b, "w%d ", i)
	}
	st := BLEUSegment(b.String(), []string{"w1 w2"}, Tokenizer13a)
	if st.HypLen != 1<<15+1 || st.Correct[0] != 2 || st.Correct[1] != 1 {
		t.Errorf("large segment: %+v", st)
	}
}

func TestLCSBitsAgree(t *testing.T) {
	// The bit-packed table reads out the very subsequence the full table
	// does, ties included: small vocabularies make many ties.
	rnd := rand.New(rand.NewPCG(1, 2))
	words := func(n, vocab int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = string(rune('a' + rnd.IntN(vocab)))
		}
		return out
	}
	for range 500 {
		a, b := words(1+rnd.IntN(150), 1+rnd.IntN(6)), words(1+rnd.IntN(150), 1+rnd.IntN(6))
		if full, packed := lcsIndices(a, b), lcsIndicesBits(a, b); !slices.Equal(full, packed) {
			t.Fatalf("%q vs %q: full %v, bits %v", a, b, full, packed)
		}
	}
}
