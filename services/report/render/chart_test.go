package render

import (
	"bytes"
	"strings"
	"testing"
)

// TestChartWithoutInterval: a win rate with no interval (every pair a win)
// is drawn as a bar with its value and no whisker — not with a whisker of
// width 0, which would read as certainty.
func TestChartWithoutInterval(t *testing.T) {
	r := fixture()
	p := &r.Pairwise[0]
	p.WinRate, p.CI, p.Undefined = ptr(1), nil, "every pair a win: no variance"
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if strings.Contains(html, "1.000 [1.000, 1.000]") {
		t.Error("the chart draws a zero-width interval for a win rate that has none")
	}
	label := p.Judge + ": " + p.Variant
	i := strings.Index(html, ">"+label+"</text>")
	if i < 0 {
		t.Fatalf("no bar labelled %q", label)
	}
	// A bar is its label, its rect, its whisker lines if any, then its value.
	bar := html[i+1:]
	bar = bar[:strings.Index(bar, "<text")]
	if strings.Contains(bar, `class="ci"`) {
		t.Errorf("the bar without an interval has a whisker:\n%s", bar)
	}
}
