package pii

// findCards appends the bank card numbers in b to fs.
func findCards(b []byte, fs []Finding) []Finding {
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		// i starts a digit run: runs are skipped whole below.
		if end := cardAt(b, i); end > 0 {
			fs = found(b, fs, Card, i, end)
			i = end
			continue
		}
		i = digitEnd(b, i)
	}
	return fs
}

// cardAt returns the end of the card number that starts at i, the start of
// a digit run, or -1. A card number is 13–19 digits passing the Luhn check,
// written as one run or in groups of four (the last one shorter, or longer
// for 17–19 digits: 4-4-4-6 and 4-4-4-7 as UnionPay and Maestro cards are
// printed; or Amex's 4-6-5 and Diners' 4-6-4) joined by single spaces or
// single hyphens. No
// card number starts with 0 (that would be ISO's industry 0, not a bank) or
// follows a '+', which makes it a phone number. Luhn passes one number in
// ten, so an order number of 13–19 digits can pass too; that is the price
// of catching every card.
func cardAt(b []byte, i int) int {
	// After a decimal point, digits are a fraction: "e = 2.7182818284590452".
	if b[i] == '0' || at(b, i-1) == '+' || at(b, i-1) == '.' && isDigit(at(b, i-2)) {
		return -1
	}
	j := digitEnd(b, i)
	if n := j - i; n >= 13 && n <= 19 {
		switch {
		case beforeFraction(b, j):
			return -1
		case n == 13 && ean13(b[i:j]):
			// An ISBN or a product barcode. Only old Visa cards have 13
			// digits, and only one in ten of those passes this check.
			return -1
		case luhn(b[i:j]):
			return j
		}
		return -1
	}
	if j-i != 4 {
		return -1
	}
	sep := at(b, j)
	if sep != ' ' && sep != '-' {
		return -1
	}
	// Read up to five groups (19 digits are 4+4+4+4+3); a card may end
	// before the last one: "4111 1111 1111 1111 2 times".
	var (
		digits [19]byte
		n      int
		lens   [5]int
		ends   [5]int
		groups int
	)
	for p := i; groups < len(lens); {
		q := digitEnd(b, p)
		if n+q-p > len(digits) {
			break
		}
		n += copy(digits[n:], b[p:q])
		lens[groups], ends[groups] = q-p, q
		groups++
		if at(b, q) != sep || !isDigit(at(b, q+1)) {
			break
		}
		p = q + 1
	}
	total := 0
	for g := range groups {
		total += lens[g]
	}
	for g := groups - 1; g >= 1; g-- {
		if cardShape(lens[:g+1]) && !beforeFraction(b, ends[g]) && luhn(digits[:total]) {
			return ends[g]
		}
		total -= lens[g]
	}
	return -1
}

// beforeFraction reports whether the digits ending at b[j] are the whole
// part of a decimal number.
func beforeFraction(b []byte, j int) bool {
	return at(b, j) == '.' && isDigit(at(b, j+1))
}

// cardShape reports whether groups of these lengths are how a card number
// is written.
func cardShape(lens []int) bool {
	switch {
	case len(lens) == 3 && lens[0] == 4 && lens[1] == 6 && (lens[2] == 5 || lens[2] == 4):
		return true // Amex 4-6-5, Diners 4-6-4
	case len(lens) < 4:
		return false // at most 4+4+4 = 12 digits
	case len(lens) == 4 && lens[0] == 4 && lens[1] == 4 && lens[2] == 4 && lens[3] >= 5 && lens[3] <= 7:
		return true // 17–19 digits: 4-4-4-6 (18) and 4-4-4-7 (19) are printed so
	}
	total := 0
	for g, n := range lens {
		last := g == len(lens)-1
		if n > 4 || (!last && n != 4) {
			return false
		}
		total += n
	}
	return total >= 13 && total <= 19
}
