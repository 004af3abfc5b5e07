package contam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"latin", "Hello, World! It's 2024.", []string{"hello", "world", "it", "s", "2024"}},
		{"full-width folds to ASCII", "ＧＰＴ－４ and ﬁne", []string{"gpt", "4", "and", "fine"}},
		{"accents compose", "Cafe\u0301 CAFÉ naïve", []string{"café", "café", "naïve"}},
		{"chinese: a token a character", "床前明月光，疑是地上霜。", []string{"床", "前", "明", "月", "光", "疑", "是", "地", "上", "霜"}},
		{"mixed", "GPT-4模型很强 (v2)", []string{"gpt", "4", "模", "型", "很", "强", "v2"}},
		{"kana and hangul", "カタカナ ひらがな 한국어", []string{"カ", "タ", "カ", "ナ", "ひ", "ら", "が", "な", "한", "국", "어"}},
		{"full-width digits in chinese", "版本２.７３", []string{"版", "本", "2", "73"}},
		{"punctuation only", "-- !!! ... 《》", nil},
		{"invalid UTF-8 separates", "ab\xffcd", []string{"ab", "cd"}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tokens(tc.text)
			if !slices.Equal(got, tc.want) {
				t.Errorf("tokens(%q) = %q, want %q", tc.text, got, tc.want)
			}
			var tok tokenizer
			hs := tok.hash(tc.text)
			if len(hs) != len(got) {
				t.Fatalf("%d hashes for %d tokens", len(hs), len(got))
			}
			for i, s := range got {
				if h := fnv1a(s); hs[i] != h {
					t.Errorf("hash of %q = %#x, want FNV-1a %#x", s, hs[i], h)
				}
			}
		})
	}
}

func fnv1a(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// TestGramHashIsStable pins n-gram hashes: they must not change between
// runs, machines or releases without notice, or saved results would no
// longer be reproduced.
func TestGramHashIsStable(t *testing.T) {
	var tok tokenizer
	en := slices.Clone(tok.hash("The quick brown fox jumps over the lazy dog"))
	zh := slices.Clone(tok.hash("床前明月光"))
	for _, tc := range []struct {
		toks []uint64
		want uint64
	}{
		{en[:6], 0x584487eea6b6ede2},
		{en[:1], 0xe554a766df9c3f38},
		{zh, 0xa4660560f42b65a},
	} {
		if got := gramHash(tc.toks); got != tc.want {
			t.Errorf("gramHash = %#x, want %#x", got, tc.want)
		}
	}
	if gramHash(en[1:7]) == gramHash(en[:6]) || gramHash(en[:5]) == gramHash(en[:6]) {
		t.Error("different grams share a hash")
	}
	if got := grams(nil, en, 6); len(got) != 4 || got[0] != gramHash(en[:6]) || got[3] != gramHash(en[3:9]) {
		t.Errorf("grams of 9 tokens: %#x", got)
	}
	if got := shingles(nil, en[:2], 3); len(got) != 1 || got[0] != gramHash(en[:2]) {
		t.Errorf("shingles of 2 tokens: %#x, want the whole text as one", got)
	}
}

func TestJaccard(t *testing.T) {
	for _, tc := range []struct {
		a, b []uint64
		want float64
	}{
		{[]uint64{1, 2, 3}, []uint64{1, 2, 3}, 1},
		{[]uint64{1, 2, 3}, []uint64{2, 3, 4}, 0.5},
		{[]uint64{1, 2}, []uint64{3, 4}, 0},
		{nil, []uint64{1}, 0},
	} {
		if got := jaccard(tc.a, tc.b); got != tc.want {
			t.Errorf("jaccard(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// Texts of the scoring tests: made up, sharing no six words in a row.
const (
	storm  = "The storm came in from the west just after noon and the fishing boats hurried back to the harbour with their nets still half empty. By evening the wind had torn the roof from the old customs house and scattered its tiles across the square where the children usually played football. Nobody in the village could remember a summer gale like it, although the oldest fisherman claimed his grandfather had told him of one that sank eleven boats in a single night."
	recipe = "Soak the beans overnight in plenty of cold water, then drain them and cover them again with fresh water. Simmer gently with a bay leaf and half an onion for about an hour, until they are soft but still hold their shape, and season them only at the end."
	garden = "Our neighbour grows tomatoes against the south wall of her cottage and swears that talking to them every morning doubles the crop. Last year she entered the largest one in the county show and lost to a man who, she insists, bought his from a market stall."
	train  = "The night train to the coast leaves at eleven and stops at every small station along the river, so the journey takes almost six hours. Most passengers sleep through it, but the conductor walks the corridor twice with a flask of sweet tea for anyone who is still awake."
	chess  = "She learned chess from her uncle during a long winter when the roads were closed, playing by candlelight on a board with two missing pawns replaced by buttons. Within a year she was beating him, and within three she had won the regional junior championship without losing a game."
	twainA = "Always do right. This will gratify some people and astonish the rest of them, who had expected rather less of you after everything that happened at the picnic last spring.\n\t\t-- Mark Twain, Pudd'nhead Wilson's Calendar"
	twainB = "Few things are harder to put up with than the annoyance of a good example, especially when it lives next door and mows its lawn every Saturday at seven.\n\t\t-- Mark Twain, Pudd'nhead Wilson's Calendar"
	// 一剪梅 by Li Qingzhao, its title and author line before each half.
	meiA = "《一剪梅·红藕香残玉簟秋》\n作者：李清照\n红藕香残玉簟秋。轻解罗裳，独上兰舟。云中谁寄锦书来？雁字回时，月满西楼。"
	meiB = "《一剪梅·红藕香残玉簟秋》\n作者：李清照\n花自飘零水自流。一种相思，两处闲愁。此情无计可消除，才下眉头，却上心头。"
	poem = "《春晓》\n作者：孟浩然\n春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"
)

// editEvery replaces every k-th word of text, from the first.
func editEvery(text string, k int) string {
	words := strings.Fields(text)
	for i := 0; i < len(words); i += k {
		words[i] = fmt.Sprintf("zz%dzz", i)
	}
	return strings.Join(words, " ")
}

// firstWords is text's first share of words.
func firstWords(text string, share float64) string {
	words := strings.Fields(text)
	return strings.Join(words[:int(share*float64(len(words)))], " ")
}

func TestScore(t *testing.T) {
	training := []Doc{
		{ID: "storm", Text: storm},
		{ID: "page", Text: "Letters to the editor.\n\n" + recipe + "\n\nNext week: the parish council elections."},
		{ID: "twain", Text: twainA},
		{ID: "mei", Text: meiA},
		{ID: "poem", Text: poem},
		{ID: "garden-half", Text: firstWords(garden, 0.5)},
		{ID: "garden-most", Text: firstWords(garden, 0.8)},
		{ID: "train-1", Text: "Timetables: " + train},
		{ID: "train-2", Text: "Timetables: " + train},
		{ID: "chess", Text: chess},
		{ID: "labels", Text: "Specifications subject to change without notice. Batteries not included."},
	}
	for _, tc := range []struct {
		name, text string
		// score: the exact score, or -1 for one in (lo, hi).
		score, lo, hi float64
		contaminated  bool
		match         string
	}{
		{"exact copy", storm, 1, 0, 0, true, "storm"},
		{"5% of words edited", editEvery(storm, 20), -1, 0.6, 1, true, "storm"},
		{"copy inside a larger document", recipe, 1, 0, 0, true, "page"},
		{"unrelated", "A completely different paragraph about bicycles, mountains, coffee and the price of second-hand books in small university towns.", 0, 0, 0, false, ""},
		{"shares only an author line", twainB, -1, 0, 0.2, false, "twain"},
		{"shares only a poem's title and author", meiB, -1, 0, 0.3, false, "mei"},
		{"chinese poem, one character changed", strings.Replace(poem, "处处", "处时", 1), -1, 0.7, 1, true, "poem"},
		{"best of two partial matches", garden, -1, 0.7, 0.8, true, "garden-most"},
		{"the first of two equal matches", train, 1, 0, 0, true, "train-1"},
		{"near-duplicate: every tenth word edited", editEvery(chess, 10), -1, 0.5, 0.6, true, "chess"},
		{"short item inside a document", "Subject to change without notice!", 1, 0, 0, true, "labels"},
		{"short item nowhere", "Void where prohibited.", 0, 0, 0, false, ""},
		{"no tokens", "?!", 0, 0, 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := check(t, []Doc{{ID: "item", Text: tc.text}}, training, Options{})
			r := rep.Results[0]
			t.Logf("%+v", r)
			if tc.score >= 0 && r.Score != tc.score || tc.score < 0 && !(r.Score > tc.lo && r.Score < tc.hi) {
				t.Errorf("score %v, want %v (or in (%v, %v))", r.Score, tc.score, tc.lo, tc.hi)
			}
			if r.Contaminated != tc.contaminated || r.Match != tc.match {
				t.Errorf("contaminated %v, match %q; want %v, %q", r.Contaminated, r.Match, tc.contaminated, tc.match)
			}
		})
	}
}

// TestNearDuplicateOutscoresContainment shows the near-duplicate rule at
// work: every tenth word edited leaves too few 6-grams to flag the copy,
// but a Jaccard similarity of its shingles above the threshold.
func TestNearDuplicateOutscoresContainment(t *testing.T) {
	item := editEvery(chess, 10)
	var tok tokenizer
	a := slices.Clone(tok.hash(item))
	b := tok.hash(chess)
	g := grams(nil, a, DefaultNGram)
	in := map[uint64]bool{}
	for _, h := range grams(nil, b, DefaultNGram) {
		in[h] = true
	}
	shared := 0
	for _, h := range g {
		if in[h] {
			shared++
		}
	}
	containment := float64(shared) / float64(len(g))
	j := jaccard(shingles(nil, a, shingleSize), shingles(nil, b, shingleSize))
	if containment >= DefaultThreshold || j < DefaultThreshold {
		t.Fatalf("containment %.3f, similarity %.3f: the case no longer shows the rule", containment, j)
	}
	rep := check(t, []Doc{{ID: "item", Text: item}}, []Doc{{ID: "chess", Text: chess}}, Options{})
	if got := rep.Results[0].Score; got != round4(j) {
		t.Errorf("score %v, want the similarity %v", got, round4(j))
	}
}

func round4(x float64) float64 { return float64(int(x*1e4+0.5)) / 1e4 }

func TestCheckCounts(t *testing.T) {
	items := []Doc{{ID: "a", Text: storm}, {ID: "b", Text: "Void where prohibited."}, {ID: "c", Text: "..."}, {ID: "d", Text: garden}}
	rep := check(t, items, []Doc{{ID: "storm", Text: storm}, {ID: "empty", Text: ""}}, Options{})
	if rep.Contaminated != 1 || rep.Short != 1 || rep.Empty != 1 || rep.Train.Docs != 2 || rep.Train.Failed != 0 {
		t.Errorf("report %+v", rep)
	}
	if ids := []string{rep.Results[0].ID, rep.Results[1].ID, rep.Results[2].ID, rep.Results[3].ID}; !slices.Equal(ids, []string{"a", "b", "c", "d"}) {
		t.Errorf("results in order %q", ids)
	}
}

// TestCheckIsDeterministic: however many workers share the documents and
// however they are scheduled, the results are the same.
func TestCheckIsDeterministic(t *testing.T) {
	var training []Doc
	for i := range 3000 {
		// Many documents tie on the same items, so that scheduling would
		// show in the matches if it could.
		texts := []string{storm, recipe, garden, train, chess}
		training = append(training, Doc{ID: fmt.Sprint("d", i), Text: firstWords(texts[i%5], 0.3+0.1*float64(i%7))})
	}
	items := []Doc{{ID: "1", Text: storm}, {ID: "2", Text: recipe}, {ID: "3", Text: garden}, {ID: "4", Text: train}, {ID: "5", Text: chess}}
	want := check(t, items, training, Options{Workers: 1}).Results
	for _, workers := range []int{2, 4, 8} {
		got := check(t, items, training, Options{Workers: workers}).Results
		if !slices.Equal(got, want) {
			t.Errorf("%d workers: %+v, one worker: %+v", workers, got, want)
		}
	}
	// d20 is the first document with 90% of the storm, the most any has.
	if want[0].Match != "d20" {
		t.Errorf("first item %+v, want the match d20", want[0])
	}
}

func TestOptions(t *testing.T) {
	for _, opt := range []Options{{NGram: -1}, {NGram: 65}, {Threshold: 1.5}, {Threshold: -0.1}} {
		if _, err := NewIndex(nil, opt); err == nil {
			t.Errorf("%+v accepted", opt)
		}
	}
	ix, err := NewIndex(nil, Options{})
	if err != nil || ix.Options().NGram != DefaultNGram || ix.Options().Threshold != DefaultThreshold {
		t.Errorf("defaults %+v, %v", ix.Options(), err)
	}
	// A longer n-gram makes an item of five words short.
	rep := check(t, []Doc{{ID: "x", Text: "one two three four five six seven"}}, []Doc{{ID: "y", Text: "zero one two three four five six seven eight"}}, Options{NGram: 8})
	if rep.Short != 1 || rep.Results[0].Score != 1 {
		t.Errorf("n=8: %+v", rep)
	}
}

func TestResultJSON(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{ID: "q1", Contaminated: true, Score: 0.8125, Match: "doc \"7\""}, `{"id":"q1","contaminated":true,"score":0.8125,"match":"doc \"7\""}`},
		{Result{ID: "17", numericID: true}, `{"id":17,"contaminated":false,"score":0}`},
		{Result{ID: "a\u2028b", Score: 1}, `{"id":"a\u2028b","contaminated":false,"score":1}`},
	} {
		got, err := json.Marshal(tc.r)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s (%v), want %s", got, err, tc.want)
		}
	}
}

// check runs items against training, given as JSONL on stdin.
func check(t *testing.T, items, training []Doc, opt Options) *Report {
	t.Helper()
	ix, err := NewIndex(items, opt)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ix.Check(t.Context(), Source{Path: "-", Stdin: bytes.NewReader(jsonl(t, training))})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// jsonl writes docs as {"id", "text"} lines.
func jsonl(t testing.TB, docs []Doc) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, d := range docs {
		if err := enc.Encode(map[string]string{"id": d.ID, "text": d.Text}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}
