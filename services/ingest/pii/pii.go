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
	return "[" + strings.ToUpper(string(k)) + "]"
}

// detectors run in order of precedence: an ID can pass the Luhn check by
// chance, so IDs come before cards, and cards before phones.
var detectors = [...]func(b []byte, fs []Finding) []Finding{
	findCNIDs,
	findCards,
	findEmails,
	findIPv6, // before IPv4, which would take the tail of ::ffff:192.0.2.1
	findIPv4,
	findPhones,
}

// Redact returns s with every email address, phone number, Chinese resident
// ID number, bank card number and IP address replaced by a placeholder
// ([EMAIL], [PHONE], [CN_ID], [CARD], [IP]), and what it found, in order.
func Redact(s string) (string, []Finding) {
	fs := detect([]byte(s))
	if len(fs) == 0 {
		return s, nil
	}
	out := render(s, fs)
	// A placeholder can complete a match the original text spoiled: in
	// "x@y.com13812345678" the email's domain runs into the phone, and only
	// "x@y.com[PHONE]" shows where it ends. Scanning the output until it
	// holds nothing more makes Redact idempotent. It ends, since each round
	// redacts at least one byte that no earlier round did (placeholders'
	// brackets are in no detector's alphabet, so no match reaches into one).
	for {
		more := detect([]byte(out))
		if len(more) == 0 {
			return out, fs
		}
		fs = merge(fs, more)
		out = render(s, fs)
	}
}

// detect returns the matches in b, in order and not overlapping. It
// overwrites each match in b so that later detectors see it as the
// placeholder it will become.
func detect(b []byte) []Finding {
	var fs []Finding
	for _, find := range detectors {
		n := len(fs)
		fs = find(b, fs)
		for _, f := range fs[n:] {
			mask(b[f.Start:f.End])
		}
	}
	slices.SortFunc(fs, func(a, b Finding) int { return a.Start - b.Start })
	return fs
}

// mask makes a match look, to every detector, like the placeholder that
// will replace it: ']' is in no detector's alphabet, as '[' and ']' are not.
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

// merge adds more, found in render(s, fs), to fs, whose offsets are in s.
// No finding in more overlaps a placeholder, so each lies between two of
// fs and maps to s by the length the placeholders before it added.
func merge(fs, more []Finding) []Finding {
	out := make([]Finding, 0, len(fs)+len(more))
	i, shift := 0, 0
	for _, f := range more {
		for ; i < len(fs) && fs[i].Start+shift < f.End; i++ {
			out = append(out, fs[i])
			shift += len(fs[i].Kind.placeholder()) - (fs[i].End - fs[i].Start)
		}
		out = append(out, Finding{Kind: f.Kind, Start: f.Start - shift, End: f.End - shift})
	}
	return append(out, fs[i:]...)
}
