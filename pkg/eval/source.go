package eval

import (
	"fmt"
	"strconv"
)

// maxSourceDigits is the longest number an intake source name may hold:
// a year and a month ("2026-11") pass, a phone number (7 digits and more
// without its area code), a card or an ID number does not.
const maxSourceDigits = 6

// CheckSourceName returns nil when name may name an intake source, and
// else an error that says why. A source name becomes a NATS subject token
// (assay.intake.<source>) and is repeated in samples, reports and logs, so
// besides being a valid name ([ValidName]) it must not look like personal
// data: no number of more than 6 digits (digits joined by single '-' or
// '_' count as one number, as "138-1234-5678" or "4111_1111_1111_1111"
// would be written) and no IPv4 address written with '-' or '_'
// ("10-1-2-3"). An email address cannot be a name: '@' and '.' are refused.
// The error does not quote a name that looks like personal data: it is
// logged and returned to whoever sent it.
func CheckSourceName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("source %q is not a valid name: use 1-64 letters, digits, '-' or '_'", name)
	}
	for i := 0; i < len(name); {
		if !isSourceDigit(name[i]) {
			i++
			continue
		}
		// A number: digit groups joined by single separators.
		var groups []string
		digits, j := 0, i
		for {
			k := j
			for k < len(name) && isSourceDigit(name[k]) {
				k++
			}
			groups = append(groups, name[j:k])
			digits += k - j
			if k+1 < len(name) && (name[k] == '-' || name[k] == '_') && isSourceDigit(name[k+1]) {
				j = k + 1
				continue
			}
			j = k
			break
		}
		if digits > maxSourceDigits {
			return fmt.Errorf("the source name holds a number of %d digits, which may be a phone, card or ID number: name the source after what sends the queries (e.g. support-chat), with at most %d digits in a row", digits, maxSourceDigits)
		}
		if ipv4Groups(groups) {
			return fmt.Errorf("the source name looks like an IP address: name the source after what sends the queries (e.g. support-chat), not after a host")
		}
		i = j
	}
	return nil
}

// ipv4Groups reports whether groups are the four parts of an IPv4 address.
func ipv4Groups(groups []string) bool {
	if len(groups) != 4 {
		return false
	}
	for _, g := range groups {
		n, err := strconv.Atoi(g)
		if err != nil || len(g) > 3 || n > 255 {
			return false
		}
	}
	return true
}

func isSourceDigit(c byte) bool { return '0' <= c && c <= '9' }
