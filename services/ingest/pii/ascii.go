package pii

// Byte classes. Only ASCII bytes are in any, so that CJK text counts as a
// boundary and no match splits a multi-byte character; the one exception,
// the first byte of a full-width parenthesis, only starts a look for
// "（010）12345678".
const (
	cDigit = 1 << iota
	cLetter
	cAtext      // RFC 5322 atext: what an unquoted local part is made of, dots aside
	cLabel      // what a domain label is made of
	cIP         // what an IP address is made of
	cPhoneStart // what a phone number can start with
)

var class = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] |= cDigit | cAtext | cLabel | cIP | cPhoneStart
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= cLetter | cAtext | cLabel
		t[c-'a'+'A'] |= cLetter | cAtext | cLabel
	}
	for c := 'a'; c <= 'f'; c++ { // hex digits
		t[c] |= cIP
		t[c-'a'+'A'] |= cIP
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] |= cAtext
	}
	t['-'] |= cLabel
	t['.'] |= cIP
	t[':'] |= cIP
	t['+'] |= cPhoneStart
	t['('] |= cPhoneStart
	t[fullOpen[0]] |= cPhoneStart
	return t
}()

func isDigit(c byte) bool  { return class[c]&cDigit != 0 }
func isLetter(c byte) bool { return class[c]&cLetter != 0 }
func isAlnum(c byte) bool  { return class[c]&(cDigit|cLetter) != 0 }

// isWord reports whether c is part of a word in the sense of \w: a number
// touching one is an identifier's tail, not data of its own.
func isWord(c byte) bool { return isAlnum(c) || c == '_' }

// at returns b[i], or 0 (in no class) when i is out of range.
func at(b []byte, i int) byte {
	if i >= 0 && i < len(b) {
		return b[i]
	}
	return 0
}

// hasAt reports whether b[i:] starts with s.
func hasAt(b []byte, i int, s string) bool {
	return i >= 0 && len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
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

// ean13 reports whether the 13 ASCII digits ds pass the EAN-13 check, as
// ISBN-13s and the barcodes of retail goods do.
func ean13(ds []byte) bool {
	sum := 0
	for i, c := range ds {
		d := int(c - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return sum%10 == 0
}
