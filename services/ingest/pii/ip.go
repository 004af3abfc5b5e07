package pii

import (
	"bytes"
	"net/netip"
)

// findIPs appends the IP addresses in b to fs: IPv6, full or compressed,
// with or without a dotted IPv4 tail ("::ffff:192.0.2.1"), and IPv4 dotted
// quads. Both are made of hex digits, colons and dots, so each run of those
// is looked at once, for either.
func findIPs(b []byte, fs []Finding) []Finding {
	for i := 0; i < len(b); {
		if class[b[i]]&cIP == 0 {
			i++
			continue
		}
		j, colons, dots := i, 0, 0
		for ; j < len(b) && class[b[j]]&cIP != 0; j++ {
			switch b[j] {
			case ':':
				colons++
			case '.':
				dots++
			}
		}
		// Most runs are words and numbers, with neither.
		if colons >= 2 || dots >= 3 {
			fs = ipsIn(b, i, j, fs)
		}
		i = j
	}
	return fs
}

// ipsIn appends the addresses in the run b[i:j] to fs. A run that is not
// an IPv6 address may hold IPv4 ones, as in "tcp:10.0.0.1:8080"; once they
// are masked, what is left may be an IPv6 address standing alone, as "::1"
// is in "::1:10.0.0.1:5" (which is no address), and is taken too, as it
// would be beside the IPv4 addresses' placeholders.
//
// What is left with two colons and is still no address is masked as well,
// though not redacted: it looks like an address and is not one, and no
// phone number should be found inside it ("+00000000::0"), as one would
// leave the rest looking like an address standing alone ("::0").
func ipsIn(b []byte, i, j int, fs []Finding) []Finding {
	if lo, hi := ipv6In(b, i, j); lo >= 0 {
		// Usually the whole run; if not, the rest is looked at below.
		fs = found(b, fs, IP, lo, hi)
	}
	for p := i; p < j; {
		if !isDigit(b[p]) && b[p] != '.' {
			p++
			continue
		}
		// Two dots end a dotted number, as in "13812345678..192.168.1.1".
		q := p + 1
		for q < j && (isDigit(b[q]) || b[q] == '.' && b[q-1] != '.') {
			q++
		}
		if lo, hi := ipv4In(b, p, q); lo >= 0 {
			fs = found(b, fs, IP, lo, hi)
		}
		p = q
	}
	for p := i; p < j; {
		if b[p] == ']' {
			p++
			continue
		}
		q := p + 1
		for q < j && b[q] != ']' {
			q++
		}
		if lo, hi := ipv6In(b, p, q); lo >= 0 {
			fs = found(b, fs, IP, lo, hi)
		} else if bytes.Count(b[p:q], colon) >= 2 {
			mask(b[p:q])
		}
		p = q
	}
	return fs
}

// ipv6In returns the span of the IPv6 address in b[i:j], a run of hex
// digits, colons and dots, or -1, -1. The run may end in a full stop or a
// colon of the sentence, and start with a colon after a label, as in
// "IPv6:fe80::1", whose run is "6:fe80::1": when the run as a whole is no
// address standing alone, the part after its first colon gets a try.
func ipv6In(b []byte, i, j int) (lo, hi int) {
	if bytes.Count(b[i:j], colon) < 2 || isWord(at(b, j)) {
		return -1, -1
	}
	lo, hi = i, j
	for hi > lo && b[hi-1] == '.' {
		hi--
	}
	if hi-lo >= 2 && b[hi-1] == ':' && b[hi-2] != ':' {
		hi--
	}
	if hi-lo >= 2 && b[lo] == ':' && b[lo+1] != ':' {
		lo++
	}
	if isWord(at(b, lo-1)) || !validIPv6(b[lo:hi]) {
		c := bytes.IndexByte(b[lo:hi], ':')
		if c <= 0 || at(b, lo+c+1) == ':' {
			return -1, -1
		}
		if lo += c + 1; !validIPv6(b[lo:hi]) {
			return -1, -1
		}
	}
	return lo, hi
}

var colon = []byte{':'}

// validIPv6 reports whether s is an IPv6 address. It must have a decimal
// digit, which keeps hex words like "dead::beef" and "Face::Add" out (a
// real address without one is rare), and two colons, which keeps times out:
// "10:30:00" is no address anyway, but checking is cheaper than parsing.
func validIPv6(s []byte) bool {
	// 45 characters is the longest form, six groups and an IPv4 tail.
	if len(s) > 45 || bytes.Count(s, colon) < 2 || bytes.IndexAny(s, "0123456789") < 0 {
		return false
	}
	a, err := netip.ParseAddr(string(s))
	return err == nil && a.Is6()
}

// ipv4In returns the span of the IPv4 address in b[i:j], a run of digits
// and dots, or -1, -1: four decimal octets, 0–255 without leading zeros,
// making up the whole dotted number, so "1.2.3.4.5" is a version, not an
// address, and neither is "v1.2.3.4". Dots around it are an ellipsis or a
// full stop.
func ipv4In(b []byte, i, j int) (lo, hi int) {
	if bytes.Count(b[i:j], dot) < 3 || isWord(at(b, i-1)) || isWord(at(b, j)) {
		return -1, -1
	}
	lo, hi = i, j
	for lo < hi && b[lo] == '.' {
		lo++
	}
	for hi > lo && b[hi-1] == '.' {
		hi--
	}
	if !validIPv4(b[lo:hi]) {
		return -1, -1
	}
	return lo, hi
}

var dot = []byte{'.'}

// validIPv4 reports whether s, digits and dots, is a dotted quad.
func validIPv4(s []byte) bool {
	octets := 0
	for len(s) > 0 {
		n := digitEnd(s, 0)
		if n == 0 || n > 3 || (n > 1 && s[0] == '0') {
			return false
		}
		v := 0
		for _, c := range s[:n] {
			v = v*10 + int(c-'0')
		}
		if v > 255 {
			return false
		}
		octets++
		if s = s[n:]; len(s) > 0 {
			if s = s[1:]; len(s) == 0 { // s[0] was a dot: a trailing one
				return false
			}
		}
	}
	return octets == 4
}
