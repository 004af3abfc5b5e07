package document

import "testing"

func TestIsValidityCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{CheckErrorRateMax, true},
		{CheckJudgeErrorRateMax, true},
		{CheckMalformedRateMax, true},
		{"win_rate_min", false},
		{"refusal_rate_delta_max", false},
		{"json_valid_min", false},
		{"qa/em delta_min", false},
		{"complete", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsValidityCheck(tc.name); got != tc.want {
				t.Errorf("IsValidityCheck(%q) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}
