package eval

import (
	"strings"
	"testing"
)

func TestCheckSourceName(t *testing.T) {
	for _, tc := range []struct {
		name, want string // want: "" when the name is fine, else part of the error
	}{
		{"support-chat", ""},
		{"chat_v2", ""},
		{"app-2026-11", ""},
		{"shop-123456", ""},
		{"a", ""},
		{"1-2-3", ""},
		{"10-1-2", ""},
		{"1-1-256-3", ""},
		{"13812345678", "11 digits"},
		{"138-1234-5678", "11 digits"},
		{"415_555_0132", "10 digits"},
		{"4111-1111-1111-1111", "16 digits"},
		{"card4111111111111111", "16 digits"},
		{"id-11010519491231002X", "17 digits"},
		{"chat-1234567", "7 digits"},
		{"10-1-2-3", "IP address"},
		{"host_192_168_1_20", "9 digits"},
		{"h-8-8-8-8", "IP address"},
		{"bob@example.com", "not a valid name"},
		{"a.b", "not a valid name"},
		{"", "not a valid name"},
		{strings.Repeat("x", 65), "not a valid name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSourceName(tc.name)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckSourceName(%q) = %v, want nil", tc.name, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckSourceName(%q) = %v, want an error with %q", tc.name, err, tc.want)
			}
		})
	}
}

// FuzzCheckSourceName checks that a refused name never panics, an accepted
// one is a valid name, and no accepted name has 7 digits in a row.
func FuzzCheckSourceName(f *testing.F) {
	for _, s := range []string{"support-chat", "138-1234-5678", "10-1-2-3", "a_1_2_3_4_5_6_7", "9-", "-9", "1__2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckSourceName(s) != nil {
			return
		}
		if !ValidName(s) {
			t.Fatalf("%q accepted but not a valid name", s)
		}
		run := 0
		for i := range len(s) {
			if isSourceDigit(s[i]) {
				run++
			} else {
				run = 0
			}
			if run > maxSourceDigits {
				t.Fatalf("%q accepted with %d digits in a row", s, run)
			}
		}
	})
}
