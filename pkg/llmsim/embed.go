package llmsim

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// DefaultEmbedDims is the length of the simulated embedder's vectors when
// a request names none (the length of small sentence encoders such as
// all-MiniLM and bge-small).
const DefaultEmbedDims = 384

// MaxEmbedDims bounds the dimensions a request may ask for.
const MaxEmbedDims = 4096

// Embedder is the simulator's embedding model: a simulation, not a model.
// It reads a text the way a weak semantic encoder would: NFKC and lower
// case; English words lightly stemmed, Chinese text cut into the words of
// the concept table (longest first) and single characters; stop words
// dropped; each word mapped through the concept table (concepts.txt), so
// that synonyms, in either language, become one concept. Each concept is
// a fixed random direction (seeded by the model and the concept), weighted
// like an IDF (generic words light, long words and numbers heavy), and
// summed; character trigrams add a lighter, spelling-level part, and a
// direction every vector shares makes unrelated texts score about 0.3, as
// real encoders' vectors do. The sum is L2-normalised.
//
// So a paraphrase that uses the table's synonyms, or the same words in
// another order, lands near its original, while a text on the same topic
// asking something else shares only some concepts and lands further. It
// knows nothing the table does not: a paraphrase whose words are not in
// the same groups looks no closer than a text sharing those words.
type Embedder struct {
	seed uint64
	dims int
	// shared is the direction every vector leans towards.
	shared []float32
}

// NewEmbedder returns model's embedder under seed, with vectors of dims
// numbers (default [DefaultEmbedDims]).
func NewEmbedder(seed int64, model string, dims int) *Embedder {
	if dims <= 0 {
		dims = DefaultEmbedDims
	}
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(model))
	e := &Embedder{seed: mix(h.Sum64()), dims: dims}
	e.shared = make([]float32, dims)
	e.addDense(e.shared, "\x00shared", 1)
	normalizeVec(e.shared)
	return e
}

// Dims is the length of the embedder's vectors.
func (e *Embedder) Dims() int { return e.dims }

// Weights of the parts of a vector (see [Embedder]).
const (
	// weightLight is a light concept's weight, weightHanChar an
	// unmatched Chinese character's, weightBigram a Chinese bigram's.
	weightLight   = 0.35
	weightHanChar = 0.8
	weightBigram  = 0.3
	// trigramShare is the trigram part's length against the concepts'
	// (each normalised first).
	trigramShare = 0.35
	// sharedShare is the length of the shared direction added to the
	// normalised sum: cosines c become about (c + s²) / (1 + s²).
	sharedShare = 0.7
	// sparseK is how many of the dimensions a concept's direction sets
	// (±1 each): random sparse directions are as nearly orthogonal as
	// dense ones for far less work.
	sparseK = 48
)

// token is one concept of a text, in order, with its weight.
type token struct {
	concept string
	weight  float64
	// word is the text it came from, for its trigrams.
	word string
}

// Vector returns text's embedding, of length 1.
func (e *Embedder) Vector(text string) []float32 {
	toks, bigrams, clean := e.read(text)
	v := make([]float32, e.dims)
	// A concept said twice weighs more, sublinearly: its weight times
	// 1 + ln(count), as a log-scaled term frequency.
	type tally struct {
		weight float64
		count  int
	}
	tf := map[string]*tally{}
	var order []string
	add := func(c string, w float64) {
		t, ok := tf[c]
		if !ok {
			t = &tally{}
			tf[c] = t
			order = append(order, c)
		}
		t.weight = max(t.weight, w)
		t.count++
	}
	for _, t := range toks {
		add(t.concept, t.weight)
	}
	for _, b := range bigrams {
		add(b, weightBigram)
	}
	for _, c := range order {
		t := tf[c]
		e.addSparse(v, c, float32(t.weight*(1+math.Log(float64(t.count)))))
	}
	normalizeVec(v)
	t := make([]float32, e.dims)
	e.addTrigrams(t, clean)
	normalizeVec(t)
	return e.finish(v, t)
}

// Tokens returns one vector of length 1 per concept of text, in order:
// what an encoder's token embeddings would be, for a BERTScore-like
// match. A text of stop words alone gives theirs; a text with no word at
// all gives one vector, its [Embedder.Vector].
func (e *Embedder) Tokens(text string) [][]float32 {
	toks, _, _ := e.read(text)
	if len(toks) == 0 {
		return [][]float32{e.Vector(text)}
	}
	out := make([][]float32, len(toks))
	for i, tk := range toks {
		v := make([]float32, e.dims)
		e.addSparse(v, tk.concept, 1)
		normalizeVec(v)
		t := make([]float32, e.dims)
		e.addTrigrams(t, " "+tk.word+" ")
		normalizeVec(t)
		out[i] = e.finish(v, t)
	}
	return out
}

// finish joins a normalised concept part and trigram part, adds the
// shared direction and normalises. A text with neither part (no letter,
// digit or symbol at all) is the shared direction.
func (e *Embedder) finish(v, t []float32) []float32 {
	for i := range v {
		v[i] += trigramShare * t[i]
	}
	normalizeVec(v)
	for i := range v {
		v[i] += sharedShare * e.shared[i]
	}
	normalizeVec(v)
	return v
}

// read returns text's concepts in order, its Chinese bigrams, and the
// text normalised with its words separated by single spaces (for the
// trigrams). Stop words are dropped unless nothing else is left.
func (e *Embedder) read(text string) (toks []token, bigrams []string, clean string) {
	tab := concepts()
	s := strings.ToLower(norm.NFKC.String(text))
	var b strings.Builder
	var stops []token
	b.WriteByte(' ')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.Is(unicode.Han, r):
			j := i
			for j < len(s) {
				r2, n := utf8.DecodeRuneInString(s[j:])
				if !unicode.Is(unicode.Han, r2) {
					break
				}
				j += n
			}
			run := s[i:j]
			b.WriteString(run)
			b.WriteByte(' ')
			toks, stops = readHan(tab, run, toks, stops)
			bigrams = hanBigrams(run, bigrams)
			i = j
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			j := i
			for j < len(s) {
				r2, n := utf8.DecodeRuneInString(s[j:])
				if unicode.Is(unicode.Han, r2) || !(unicode.IsLetter(r2) || unicode.IsDigit(r2) || unicode.Is(unicode.Mn, r2) || r2 == '\'' && j+n < len(s) && s[j+n] == 's') {
					break
				}
				j += n
			}
			w := s[i:j]
			b.WriteString(w)
			b.WriteByte(' ')
			if tk, stop := readWord(tab, w); stop {
				stops = append(stops, tk)
			} else {
				toks = append(toks, tk)
			}
			i = j
		default:
			if !unicode.IsSpace(r) && r != utf8.RuneError {
				// Symbols and punctuation count for the trigrams.
				b.WriteString(s[i : i+size])
				b.WriteByte(' ')
			}
			i += size
		}
	}
	if len(toks) == 0 {
		toks = stops
	}
	return toks, bigrams, b.String()
}

// readWord maps an English (or other alphabetic) word or a number to its
// concept, and says whether it is a stop word.
func readWord(tab *conceptTable, w string) (token, bool) {
	st := stem(w)
	c, ok := tab.words[st]
	if !ok {
		c, ok = tab.words[w]
	}
	if !ok {
		c, ok = tab.comparative(w)
	}
	switch {
	case stopwords[w] || stopwords[st]:
		return token{concept: "w:" + w, weight: weightLight, word: w}, true
	case ok && tab.light[c]:
		return token{concept: c, weight: weightLight, word: w}, false
	case ok:
		return token{concept: c, weight: wordWeight(st), word: w}, false
	case isDigits(w):
		return token{concept: "n:" + strings.TrimLeft(w, "0"), weight: 1.3, word: w}, false
	}
	return token{concept: "w:" + st, weight: wordWeight(st), word: w}, false
}

// comparative finds the concept of a comparative or superlative whose
// base form the table knows: "faster" and "fastest" are "fast",
// "bigger" "big", "larger" "large". Only a base the table knows counts,
// so "interest" stays itself.
func (t *conceptTable) comparative(w string) (string, bool) {
	for _, suffix := range []string{"est", "er"} {
		base, ok := strings.CutSuffix(w, suffix)
		if !ok || len(base) < 3 {
			continue
		}
		for _, b := range []string{base, undouble(base), base + "e"} {
			if c, ok := t.words[stem(b)]; ok {
				return c, true
			}
		}
	}
	return "", false
}

// wordWeight is an IDF-like weight from a word's length: long words are
// rare words, and say more of what a text is about.
func wordWeight(stem string) float64 {
	n := utf8.RuneCountInString(stem)
	return 1 + 0.08*float64(min(max(n-4, 0), 8))
}

// readHan cuts a run of Chinese characters into the table's words,
// longest first, and single characters elsewhere.
func readHan(tab *conceptTable, run string, toks, stops []token) ([]token, []token) {
	rs := []rune(run)
	for i := 0; i < len(rs); {
		matched := false
		for n := min(tab.maxHan, len(rs)-i); n >= 1; n-- {
			w := string(rs[i : i+n])
			if c, ok := tab.han[w]; ok {
				weight := 1.0
				if tab.light[c] {
					weight = weightLight
				}
				toks = append(toks, token{concept: c, weight: weight, word: w})
				i += n
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		w := string(rs[i])
		if hanStopwords[w] {
			stops = append(stops, token{concept: "h:" + w, weight: weightLight, word: w})
		} else {
			toks = append(toks, token{concept: "h:" + w, weight: weightHanChar, word: w})
		}
		i++
	}
	return toks, stops
}

// hanBigrams appends the run's character bigrams: word-like units of
// Chinese text the table does not know.
func hanBigrams(run string, out []string) []string {
	rs := []rune(run)
	for i := 0; i+1 < len(rs); i++ {
		out = append(out, "b:"+string(rs[i:i+2]))
	}
	return out
}

func isDigits(w string) bool {
	for _, r := range w {
		if r < '0' || r > '9' {
			return false
		}
	}
	return w != ""
}

// addTrigrams adds s's character trigrams to v, each as ±1 on two
// dimensions chosen by its hash.
func (e *Embedder) addTrigrams(v []float32, s string) {
	rs := []rune(s)
	for i := 0; i+3 <= len(rs); i++ {
		h := e.hash(string(rs[i : i+3]))
		for range 2 {
			h = mix(h + 0x9e3779b97f4a7c15)
			v[h%uint64(e.dims)] += sign(h >> 63)
		}
	}
}

// addSparse adds w times concept c's direction to v: ±1 on sparseK
// dimensions drawn from the concept's hash.
func (e *Embedder) addSparse(v []float32, c string, w float32) {
	h := e.hash(c)
	for range min(sparseK, e.dims) {
		h = mix(h + 0x9e3779b97f4a7c15)
		v[h%uint64(e.dims)] += w * sign(h>>63)
	}
}

// addDense adds w times a dense random ±1 direction named c to v.
func (e *Embedder) addDense(v []float32, c string, w float32) {
	h := e.hash(c)
	for i := range v {
		if i%64 == 0 {
			h = mix(h + 0x9e3779b97f4a7c15)
		}
		v[i] += w * sign(h>>(i%64)&1)
	}
}

func (e *Embedder) hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return mix(h.Sum64() ^ e.seed)
}

func sign(bit uint64) float32 {
	if bit&1 == 1 {
		return -1
	}
	return 1
}

// normalizeVec scales v to length 1; a zero vector stays zero.
func normalizeVec(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
}
