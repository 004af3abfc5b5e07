package metric

import "unicode/utf8"

// PorterStem returns the Porter stem of word exactly as NLTK's
// nltk.stem.porter.PorterStemmer() computes it in its default mode,
// PorterStemmer.NLTK_EXTENSIONS (NLTK 3.8, as packaged in Debian bookworm;
// the stemmer is unchanged up to NLTK's 2024 develop branch). This is the
// stemmer behind Google's rouge-score with use_stemmer=True, which stems
// only tokens longer than three characters; that length test is the
// caller's job.
//
// NLTK_EXTENSIONS differs from Porter's 1980 paper in these ways, all of
// which are reproduced here:
//   - a pool of irregular forms is looked up first: sky, skies → sky;
//     dying → die; lying → lie; tying → tie; news → news;
//     inning(s) → inning; outing(s) → outing; canning(s) → canning;
//     howe → howe; proceed, exceed, succeed are left as they are;
//   - words of one or two characters are returned unchanged;
//   - step 1a: a four-letter word in -ies loses only the s (ties → tie);
//   - step 1b: -ied becomes -ie in a four-letter word and -i otherwise,
//     whatever the measure (died → die, spied → spi);
//   - step 1b and 5a: the *o condition also holds for a two-letter stem
//     vowel–consonant, with no exception for w, x or y (owing → owe);
//   - step 1c: y → i only after a consonant that is not the first letter
//     (happy → happi, enjoy and sky unchanged, spy → spi);
//   - step 2: -alli → -al is tried first and step 2 is then run again on
//     the result; -bli → -ble (Porter's later correction of -abli);
//     -fulli → -ful; -logi → -log when the stem including the l has
//     measure > 0.
//
// NLTK matches step 1b's "*d" rule on a literal "*d" suffix as well as on a
// double consonant; that quirk is kept too, so that output matches for any
// string, not only for letters.
//
// NLTK lowercases before stemming but looks the irregular forms up in the
// word as given. PorterStem does no case folding: word is expected to be
// lowercase already, as rouge-score's tokens are, and for any such word
// the result equals NLTK's. Letters are counted and compared as code
// points, as Python does; only a, e, i, o, u (and y, by position) are
// vowels, so any other character, a digit or a non-ASCII letter, is a
// consonant. Invalid UTF-8 is stemmed byte by byte. The result is never
// longer than word and, when it is a prefix of word, shares its memory.
//
// PorterStem keeps no state and is safe for concurrent use.
func PorterStem(word string) string {
	// Words of one or two code points come back unchanged; none of the
	// irregular forms is that short.
	if len(word) <= 2 {
		return word
	}
	if stem, ok := porterIrregular(word); ok {
		return stem
	}
	ascii := true
	for i := 0; i < len(word); i++ {
		if word[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii || !utf8.ValidString(word) {
		var buf [64]byte
		b := porterSteps(append(buf[:0], word...))
		if len(b) <= len(word) && word[:len(b)] == string(b) {
			return word[:len(b)]
		}
		return string(b)
	}
	if utf8.RuneCountInString(word) <= 2 {
		return word
	}
	return string(porterSteps([]rune(word)))
}

// porterIrregular looks word up in NLTK_EXTENSIONS' pool of irregular forms.
func porterIrregular(word string) (string, bool) {
	switch word {
	case "sky", "skies":
		return "sky", true
	case "dying":
		return "die", true
	case "lying":
		return "lie", true
	case "tying":
		return "tie", true
	case "news":
		return "news", true
	case "innings", "inning":
		return "inning", true
	case "outings", "outing":
		return "outing", true
	case "cannings", "canning":
		return "canning", true
	case "howe":
		return "howe", true
	case "proceed":
		return "proceed", true
	case "exceed":
		return "exceed", true
	case "succeed":
		return "succeed", true
	}
	return "", false
}

// porterChar is a character of the word being stemmed: a byte for ASCII
// (or invalid UTF-8) input, a code point otherwise.
type porterChar interface{ ~byte | ~rune }

// porterCond is the condition a suffix rule puts on the stem that is left
// once the suffix is removed; m is the stem's measure.
type porterCond uint8

const (
	condNone    porterCond = iota
	condM0                 // m > 0
	condM1                 // m > 1
	condM1ST               // m > 1 and the stem ends in s or t (step 4's -ion)
	condStemL0             // m > 0 for the stem plus the suffix's l (step 2's -logi)
	condStemL1             // m > 1 for the stem plus the suffix's first l (step 5b's -ll)
	condStepOne            // m = 1 and *o (step 1b's final rule)
)

// porterRule replaces suffix with repl when cond holds for the stem. In a
// list of rules, the first whose suffix matches decides: if its condition
// fails, the word is left as it is.
type porterRule struct {
	suffix, repl string
	cond         porterCond
}

var (
	porterStep1a = [...]porterRule{
		{"sses", "ss", condNone},
		{"ies", "i", condNone},
		{"ss", "ss", condNone},
		{"s", "", condNone},
	}
	porterStep2 = [...]porterRule{
		{"ational", "ate", condM0},
		{"tional", "tion", condM0},
		{"enci", "ence", condM0},
		{"anci", "ance", condM0},
		{"izer", "ize", condM0},
		{"bli", "ble", condM0},
		{"alli", "al", condM0},
		{"entli", "ent", condM0},
		{"eli", "e", condM0},
		{"ousli", "ous", condM0},
		{"ization", "ize", condM0},
		{"ation", "ate", condM0},
		{"ator", "ate", condM0},
		{"alism", "al", condM0},
		{"iveness", "ive", condM0},
		{"fulness", "ful", condM0},
		{"ousness", "ous", condM0},
		{"aliti", "al", condM0},
		{"iviti", "ive", condM0},
		{"biliti", "ble", condM0},
		{"fulli", "ful", condM0},
		{"logi", "log", condStemL0},
	}
	porterStep3 = [...]porterRule{
		{"icate", "ic", condM0},
		{"ative", "", condM0},
		{"alize", "al", condM0},
		{"iciti", "ic", condM0},
		{"ical", "ic", condM0},
		{"ful", "", condM0},
		{"ness", "", condM0},
	}
	porterStep4 = [...]porterRule{
		{"al", "", condM1},
		{"ance", "", condM1},
		{"ence", "", condM1},
		{"er", "", condM1},
		{"ic", "", condM1},
		{"able", "", condM1},
		{"ible", "", condM1},
		{"ant", "", condM1},
		{"ement", "", condM1},
		{"ment", "", condM1},
		{"ent", "", condM1},
		{"ion", "", condM1ST},
		{"ou", "", condM1},
		{"ism", "", condM1},
		{"ate", "", condM1},
		{"iti", "", condM1},
		{"ous", "", condM1},
		{"ive", "", condM1},
		{"ize", "", condM1},
	}
	// Step 5b: (m > 1 and *d and *L) -> single letter.
	porterStep5b = [...]porterRule{{"ll", "l", condStemL1}}
	// Step 1b's first rules, once -ed or -ing is removed.
	porterStep1b = [...]porterRule{
		{"at", "ate", condNone},
		{"bl", "ble", condNone},
		{"iz", "ize", condNone},
	}
)

// porterSteps runs steps 1a to 5b on w, which it may overwrite, and
// returns the stem, which shares w's array and is never longer than w.
func porterSteps[T porterChar](w []T) []T {
	w = porterStep1A(w)
	w = porterStep1B(w)
	w = porterStep1C(w)
	w = porterStep2Run(w)
	w = porterApply(w, porterStep3[:])
	w = porterApply(w, porterStep4[:])
	w = porterStep5A(w)
	return porterApply(w, porterStep5b[:])
}

func porterStep1A[T porterChar](w []T) []T {
	if len(w) == 4 && hasSuffix(w, "ies") {
		return w[:3] // ties -> tie
	}
	return porterApply(w, porterStep1a[:])
}

func porterStep1B[T porterChar](w []T) []T {
	if hasSuffix(w, "ied") {
		if len(w) == 4 {
			return w[:3] // died -> die
		}
		return w[:len(w)-2] // spied -> spi
	}
	if hasSuffix(w, "eed") {
		if measure(w[:len(w)-3]) > 0 {
			return w[:len(w)-1]
		}
		return w
	}
	var stem []T
	switch {
	case hasSuffix(w, "ed") && containsVowel(w[:len(w)-2]):
		stem = w[:len(w)-2]
	case hasSuffix(w, "ing") && containsVowel(w[:len(w)-3]):
		stem = w[:len(w)-3]
	default:
		return w
	}
	for _, r := range porterStep1b {
		if hasSuffix(stem, r.suffix) {
			return appendASCII(stem[:len(stem)-len(r.suffix)], r.repl)
		}
	}
	n := len(stem)
	// (*d and not (*L or *S or *Z)) -> single letter. NLTK also takes a
	// literal "*d" suffix for this rule, and then keeps the d.
	if endsDoubleConsonant(stem) || hasSuffix(stem, "*d") {
		switch stem[n-1] {
		case 'l', 's', 'z':
			return stem
		}
		stem[n-2] = stem[n-1]
		return stem[:n-1]
	}
	if porterHolds(condStepOne, stem) {
		return appendASCII(stem, "e")
	}
	return stem
}

// porterStep1C turns a final y into i when it follows a consonant that is
// not the first letter.
func porterStep1C[T porterChar](w []T) []T {
	n := len(w)
	if n > 2 && w[n-1] == 'y' && isConsonant(w, n-2) {
		w[n-1] = 'i'
	}
	return w
}

func porterStep2Run[T porterChar](w []T) []T {
	// -alli -> -al is tried before everything else; step 2 then runs
	// again on a word that ends in -al, which cannot match -alli.
	if hasSuffix(w, "alli") && measure(w[:len(w)-4]) > 0 {
		w = w[:len(w)-2]
	}
	return porterApply(w, porterStep2[:])
}

func porterStep5A[T porterChar](w []T) []T {
	if !hasSuffix(w, "e") {
		return w
	}
	stem := w[:len(w)-1]
	m := measure(stem)
	if m > 1 || m == 1 && !endsCVC(stem) {
		return stem
	}
	return w
}

// porterApply applies the first rule in rules whose suffix w ends with.
func porterApply[T porterChar](w []T, rules []porterRule) []T {
	for _, r := range rules {
		if !hasSuffix(w, r.suffix) {
			continue
		}
		stem := w[:len(w)-len(r.suffix)]
		if !porterHolds(r.cond, stem) {
			return w
		}
		return appendASCII(stem, r.repl)
	}
	return w
}

func porterHolds[T porterChar](c porterCond, stem []T) bool {
	switch c {
	case condM0:
		return measure(stem) > 0
	case condM1:
		return measure(stem) > 1
	case condM1ST:
		n := len(stem)
		return measure(stem) > 1 && (stem[n-1] == 's' || stem[n-1] == 't')
	case condStemL0:
		// The suffix's l counts as part of the stem. The stem is followed
		// by that l in the word, so it is extended in place.
		return measure(stem[:len(stem)+1]) > 0
	case condStemL1:
		return measure(stem[:len(stem)+1]) > 1
	case condStepOne:
		return measure(stem) == 1 && endsCVC(stem)
	}
	return true
}

// appendASCII appends s to w; s is one of the rules' ASCII replacements.
// It never needs to grow w: every replacement is shorter than the suffix
// it replaces, plus what earlier steps removed.
func appendASCII[T porterChar](w []T, s string) []T {
	for i := 0; i < len(s); i++ {
		w = append(w, T(s[i]))
	}
	return w
}

func hasSuffix[T porterChar](w []T, s string) bool {
	if len(w) < len(s) {
		return false
	}
	w = w[len(w)-len(s):]
	for i := 0; i < len(s); i++ {
		if w[i] != T(s[i]) {
			return false
		}
	}
	return true
}

func isVowelLetter[T porterChar](c T) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u':
		return true
	}
	return false
}

// isConsonant reports whether w[i] is a consonant: a letter other than a,
// e, i, o, u, and other than a y that follows a consonant. A run of y's
// alternates, so it is resolved by walking back to the start of the run
// rather than by recursion.
func isConsonant[T porterChar](w []T, i int) bool {
	if isVowelLetter(w[i]) {
		return false
	}
	if w[i] != 'y' {
		return true
	}
	j := i
	for j > 0 && w[j-1] == 'y' {
		j--
	}
	first := j == 0 || isVowelLetter(w[j-1]) // the run's first y
	return first == ((i-j)%2 == 0)
}

// measure returns m, the number of vowel–consonant sequences in w written
// as [C](VC){m}[V].
func measure[T porterChar](w []T) int {
	m := 0
	prevCons := true
	for i, c := range w {
		cons := !isVowelLetter(c) && (c != 'y' || i == 0 || !prevCons)
		if cons && !prevCons {
			m++
		}
		prevCons = cons
	}
	return m
}

func containsVowel[T porterChar](w []T) bool {
	prevCons := true
	for i, c := range w {
		cons := !isVowelLetter(c) && (c != 'y' || i == 0 || !prevCons)
		if !cons {
			return true
		}
		prevCons = cons
	}
	return false
}

// endsDoubleConsonant is Porter's condition *d.
func endsDoubleConsonant[T porterChar](w []T) bool {
	n := len(w)
	return n >= 2 && w[n-1] == w[n-2] && isConsonant(w, n-1)
}

// endsCVC is Porter's condition *o: the word ends consonant–vowel–
// consonant and the last consonant is not w, x or y. NLTK_EXTENSIONS also
// accepts a two-letter word vowel–consonant, w, x and y included.
func endsCVC[T porterChar](w []T) bool {
	n := len(w)
	if n >= 3 && isConsonant(w, n-3) && !isConsonant(w, n-2) && isConsonant(w, n-1) {
		switch w[n-1] {
		case 'w', 'x', 'y':
		default:
			return true
		}
	}
	return n == 2 && !isConsonant(w, 0) && isConsonant(w, 1)
}
