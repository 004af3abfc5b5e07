package ingest

import (
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

func TestNearFilterIgnoresSharedSystemPrompts(t *testing.T) {
	system := strings.Repeat("You are a careful support agent for a bank; follow the policy below to the letter. ", 40)
	f := newNearFilter(eval.Suite{Name: "s"})
	for i, q := range []string{
		"How do I reset the PIN of my debit card from the mobile app?",
		"What is the daily limit for international transfers on a savings account?",
		"Can I open a joint account with my brother if he lives abroad?",
		"How do I reset the PIN of my debit card from the mobile app ?",
	} {
		sm := eval.Sample{ID: string(rune('a' + i)), Messages: []eval.Message{{Role: "system", Content: system}, {Role: "user", Content: q}}}
		d, dup := f.check(sm)
		if want := i == 3; dup != want {
			t.Errorf("question %d: duplicate %v (%+v), want %v", i, dup, d, want)
		}
		if dup && d.Twin != "a" {
			t.Errorf("twin %q", d.Twin)
		}
	}
	if off := newNearFilter(eval.Suite{Name: "s", NearDuplicates: new(float64)}); off.index != nil {
		t.Error("near_duplicates: 0 does not turn the check off")
	}
}
