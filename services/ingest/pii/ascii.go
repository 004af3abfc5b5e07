package pii

// Byte classes. Only ASCII bytes are in any class, so a detector never
// splits a multi-byte UTF-8 sequence, and CJK text counts as a boundary.
const (
	cDigit = 1 << iota
	cLetter
	cHex
	cAtext // RFC 5322 atext: what an unquoted local part is made of, dots aside
	cLabel // what a domain label is made of
)

var class = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] |= cDigit | cHex | cAtext | cLabel
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= cLetter | cAtext | cLabel
		t[c-'a'+'A'] |= cLetter | cAtext | cLabel
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] |= cHex
		t[c-'a'+'A'] |= cHex
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] |= cAtext
	}
	t['-'] |= cLabel
	return t
}()

func isDigit(c byte) bool  { return class[c]&cDigit != 0 }
func isLetter(c byte) bool { return class[c]&cLetter != 0 }
func isAlnum(c byte) bool  { return class[c]&(cDigit|cLetter) != 0 }

// isWord reports whether c is part of a word in the sense of \w: a number
// touching one is an identifier's tail, not data of its own.
func isWord(c byte) bool { return isAlnum(c) || c == '_' }

// at returns b[i], or 0 (in no class) when i is past the end.
func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

// digitEnd returns the end of the run of ASCII digits that starts at i.
func digitEnd(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// luhn reports whether the ASCII digits ds pass the Luhn check.
func luhn(ds []byte) bool {
	sum := 0
	double := false
	for i := len(ds) - 1; i >= 0; i-- {
		d := int(ds[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
