package pii

import (
	"bytes"
	"net/netip"
)

// findIPv6 appends the IPv6 addresses in b to fs, full or compressed, with
// or without a dotted IPv4 tail ("::ffff:192.0.2.1").
func findIPv6(b []byte, fs []Finding) []Finding {
	for i := 0; i < len(b); {
		if class[b[i]]&cIPv6 == 0 {
			i++
			continue
		}
		j, colons := i, 0
		for ; j < len(b) && class[b[j]]&cIPv6 != 0; j++ {
			if b[j] == ':' {
				colons++
			}
		}
		if colons >= 2 {
			if lo, hi := ipv6In(b, i, j); lo >= 0 {
				fs = append(fs, Finding{Kind: IP, Start: lo, End: hi})
			}
		}
		i = j
	}
	return fs
}

// ipv6In returns the span of the IPv6 address in the run b[i:j] of hex
// digits, colons and dots, or -1, -1. The run may end in a full stop or a
// colon of the sentence, and start with a colon after a label, as in
// "IPv6:fe80::1", whose run is "6:fe80::1": when the run as a whole is no
// address standing alone, the part after its first colon gets a try.
func ipv6In(b []byte, i, j int) (lo, hi int) {
	if isWord(at(b, j)) {
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
	if (lo > 0 && isWord(b[lo-1])) || !validIPv6(b[lo:hi]) {
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
	// 45 characters is the longest form, eight groups ending in IPv4.
	if len(s) > 45 || bytes.Count(s, colon) < 2 || bytes.IndexAny(s, "0123456789") < 0 {
		return false
	}
	a, err := netip.ParseAddr(string(s))
	return err == nil && a.Is6()
}

// findIPv4 appends the IPv4 addresses in b to fs: four decimal octets,
// 0–255 without leading zeros, making up a whole dotted number: "1.2.3.4.5"
// is a version, not an address, and so is "v1.2.3.4".
func findIPv4(b []byte, fs []Finding) []Finding {
	for i := 0; i < len(b); {
		if class[b[i]]&cIPv4 == 0 {
			i++
			continue
		}
		j, dots := i, 0
		for ; j < len(b) && class[b[j]]&cIPv4 != 0; j++ {
			if b[j] == '.' {
				dots++
			}
		}
		if dots >= 3 && !isWord(at(b, i-1)) && !isWord(at(b, j)) {
			lo, hi := i, j
			for lo < hi && b[lo] == '.' { // an ellipsis before it
				lo++
			}
			for hi > lo && b[hi-1] == '.' { // a full stop after it
				hi--
			}
			if validIPv4(b[lo:hi]) {
				fs = append(fs, Finding{Kind: IP, Start: lo, End: hi})
			}
		}
		i = j
	}
	return fs
}

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
