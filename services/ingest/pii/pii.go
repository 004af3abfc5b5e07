package pii

import (
	"slices"
	"strings"
)

// Kind is a kind of personal data.
type Kind string

// The kinds of personal data [Redact] finds.
const (
	Email Kind = "email"
	Phone Kind = "phone"
	CNID  Kind = "cn_id" // Chinese resident identity card number
	Card  Kind = "card"  // bank card number
	IP    Kind = "ip"
)

// Finding is one redacted span of the input.
type Finding struct {
	Kind       Kind
	Start, End int // byte offsets in the input
}

// placeholder returns the text [Redact] puts in place of data of kind k:
// "[EMAIL]", "[PHONE]", "[CN_ID]", "[CARD]" or "[IP]".
func (k Kind) placeholder() string {
	switch k {
	case Email:
		return "[EMAIL]"
	case Phone:
		return "[PHONE]"
	case CNID:
		return "[CN_ID]"
	case Card:
		return "[CARD]"
	case IP:
		return "[IP]"
	}
	// Not reached: findings are made by the detectors, with the kinds above.
	return "[" + strings.ToUpper(string(k)) + "]"
}

// detectors run in the order in which overlapping kinds win: an ID can
// pass the Luhn check by chance, so IDs come before cards, and a card number
// is no phone number.
var detectors = [...]func(b []byte, fs []Finding) []Finding{
	findCNIDs,
	findCards,
	findEmails,
	findIPs,
	findPhones,
}

// kinds are the kinds of personal data, in no particular order.
var kinds = [...]Kind{Email, Phone, CNID, Card, IP}

// HasPlaceholder reports whether s holds a placeholder [Redact] puts in
// place of personal data: s was redacted, and what it stood for is gone.
func HasPlaceholder(s string) bool {
	if !strings.Contains(s, "[") {
		return false
	}
	for _, k := range kinds {
		if strings.Contains(s, k.placeholder()) {
			return true
		}
	}
	return false
}

// Redact returns s with every email address, phone number, Chinese resident
// ID number, bank card number and IP address replaced by a placeholder
// ([EMAIL], [PHONE], [CN_ID], [CARD], [IP]), and what it found, in order.
func Redact(s string) (string, []Finding) {
	// detect overwrites what it finds, and s is immutable: one copy.
	fs := detect([]byte(s))
	if len(fs) == 0 {
		return s, nil
	}
	return render(s, fs), fs
}

// detect returns the matches in b, in order and not overlapping.
func detect(b []byte) []Finding {
	var fs []Finding
	for _, find := range detectors {
		fs = find(b, fs)
	}
	slices.SortFunc(fs, func(a, b Finding) int { return a.Start - b.Start })
	return fs
}

// found appends a match to fs and masks it in b, so that the detectors
// after it, and this one further on, see it as they will see its
// placeholder: bytes none of them matches or looks past, like the
// placeholder's brackets. A match therefore does not depend on whether its
// neighbours have been redacted yet, which is what makes redacting redacted
// text change nothing: in "11010519491231002Xabc@example.com" the email
// detector finds "abc@example.com", as it would in "[CN_ID]abc@example.com".
func found(b []byte, fs []Finding, kind Kind, start, end int) []Finding {
	mask(b[start:end])
	return append(fs, Finding{Kind: kind, Start: start, End: end})
}

// mask hides b from the detectors that look after it.
func mask(b []byte) {
	for i := range b {
		b[i] = ']'
	}
}

// render returns s with each finding replaced by its placeholder.
func render(s string, fs []Finding) string {
	n := len(s)
	for _, f := range fs {
		n += len(f.Kind.placeholder()) - (f.End - f.Start)
	}
	var out strings.Builder
	out.Grow(n)
	last := 0
	for _, f := range fs {
		out.WriteString(s[last:f.Start])
		out.WriteString(f.Kind.placeholder())
		last = f.End
	}
	out.WriteString(s[last:])
	return out.String()
}
