package dedup

import "testing"

// FuzzCompare: arbitrary text never panics, a text is a near-duplicate of
// itself, the relation and its similarity are symmetric, and the index
// agrees with Compare.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{
		{"Tom has 12 apples.", "tom has 12 aples"},
		{"43乘以73等于多少？", "11乘以73等于多少？"},
		{"请解释为什么天空是蓝色的", "请解释为什么空天是蓝色得"},
		{angleDoc, roundDoc},
		{"can not", "cannot"},
		{"e-mail don't 5! a!=b", "email dont 5 ! a != b"},
		{"", "?!"},
		{"\xff\xfe", "ＡＢＣ１２３"},
		{"Ä\u0301 ﬁ ①", "a ﬁ 1"},
		{"s.split(',') “,” 「；」 f(x,y)", "s.split('.') \"'\" ‘,’ a?b:c"},
		{"```go\nx := `a`\n```", "`a,b` ``c`` 'x\n' \"y"},
		{"`s.split('，')` 按'：'分 ＡＢ a[1:]", "`S.SPLIT(', ')` 按':'分 AB a[:1] (1,)"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, s := range []string{a, b} {
			if m, ok := Compare(s, s, DefaultMinSimilarity); !ok || m.Similarity != 1 {
				t.Fatalf("%q is not a near-duplicate of itself: %+v", s, m)
			}
		}
		ab, okAB := Compare(a, b, DefaultMinSimilarity)
		ba, okBA := Compare(b, a, DefaultMinSimilarity)
		if okAB != okBA || ab.Similarity != ba.Similarity {
			t.Fatalf("Compare(a, b) = %+v, %v but Compare(b, a) = %+v, %v", ab, okAB, ba, okBA)
		}
		if okAB && !(ab.Similarity > 0 && ab.Similarity <= 1) {
			t.Fatalf("similarity %v", ab.Similarity)
		}
		x := NewIndex(DefaultMinSimilarity)
		x.Add(a)
		m, dup := x.Add(b)
		if dup && (!okAB || m.Similarity != ab.Similarity) {
			t.Fatalf("index found %+v, Compare %+v, %v", m, ab, okAB)
		}
		if okAB && ab.Similarity == 1 && !dup {
			t.Fatalf("index missed an exact copy (%+v)", ab)
		}
		if m, dup := x.Add(a); !dup || m.Twin != 0 || m.Similarity != 1 {
			t.Fatalf("a again: %+v, %v", m, dup)
		}
	})
}
