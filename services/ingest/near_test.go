package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

func TestNearFilter(t *testing.T) {
	system := strings.Repeat("You are a careful support agent for a bank; follow the policy below to the letter. ", 40)
	one := 1.0
	for _, c := range []struct {
		name  string
		near  *float64
		texts []string
		twins []string // "" for a sample kept
	}{
		{
			name: "default",
			texts: []string{
				"How do I reset the PIN of my debit card from the mobile app?",
				"What is the daily limit for international transfers on a savings account?",
				"How do I reset the PIN of my debit card from the mobile app ?",
				"how do i reset the PIN of my debit card form the mobile app",
				// Another number, another question.
				"43乘以73等于多少？请写出计算过程。",
				"11乘以73等于多少？请写出计算过程。",
				"43乘以73等于多少?请写出计算过程",
			},
			twins: []string{"", "", "s0", "s0", "", "", "s4"},
		},
		{
			name:  "1: only copies equal but for case, width, spacing and punctuation",
			near:  &one,
			texts: []string{"How do I reset the PIN of my debit card from the mobile app?", "how do i reset the PIN of my debit card form the mobile app", "HOW DO I RESET THE PIN OF MY DEBIT CARD FROM THE MOBILE APP"},
			twins: []string{"", "", "s0"},
		},
		{
			name:  "0: off",
			near:  new(float64),
			texts: []string{"How do I reset the PIN?", "How do I reset the PIN ?"},
			twins: []string{"", ""},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newNearFilter(eval.Suite{Name: "s", NearDuplicates: c.near})
			for i, q := range c.texts {
				id := "s" + string(rune('0'+i))
				sm := eval.Sample{ID: id, Source: "suite.jsonl:1", Messages: []eval.Message{{Role: "system", Content: system}, {Role: "user", Content: q}}}
				d, dup, err := f.check(sm)
				if err != nil {
					t.Fatal(err)
				}
				if got := map[bool]string{true: d.Twin}[dup]; got != c.twins[i] {
					t.Errorf("sample %d: twin %q (%+v), want %q", i, got, d, c.twins[i])
				}
				if dup && (d.ID != id || d.Source != sm.Source || !(d.Similarity > 0 && d.Similarity <= 1) || d.Why == "") {
					t.Errorf("sample %d: dropped record %+v", i, d)
				}
			}
		})
	}
}

// TestNearFilterThatCannotReadBackFails: once the index cannot read a
// kept sample back (its spill file closed, with the rest of it), check
// fails (the suite is read again) rather than keeping a copy it could not
// compare.
func TestNearFilterThatCannotReadBackFails(t *testing.T) {
	f := newNearFilter(eval.Suite{Name: "s"})
	defer f.close()
	sample := func(i int) eval.Sample {
		q := fmt.Sprintf("Question %d: how long does a parcel of %d kg take from depot %d to the customer's door?", i, i%97, i%13)
		return eval.Sample{ID: fmt.Sprint("s", i), Messages: []eval.Message{{Role: "user", Content: q}}}
	}
	// Enough texts to fill several of the index's 1 MiB slabs.
	for i := range 40_000 {
		if _, dup, err := f.check(sample(i)); err != nil || dup {
			t.Fatalf("sample %d: dup %v, err %v", i, dup, err)
		}
	}
	f.index.Close() // every spilled text is now unreadable
	if _, _, err := f.check(sample(0)); err == nil {
		t.Error("a copy of a sample that cannot be read back was checked without an error")
	}
}
