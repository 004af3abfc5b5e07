package perturb

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestApply(t *testing.T) {
	for _, c := range []struct {
		kind, text, want string
		changed          bool
	}{
		// Width is deterministic: every ASCII character turns full-width,
		// and back.
		{"width", "Hi, 2+2?", "Ｈｉ， ２＋２？", true},
		{"width", "Ｈｉ，２＋２？", "Hi,2+2?", true},
		{"width", "北京", "北京", false},
		{"homophones", "no Chinese here", "no Chinese here", false},
		{"typos", "a b c", "a b c", false}, // no word long enough
	} {
		got, changed, err := Apply(c.kind, "seed", c.text)
		if err != nil || got != c.want || changed != c.changed {
			t.Errorf("%s(%q) = %q, %v, %v; want %q, %v", c.kind, c.text, got, changed, err, c.want, c.changed)
		}
	}
	if _, _, err := Apply("shout", "s", "x"); err == nil || !strings.Contains(err.Error(), "use one of typos") {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestPerturbationsChangeLittle(t *testing.T) {
	en := "Which planet in our solar system has the largest number of known moons, and roughly how many does it have?"
	zh := "请问在我们的太阳系里，哪一颗行星已知的卫星数量最多？它大概有多少颗卫星？"
	for _, kind := range Kinds {
		for _, text := range []string{en, zh} {
			a, changedA, err := Apply(kind, "q1", text)
			if err != nil {
				t.Fatal(err)
			}
			b, _, _ := Apply(kind, "q1", text)
			if a != b {
				t.Errorf("%s is not deterministic: %q, %q", kind, a, b)
			}
			if kind == "homophones" && text == en || kind == "width" {
				continue
			}
			if !changedA || a == text {
				t.Errorf("%s left %q unchanged", kind, text)
			}
			// A perturbation keeps the question recognisable: most
			// characters survive.
			if d := distance(a, text); d > utf8.RuneCountInString(text)/3 {
				t.Errorf("%s changed %d of %d characters: %q", kind, d, utf8.RuneCountInString(text), a)
			}
		}
	}
	if c, _, _ := Apply("typos", "q2", en); c == mustApply(t, "typos", "q1", en) {
		t.Errorf("another seed gives the same typos")
	}
	if !strings.HasPrefix(mustApply(t, "register", "q1", zh), "") || !strings.HasSuffix(mustApply(t, "register", "q1", zh), zh) {
		t.Errorf("register changed the question itself")
	}
}

func mustApply(t *testing.T, kind, seed, text string) string {
	t.Helper()
	out, _, err := Apply(kind, seed, text)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// distance is the Levenshtein distance in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

func FuzzApply(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "你好，世界！", "ａｂｃ", "\xff", "a\u0301b", "3.14?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, kind := range Kinds {
			out, changed, err := Apply(kind, "seed", text)
			if err != nil {
				t.Fatal(err)
			}
			if changed != (out != text) {
				t.Fatalf("%s: changed %v for %q -> %q", kind, changed, text, out)
			}
			if utf8.ValidString(text) && !utf8.ValidString(out) {
				t.Fatalf("%s made invalid UTF-8 of %q", kind, text)
			}
		}
	})
}
