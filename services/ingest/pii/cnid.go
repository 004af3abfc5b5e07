package pii

// findCNIDs appends the Chinese resident ID numbers in b to fs: a run of
// 18 digits, or of 17 and an X, with the right check character and a birth
// date.
func findCNIDs(b []byte, fs []Finding) []Finding {
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		j := digitEnd(b, i)
		end := -1
		switch j - i {
		case 18:
			end = j
		case 17:
			// The X bounds the run; what follows it does not matter, so
			// that a number after it is free to be matched on its own.
			if at(b, j)|0x20 == 'x' {
				end = j + 1
			}
		}
		if end > 0 && validCNID(b[i:end]) {
			fs = found(b, fs, CNID, i, end)
			j = end
		}
		i = j
	}
	return fs
}

// idWeights are the ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 of GB 11643.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// validCNID reports whether id, 17 digits and a digit or X, has the right
// check character and a birth date (characters 7–14) that can be one. An
// 18-digit order number passes the check digit one time in 11; the date
// rules out most of those.
func validCNID(id []byte) bool {
	sum := 0
	for i, w := range idWeights {
		sum += int(id[i]-'0') * w
	}
	check := id[17]
	if check == 'x' {
		check = 'X'
	}
	if "10X98765432"[sum%11] != check {
		return false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range id[i : i+n] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, m, d := num(6, 4), num(10, 2), num(12, 2)
	return y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
