package eval

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// An endpoint host policy says which hosts a server may call (and send a
// secret to). A [HostPattern] is one of
//
//	api.openai.com          a host name
//	*.svc.cluster.local     any name under a suffix
//	10.1.2.3, ::1           an address
//	10.0.0.0/8, fd00::/8    a network
//	loopback                127.0.0.0/8, ::1 and the name localhost
//	private                 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7
//	link-local              169.254/16 (cloud metadata), fe80::/10
//
// each optionally followed by :port (an IPv6 address in brackets: [::1]:8000).
// A pattern without a port matches every port.

// ErrHostPattern marks a pattern [ParseHostPattern] refuses.
var ErrHostPattern = errors.New("not an endpoint host pattern")

// AddrClass is the kind of an IP address, as the endpoint policy tells
// them apart.
type AddrClass string

// The classes of [ClassifyAddr].
const (
	ClassPublic    AddrClass = "public"
	ClassPrivate   AddrClass = "private"
	ClassLoopback  AddrClass = "loopback"
	ClassLinkLocal AddrClass = "link-local"
	// ClassSpecial is unspecified, multicast, broadcast and other
	// addresses nothing should be asked at.
	ClassSpecial AddrClass = "special"
)

var (
	cgnat      = netip.MustParsePrefix("100.64.0.0/10")
	thisNet    = netip.MustParsePrefix("0.0.0.0/8")
	reserved4  = netip.MustParsePrefix("240.0.0.0/4")
	broadcast4 = netip.MustParseAddr("255.255.255.255")
)

var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour  = netip.MustParsePrefix("2002::/16")
	compat4    = netip.MustParsePrefix("::/96")
	ietf4      = netip.MustParsePrefix("192.0.0.0/24")
	bench4     = netip.MustParsePrefix("198.18.0.0/15")
)

// embeddedIPv4 lists the IPv4 addresses an IPv6 address a reaches through
// a translator or tunnel: NAT64 (64:ff9b::/96, and 64:ff9b:1::/48, where
// RFC 6052 allows the /96 and the /48 layouts), 6to4 (2002::/16) and the
// deprecated IPv4-compatible ::a.b.c.d. Such an address goes where its
// IPv4 address does (an internal host, the cloud metadata service), so it
// is judged by it.
func embeddedIPv4(a netip.Addr) []netip.Addr {
	if !a.Is6() || a.Is4In6() {
		return nil
	}
	b := a.As16()
	v4 := func(p ...byte) netip.Addr { return netip.AddrFrom4([4]byte{p[0], p[1], p[2], p[3]}) }
	switch {
	case nat64.Contains(a):
		return []netip.Addr{v4(b[12:]...)}
	case nat64Local.Contains(a):
		// /48: bits 64..71 are the reserved u octet.
		return []netip.Addr{v4(b[12:]...), v4(b[6], b[7], b[9], b[10])}
	case sixToFour.Contains(a):
		return []netip.Addr{v4(b[2:6]...)}
	case compat4.Contains(a) && !a.IsUnspecified() && !a.IsLoopback():
		return []netip.Addr{v4(b[12:]...)}
	}
	return nil
}

// ClassifyAddr returns the class of a. An IPv6 address that embeds an
// IPv4 address (see embeddedIPv4) has the class of the IPv4 address; when
// it may embed two (the layouts of 64:ff9b:1::/48), a layout that reads
// as a special address (zeros where the other layout keeps its address)
// is not the one in use, and of the others the one that is not public
// decides.
func ClassifyAddr(a netip.Addr) AddrClass {
	a = a.Unmap()
	embedded := embeddedIPv4(a)
	if len(embedded) == 0 {
		return classify(a)
	}
	class := ClassSpecial
	for _, v4 := range embedded {
		switch c := classify(v4); {
		case c == ClassSpecial:
		case c != ClassPublic:
			return c
		default:
			class = c
		}
	}
	return class
}

func classify(a netip.Addr) AddrClass {
	switch {
	case !a.IsValid(), a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast(), a.IsLinkLocalMulticast(),
		a == broadcast4, thisNet.Contains(a), reserved4.Contains(a):
		return ClassSpecial
	case a.IsLoopback():
		return ClassLoopback
	case a.IsLinkLocalUnicast():
		return ClassLinkLocal
	case ietf4.Contains(a):
		return ClassSpecial
	case a.IsPrivate(), cgnat.Contains(a), bench4.Contains(a):
		return ClassPrivate
	}
	return ClassPublic
}

// patternKind is what a [HostPattern] matches.
type patternKind int

const (
	patternName patternKind = iota
	patternSuffix
	patternPrefix
	patternClass
)

// HostPattern is one entry of an allow list; see the package's endpoint
// policy comment for the forms.
type HostPattern struct {
	kind   patternKind
	name   string // patternName: the host; patternSuffix: ".suffix"
	prefix netip.Prefix
	class  AddrClass
	port   int // 0: any
	text   string
}

func (p HostPattern) String() string { return p.text }

// ParseHostPattern parses one pattern; its error says what is wrong and
// matches [ErrHostPattern].
func ParseHostPattern(s string) (HostPattern, error) {
	p := HostPattern{text: s}
	bad := func(why string) (HostPattern, error) {
		return HostPattern{}, fmt.Errorf("%w: %q %s", ErrHostPattern, s, why)
	}
	h := strings.ToLower(strings.TrimSpace(s))
	if h == "" {
		return bad("is empty: write a host, *.suffix, an address, a network (10.0.0.0/8), loopback, private or link-local")
	}
	if strings.Contains(h, "://") {
		return bad("is a URL: write only its host, like api.openai.com")
	}
	port := ""
	switch {
	case strings.HasPrefix(h, "["):
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return bad("has no closing ]")
		}
		rest := h[end+1:]
		h = h[1:end]
		if rest != "" {
			if rest[0] != ':' {
				return bad("has something after ] other than :port")
			}
			port = rest[1:]
		}
		if _, err := netip.ParseAddr(h); err != nil {
			return bad("has no IPv6 address in brackets")
		}
	case strings.Count(h, ":") == 1:
		h, port, _ = strings.Cut(h, ":")
	}
	if port != "" || strings.HasSuffix(s, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("has a port outside 1..65535")
		}
		p.port = n
	}
	switch {
	case h == string(ClassLoopback) || h == string(ClassPrivate) || h == string(ClassLinkLocal):
		p.kind, p.class = patternClass, AddrClass(h)
	case strings.Contains(h, "/"):
		pf, err := netip.ParsePrefix(h)
		if err != nil {
			return bad("is not a network: write it like 10.0.0.0/8")
		}
		p.kind, p.prefix = patternPrefix, pf.Masked()
	case strings.HasPrefix(h, "*."):
		if !validHostName(h[2:]) {
			return bad("is not *. followed by a host name")
		}
		p.kind, p.name = patternSuffix, h[1:]
	default:
		if a, err := netip.ParseAddr(h); err == nil {
			if a.Zone() != "" {
				return bad("has an IPv6 zone")
			}
			p.kind, p.prefix = patternPrefix, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			break
		}
		if h == "*" {
			return bad("allows everything: to allow every public host, configure no allow list")
		}
		if !validHostName(h) {
			return bad("is not a host name, *.suffix, address, network, loopback, private or link-local")
		}
		p.kind, p.name = patternName, h
	}
	return p, nil
}

// validHostName reports whether h is a DNS name: labels of letters,
// digits, '-' and '_', separated by dots.
func validHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func (p HostPattern) portOK(port int) bool { return p.port == 0 || p.port == port }

// MatchHost reports whether p names host (a name or an address literal,
// lower case, without brackets) on port, without resolving it: a name or
// suffix pattern matches the name, an address, network or class pattern
// an address literal of it, and loopback the name localhost too.
func (p HostPattern) MatchHost(host string, port int) bool {
	if !p.portOK(port) {
		return false
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	switch p.kind {
	case patternName:
		return host == strings.TrimSuffix(p.name, ".")
	case patternSuffix:
		return strings.HasSuffix(host, strings.TrimSuffix(p.name, "."))
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return p.matchAddr(a)
	}
	return p.kind == patternClass && p.class == ClassLoopback && (host == "localhost" || strings.HasSuffix(host, ".localhost"))
}

// matchAddr reports whether an address, network or class pattern covers a.
func (p HostPattern) matchAddr(a netip.Addr) bool {
	a = a.Unmap()
	switch p.kind {
	case patternPrefix:
		// An address is also what it embeds (embeddedIPv4): allowing
		// 10.1.2.3 allows 64:ff9b::a01:203 too.
		for _, v4 := range embeddedIPv4(a) {
			if p.prefix.Contains(v4) {
				return true
			}
		}
		return p.prefix.Contains(a)
	case patternClass:
		return ClassifyAddr(a) == p.class
	}
	return false
}

// HostPolicy is a server's allow list of endpoint hosts. The zero value
// (no list) allows every host whose addresses are all public.
type HostPolicy struct {
	Allow []HostPattern
}

// ParseHostPolicy parses an allow list; the error names every bad
// pattern.
func ParseHostPolicy(patterns []string) (HostPolicy, error) {
	var p HostPolicy
	var errs []error
	for _, s := range patterns {
		hp, err := ParseHostPattern(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Allow = append(p.Allow, hp)
	}
	return p, errors.Join(errs...)
}

// CheckAddr says whether the policy lets a call to host on port connect
// to address a (one the name resolved to, or the host itself), or why
// not. Addresses named by an address, network or class pattern are
// allowed; a name or suffix pattern matching host allows its public and
// private addresses (an in-cluster service resolves to a private one),
// never loopback, link-local or special ones, which need a pattern of
// their own. Without an allow list only public addresses are allowed.
func (p HostPolicy) CheckAddr(host string, port int, a netip.Addr) error {
	class := ClassifyAddr(a)
	named := false
	for _, hp := range p.Allow {
		if !hp.portOK(port) {
			continue
		}
		switch hp.kind {
		case patternName, patternSuffix:
			named = named || hp.MatchHost(host, port)
		default:
			if hp.matchAddr(a) {
				return nil
			}
		}
	}
	switch {
	case class == ClassPublic && (len(p.Allow) == 0 || named):
		return nil
	case class == ClassPrivate && named:
		return nil
	case class == ClassPublic:
		return fmt.Errorf("host %s (port %d) is not in the endpoint allow list", host, port)
	case class == ClassSpecial:
		return fmt.Errorf("host %s resolves to %s, an unspecified, multicast or reserved address, which is never called unless an address or network pattern allows it", host, a.Unmap())
	}
	return fmt.Errorf("host %s resolves to %s, a %s address, which is refused unless the endpoint allow list has %s (or the address or its network)", host, a.Unmap(), class, class)
}

// MatchAny reports whether any of patterns names host on port (see
// [HostPattern.MatchHost]).
func MatchAny(patterns []HostPattern, host string, port int) bool {
	for _, p := range patterns {
		if p.MatchHost(host, port) {
			return true
		}
	}
	return false
}
