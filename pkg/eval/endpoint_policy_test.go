package eval

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseHostPattern(t *testing.T) {
	for _, tc := range []struct {
		in  string
		bad string // part of the error; "" when it parses
	}{
		{"api.openai.com", ""},
		{"API.OpenAI.com:443", ""},
		{"*.svc.cluster.local:8000", ""},
		{"10.0.0.0/8", ""},
		{"fd00::/8", ""},
		{"10.1.2.3", ""},
		{"::1", ""},
		{"[::1]:8000", ""},
		{"loopback", ""},
		{"loopback:8000", ""},
		{"private", ""},
		{"link-local", ""},
		{"", "is empty"},
		{"*", "allows everything"},
		{"*.", "not *. followed by"},
		{"host:0", "port outside"},
		{"host:99999", "port outside"},
		{"host:", "port outside"},
		{"10.0.0.0/33", "not a network"},
		{"[::1", "no closing"},
		{"[nothost]:80", "no IPv6 address"},
		{"ho st", "not a host name"},
		{"http://api.openai.com", "is a URL"},
		{"fe80::1%eth0", "zone"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseHostPattern(tc.in)
			switch {
			case tc.bad == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.bad != "" && err == nil:
				t.Fatal("accepted")
			case tc.bad != "" && (!strings.Contains(err.Error(), tc.bad) || !errors.Is(err, ErrHostPattern)):
				t.Fatalf("error %q, want one saying %q", err, tc.bad)
			}
		})
	}
}

func TestClassifyAddr(t *testing.T) {
	for in, want := range map[string]AddrClass{
		"8.8.8.8": ClassPublic, "2606:4700::1111": ClassPublic,
		"10.1.2.3": ClassPrivate, "172.16.0.1": ClassPrivate, "192.168.1.1": ClassPrivate, "100.64.0.1": ClassPrivate, "fd00::1": ClassPrivate,
		"127.0.0.1": ClassLoopback, "127.5.5.5": ClassLoopback, "::1": ClassLoopback, "::ffff:127.0.0.1": ClassLoopback,
		"169.254.169.254": ClassLinkLocal, "fe80::1": ClassLinkLocal,
		"0.0.0.0": ClassSpecial, "::": ClassSpecial, "224.0.0.1": ClassSpecial, "ff02::1": ClassSpecial, "255.255.255.255": ClassSpecial, "0.1.2.3": ClassSpecial,
		"192.0.0.170": ClassSpecial, "198.18.0.1": ClassPrivate, "198.19.255.1": ClassPrivate, "198.20.0.1": ClassPublic,
		// IPv6 addresses that reach an IPv4 address are judged by it.
		"64:ff9b::a9fe:a9fe": ClassLinkLocal, "64:ff9b::7f00:1": ClassLoopback, "64:ff9b::a00:1": ClassPrivate, "64:ff9b::808:808": ClassPublic,
		"64:ff9b:1::a9fe:a9fe": ClassLinkLocal, "64:ff9b:1:a9fe:a9:fe00::": ClassLinkLocal, "64:ff9b:1::808:808": ClassPublic, "64:ff9b:1:a9fe:a9:fe00:808:808": ClassLinkLocal,
		"2002:a9fe:a9fe::1": ClassLinkLocal, "2002:7f00:1::": ClassLoopback, "2002:c0a8:101::1": ClassPrivate, "2002:808:808::1": ClassPublic,
		"::127.0.0.1": ClassLoopback, "::169.254.169.254": ClassLinkLocal, "::10.0.0.1": ClassPrivate, "::8.8.8.8": ClassPublic,
	} {
		if got := ClassifyAddr(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestHostPolicyCheckAddr(t *testing.T) {
	policy := func(ps ...string) HostPolicy {
		p, err := ParseHostPolicy(ps)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name   string
		policy HostPolicy
		host   string
		port   int
		addr   string
		ok     bool
	}{
		{"no list: public", HostPolicy{}, "api.openai.com", 443, "104.18.6.192", true},
		{"no list: loopback", HostPolicy{}, "localhost", 80, "127.0.0.1", false},
		{"no list: metadata", HostPolicy{}, "169.254.169.254", 80, "169.254.169.254", false},
		{"no list: private", HostPolicy{}, "db.internal", 80, "10.0.0.5", false},
		{"no list: unspecified", HostPolicy{}, "0.0.0.0", 80, "0.0.0.0", false},
		{"no list: multicast", HostPolicy{}, "m", 80, "224.0.0.1", false},
		{"no list: v4-mapped loopback", HostPolicy{}, "x", 80, "::ffff:127.0.0.1", false},
		{"loopback allowed", policy("loopback"), "127.0.0.1", 8000, "127.0.0.1", true},
		{"loopback port", policy("loopback:8000"), "127.0.0.1", 8001, "127.0.0.1", false},
		{"loopback does not allow private", policy("loopback"), "10.0.0.1", 80, "10.0.0.1", false},
		{"list: public host not listed", policy("api.openai.com"), "evil.example", 443, "93.184.216.34", false},
		{"list: listed name", policy("api.openai.com"), "api.openai.com", 443, "104.18.6.192", true},
		{"name allows its private address", policy("*.svc.cluster.local:8000"), "vllm.ns.svc.cluster.local", 8000, "10.96.0.10", true},
		{"suffix port mismatch", policy("*.svc.cluster.local:8000"), "vllm.ns.svc.cluster.local", 9000, "10.96.0.10", false},
		{"name never allows loopback", policy("api.example.com"), "api.example.com", 443, "127.0.0.1", false},
		{"name never allows metadata", policy("api.example.com"), "api.example.com", 80, "169.254.169.254", false},
		{"cidr", policy("10.0.0.0/8"), "vllm.internal", 8000, "10.1.2.3", true},
		{"cidr outside", policy("10.0.0.0/8"), "vllm.internal", 8000, "192.168.1.1", false},
		{"link-local explicit", policy("link-local"), "169.254.169.254", 80, "169.254.169.254", true},
		{"address pattern", policy("[::1]:8000"), "::1", 8000, "::1", true},
		{"private class", policy("private"), "x", 1, "172.20.0.1", true},
		{"no list: NAT64 metadata", HostPolicy{}, "64:ff9b::a9fe:a9fe", 80, "64:ff9b::a9fe:a9fe", false},
		{"no list: 6to4 private", HostPolicy{}, "x", 80, "2002:a00:1::1", false},
		{"no list: IPv4-compatible loopback", HostPolicy{}, "::127.0.0.1", 80, "::127.0.0.1", false},
		{"no list: NAT64 public", HostPolicy{}, "x", 443, "64:ff9b::808:808", true},
		{"address allows its NAT64 form", policy("10.1.2.3"), "x", 80, "64:ff9b::a01:203", true},
		{"name never allows NAT64 metadata", policy("api.example.com"), "api.example.com", 80, "64:ff9b::a9fe:a9fe", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.CheckAddr(tc.host, tc.port, netip.MustParseAddr(tc.addr))
			if (err == nil) != tc.ok {
				t.Fatalf("CheckAddr = %v, want allowed %v", err, tc.ok)
			}
		})
	}
}

func TestHostPatternMatchHost(t *testing.T) {
	for _, tc := range []struct {
		pattern, host string
		port          int
		ok            bool
	}{
		{"api.openai.com", "api.openai.com", 443, true},
		{"api.openai.com", "API.OPENAI.COM.", 443, true},
		{"api.openai.com", "api.openai.com.evil.example", 443, false},
		{"*.openai.com", "api.openai.com", 443, true},
		{"*.openai.com", "openai.com", 443, false},
		{"*.openai.com", "evilopenai.com", 443, false},
		{"api.openai.com:443", "api.openai.com", 80, false},
		{"loopback", "localhost", 80, true},
		{"loopback", "127.0.0.1", 80, true},
		{"loopback", "api.openai.com", 80, false},
		{"10.0.0.0/8", "10.2.3.4", 80, true},
		{"10.0.0.0/8", "vllm.internal", 80, false},
	} {
		p, err := ParseHostPattern(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.MatchHost(tc.host, tc.port); got != tc.ok {
			t.Errorf("%s matches %s:%d = %v, want %v", tc.pattern, tc.host, tc.port, got, tc.ok)
		}
	}
}

func FuzzParseHostPattern(f *testing.F) {
	for _, s := range []string{"api.openai.com", "*.svc.cluster.local:8000", "10.0.0.0/8", "[::1]:8000", "loopback", "private:1", "link-local", "::ffff:10.0.0.1", "*", "a:b:c"} {
		f.Add(s, "10.1.2.3", 8000)
	}
	f.Fuzz(func(t *testing.T, s, addr string, port int) {
		p, err := ParseHostPattern(s)
		if err != nil {
			if !errors.Is(err, ErrHostPattern) {
				t.Fatalf("error %v does not match ErrHostPattern", err)
			}
			return
		}
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return
		}
		_ = p.MatchHost(addr, port)
		pol := HostPolicy{Allow: []HostPattern{p}}
		// Nothing but an explicit pattern lets a call reach a loopback,
		// link-local or special address.
		if err := pol.CheckAddr("some.name", port, a); err == nil {
			c := ClassifyAddr(a)
			if (c == ClassLoopback || c == ClassLinkLocal || c == ClassSpecial) && p.kind != patternPrefix && p.kind != patternClass {
				t.Fatalf("pattern %q allowed %s (%s)", s, a, c)
			}
		}
	})
}
