package eval

import (
	"strings"
	"unicode/utf8"
)

// maxSuggestions bounds a "did you mean": more near names than this help
// no more than the whole list.
const maxSuggestions = 3

// suggest returns the names in known nearest to word, best first: a name
// that differs from it only in case; else those within two edits (a
// transposition is one: metircs, metrics), one edit in a word of up to
// three letters (num is not em); else those word is a prefix of, or that
// are a prefix of word, of three characters or more (json: json_valid,
// json_schema, …). It returns nothing when no name is near, so that the
// caller gives the whole list.
func suggest(word string, known []string) []string {
	w := strings.ToLower(word)
	for _, k := range known {
		if strings.ToLower(k) == w {
			return []string{k}
		}
	}
	var near []string
	n := utf8.RuneCountInString(w)
	// Edits allowed: two, but fewer in a short word, which two edits
	// turn into any other short word, and never all of it.
	maxEdits := min(2, (n+2)/3, n-1)
	best := maxEdits + 1
	for _, k := range known {
		lk := strings.ToLower(k)
		if abs(utf8.RuneCountInString(lk)-n) > maxEdits {
			continue
		}
		d := editDistance(w, lk)
		switch {
		case d > maxEdits:
		case d < best:
			best, near = d, []string{k}
		case d == best:
			near = append(near, k)
		}
	}
	if len(near) == 0 {
		for _, k := range known {
			lk := strings.ToLower(k)
			short, long := w, lk
			if len(short) > len(long) {
				short, long = long, short
			}
			if utf8.RuneCountInString(short) >= 3 && strings.HasPrefix(long, short) {
				near = append(near, k)
			}
		}
	}
	if len(near) > maxSuggestions {
		near = near[:maxSuggestions]
	}
	return near
}

// didYouMean is "did you mean x?", or "did you mean x or y?", for the names
// in known near word; "" when none is.
func didYouMean(word string, known []string) string {
	near := suggest(word, known)
	if len(near) == 0 {
		return ""
	}
	return "did you mean " + orList(near) + "?"
}

// nearOr is what to write after "unknown x": the names near word, or else
// "use one of" every name.
func nearOr(word string, known []string) string {
	if len(known) == 1 {
		return nearOrElse(word, known, "use "+known[0])
	}
	return nearOrElse(word, known, "use one of "+strings.Join(known, ", "))
}

// nearOrElse is "did you mean" the names near word, or else otherwise.
func nearOrElse(word string, known []string, otherwise string) string {
	if s := didYouMean(word, known); s != "" {
		return s
	}
	return otherwise
}

// orList writes names as "a", "a or b", "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// editDistance is the optimal string alignment distance between a and b,
// in runes: Levenshtein's insertions, deletions and substitutions, and
// transpositions of neighbours, which are the commonest typo.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows: the one before the previous is what a transposition
	// looks back to.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
