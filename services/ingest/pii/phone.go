package pii

// findPhones appends the phone numbers in b to fs: Chinese mobiles (with or
// without +86, 86 or 0086; whole or grouped 3-4-4), Chinese landlines with
// an area code, E.164 numbers and North American numbers. A bare run of
// digits is a phone number only in the shape of a Chinese mobile: an order
// number of 7–11 digits is far likelier than a phone number written bare.
func findPhones(b []byte, fs []Finding) []Finding {
	for i := 0; i < len(b); {
		if class[b[i]]&cPhoneStart == 0 {
			i++
			continue
		}
		if phoneStart(b, i) {
			if end := phoneAt(b, i); end > 0 {
				fs = found(b, fs, Phone, i, end)
				i = end
				continue
			}
		}
		// No phone number starts inside a digit run.
		i = max(i+1, digitEnd(b, i))
	}
	return fs
}

// phoneStart reports whether a phone number may start at b[i]. Phone
// numbers have no check digit, so where one may start and end is what keeps
// identifiers out: not inside a digit run, not glued to letters
// ("SO13812345678"), not hyphenated onto a word or number ("PO-415-555-0132",
// "INV-2024-0417"), not dotted onto a number ("1.415.555.0132.7").
func phoneStart(b []byte, i int) bool {
	if i == 0 {
		return true
	}
	switch c := b[i-1]; {
	case isWord(c):
		return false
	case c == '+':
		return b[i] == '(' // a digit after '+' had its chance as E.164
	case c == '-':
		return !isAlnum(at(b, i-2))
	case c == '.' || c == '/':
		return !isDigit(at(b, i-2))
	}
	return true
}

// phoneEnd reports whether a phone number may end before b[j].
func phoneEnd(b []byte, j int) bool {
	switch c := at(b, j); {
	case isWord(c):
		return false
	case c == '-':
		return !isAlnum(at(b, j+1))
	case c == '.' || c == '/':
		return !isDigit(at(b, j+1))
	}
	return true
}

// Full-width parentheses, as Chinese text writes them: "（010）12345678".
const fullOpen, fullClose = "（", "）"

// phoneAt returns the end of the phone number starting at b[i], or -1.
func phoneAt(b []byte, i int) int {
	var forms [3]func([]byte, int) int
	switch {
	case b[i] == '+':
		forms[0] = e164At
	case b[i] == '(':
		forms[0], forms[1] = nanpAt, cnLandlineAt
	case hasAt(b, i, fullOpen):
		forms[0] = cnLandlineAt
	case isDigit(b[i]):
		forms[0], forms[1], forms[2] = cnMobileAt, cnLandlineAt, nanpAt
	}
	for _, form := range forms {
		if form == nil {
			break
		}
		if end := form(b, i); end > 0 && phoneEnd(b, end) {
			return end
		}
	}
	return -1
}

// e164At returns the end of the E.164 number at b[i] == '+': 8–15 digits
// in groups, which may be parenthesised ("+44 (0)20 7946 0958") and are
// joined by nothing or one space, hyphen or dot. Grouping lets a number run
// on into the next one, "+1 415 555 0132 2024", so +1 (North America) takes
// exactly 10 more digits and +86 with a mobile exactly 11; others take the
// most groups that stay within 15 digits.
func e164At(b []byte, i int) int {
	var (
		digits [15]byte
		n      int
		ends   [15]int
		counts [15]int // digits up to the end of each group
		closed [15]bool
		groups int
	)
scan:
	for p := i + 1; ; {
		gs, ge, next := p, digitEnd(b, p), 0
		paren := at(b, p) == '('
		if paren {
			gs, ge = p+1, digitEnd(b, p+1)
			if at(b, ge) != ')' {
				break scan
			}
			next = ge + 1
		} else {
			next = ge
		}
		if ge == gs || (paren && groups == 0) || n+ge-gs > len(digits) {
			break scan
		}
		n += copy(digits[n:], b[gs:ge])
		ends[groups], counts[groups], closed[groups] = next, n, paren
		groups++
		switch c := at(b, next); {
		case c == ' ' || c == '-' || c == '.':
			if d := at(b, next+1); !isDigit(d) && d != '(' {
				break scan
			}
			p = next + 1
		case c == '(' || (paren && isDigit(c)):
			p = next
		default:
			break scan
		}
	}
	want := 0
	switch {
	case n >= 1 && digits[0] == '1':
		want = 11
	case n >= 4 && string(digits[:3]) == "861" && digits[3] >= '3':
		want = 13
	}
	for g := groups - 1; g >= 0; g-- {
		// A number ends in a digit: one that ends in ')' might as well be
		// "(0)" before the next number. And where the most groups would
		// end in the middle of something else, fewer may not.
		if !closed[g] && (want > 0 && counts[g] == want || want == 0 && counts[g] >= 8) && phoneEnd(b, ends[g]) {
			return ends[g]
		}
	}
	return -1
}

// cnMobileAt returns the end of the Chinese mobile number at b[i], or -1:
// 1[3-9] and nine more digits, whole or as 3-4-4 with spaces or hyphens,
// after an optional country code 86 or 0086 and a space or hyphen.
func cnMobileAt(b []byte, i int) int {
	for _, cc := range [...]string{"0086", "86"} {
		if !hasAt(b, i, cc) {
			continue
		}
		p := i + len(cc)
		if c := at(b, p); c == ' ' || c == '-' {
			p++
		}
		if end := cnMobileBody(b, p); end > 0 {
			return end
		}
	}
	return cnMobileBody(b, i)
}

// cnMobileBody is cnMobileAt after the country code.
func cnMobileBody(b []byte, p int) int {
	if at(b, p) != '1' || at(b, p+1) < '3' || at(b, p+1) > '9' {
		return -1
	}
	switch e := digitEnd(b, p); e - p {
	case 11:
		return e
	case 3:
		sep := at(b, e)
		if sep != ' ' && sep != '-' {
			return -1
		}
		e2 := digitEnd(b, e+1)
		if e2-e != 5 || at(b, e2) != sep {
			return -1
		}
		if e3 := digitEnd(b, e2+1); e3-e2 == 5 {
			return e3
		}
	}
	return -1
}

// cnLandlineAt returns the end of the Chinese landline number at b[i], or
// -1: an area code of 3 or 4 digits starting 0, then a hyphen
// ("010-12345678") or in parentheses ("(0755) 1234567", "（010）12345678"),
// then 7 or 8 digits and an optional hyphenated extension.
func cnLandlineAt(b []byte, i int) int {
	closing := ""
	switch {
	case b[i] == '(':
		closing = ")"
	case hasAt(b, i, fullOpen):
		closing = fullClose
	}
	p := i
	if closing != "" {
		p += len(closing) // the opening one is as long
	}
	if at(b, p) != '0' {
		return -1
	}
	e := digitEnd(b, p)
	if n := e - p; n != 3 && n != 4 {
		return -1
	}
	switch {
	case closing != "" && hasAt(b, e, closing):
		if e += len(closing); at(b, e) == ' ' {
			e++
		}
	case closing == "" && at(b, e) == '-':
		e++
	default:
		return -1
	}
	end := digitEnd(b, e)
	if n := end - e; n != 7 && n != 8 {
		return -1
	}
	if at(b, end) == '-' {
		if ext := digitEnd(b, end+1); ext-end >= 2 && ext-end <= 7 {
			return ext
		}
	}
	return end
}

// nanpAt returns the end of the North American number at b[i], or -1:
// (415) 555-0132, 415-555-0132 or 415.555.0132, optionally after "1" and a
// space, hyphen or dot. Area code and exchange start with 2–9, as they must,
// which keeps out digit groups like 100-200-3000. Space-separated groups,
// "415 555 0132", are too like a list of numbers to count.
func nanpAt(b []byte, i int) int {
	p := i
	if b[i] == '1' && digitEnd(b, i) == i+1 {
		switch at(b, i+1) {
		case ' ', '-', '.':
			p = i + 2
		default:
			return -1
		}
	}
	if at(b, p) == '(' {
		if !nanpGroup(b, p+1) || at(b, p+4) != ')' {
			return -1
		}
		q := p + 5
		if at(b, q) == ' ' {
			q++
		}
		if !nanpGroup(b, q) {
			return -1
		}
		if sep := at(b, q+3); sep != '-' && sep != '.' && sep != ' ' {
			return -1
		}
		if digitEnd(b, q+4) != q+8 {
			return -1
		}
		return q + 8
	}
	if !nanpGroup(b, p) {
		return -1
	}
	sep := at(b, p+3)
	if (sep != '-' && sep != '.') || !nanpGroup(b, p+4) || at(b, p+7) != sep || digitEnd(b, p+8) != p+12 {
		return -1
	}
	return p + 12
}

// nanpGroup reports whether b[p:] starts with exactly three digits, the
// first 2–9.
func nanpGroup(b []byte, p int) bool {
	c := at(b, p)
	return c >= '2' && c <= '9' && digitEnd(b, p) == p+3
}
