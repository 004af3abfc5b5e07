package llmsim

import (
	"math"
	"strings"
	"testing"
)

func TestParseArmRates(t *testing.T) {
	name, r, err := ParseArmRates("treatment:success=0.45, ticket=0.1,satisfaction=4.5,latency_ms=650")
	if err != nil || name != "treatment" || r != (ArmRates{Success: 0.45, Ticket: 0.1, Satisfaction: 4.5, LatencyMS: 650}) {
		t.Errorf("got %q %+v %v", name, r, err)
	}
	if name, r, err := ParseArmRates("control:"); err != nil || name != "control" || r.Success != 0.3 || r.Ticket != 0.05 {
		t.Errorf("defaults: %q %+v %v", name, r, err)
	}
	for _, bad := range []string{":success=0.3", "a:success=1.5", "a:ticket=-0.1", "a:satisfaction=9", "a:speed=3", "a:success", "a:success=NaN", "a:latency_ms=-1"} {
		if _, _, err := ParseArmRates(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseArmRates(f *testing.F) {
	f.Add("treatment:success=0.45,ticket=0.1")
	f.Add("a:satisfaction=3,latency_ms=1e3")
	f.Fuzz(func(t *testing.T, s string) {
		name, r, err := ParseArmRates(s)
		if err != nil {
			return
		}
		if name == "" || strings.Contains(name, ":") && !strings.HasPrefix(s, name+":") {
			t.Fatalf("name %q from %q", name, s)
		}
		for _, v := range []float64{r.Success, r.Ticket, r.Satisfaction, r.LatencyMS} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%q gave %+v", s, r)
			}
		}
		if r.Success < 0 || r.Success > 1 || r.Ticket < 0 || r.Ticket > 1 || r.Satisfaction < 1 || r.Satisfaction > 5 || r.LatencyMS < 0 {
			t.Fatalf("%q gave %+v out of range", s, r)
		}
	})
}
