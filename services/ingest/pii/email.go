package pii

import "bytes"

// findEmails appends the email addresses in b to fs: local@domain.tld with
// an unquoted, ASCII local part (Unicode and quoted local parts are left
// alone) and a domain of at least two labels, the last starting with two
// letters.
func findEmails(b []byte, fs []Finding) []Finding {
	for from := 0; ; {
		k := bytes.IndexByte(b[from:], '@')
		if k < 0 {
			return fs
		}
		sign := from + k
		start, end := localStart(b, sign), domainEnd(b, sign+1)
		if start < sign && end > 0 {
			fs = found(b, fs, Email, start, end)
			from = end
			continue
		}
		from = sign + 1
	}
}

// localStart returns where the local part that ends at b[sign] == '@'
// starts: the longest dot-atom (atext runs joined by single dots) before it.
// In "..a.b@x.org" that is "a.b", which a mail server would take; the dots
// before it stay.
func localStart(b []byte, sign int) int {
	p := sign
	for p > 0 {
		c := b[p-1]
		switch {
		case class[c]&cAtext != 0:
			p--
		case c == '.' && p < sign && class[at(b, p-2)]&cAtext != 0:
			p--
		default:
			return p
		}
	}
	return p
}

// domainEnd returns the end of the longest domain name starting at i, or
// -1: labels of letters, digits and inner hyphens joined by dots, the last
// one starting with at least two letters, which end the domain. So
// "example.com." ends before the full stop, and "x@qq.com13812345678" ends
// at "com", leaving the phone number after it to the phone detector. Labels
// starting "xn--" are punycode TLDs.
func domainEnd(b []byte, i int) int {
	end := -1
	for labels, p := 0, i; ; {
		q := p
		for q < len(b) && class[b[q]]&cLabel != 0 {
			q++
		}
		if q == p || b[p] == '-' {
			return end
		}
		if labels++; labels >= 2 {
			if q-p > 4 && hasAt(b, p, "xn--") && b[q-1] != '-' {
				end = q
			} else {
				l := p
				for l < q && isLetter(b[l]) {
					l++
				}
				if l-p >= 2 {
					end = l
				}
			}
		}
		if b[q-1] == '-' || at(b, q) != '.' {
			return end
		}
		p = q + 1
	}
}
