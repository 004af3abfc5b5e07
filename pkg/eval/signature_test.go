package eval

import "testing"

func TestSignatures(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		// The first two as sacreBLEU 2.6.0 prints them for corpus_bleu
		// and corpus_chrf over segments with 1 to 3 references.
		{BLEUSignature(-1, "13a", false), "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"},
		{CHRFSignature(-1), "nrefs:var|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"},
		{BLEUSignature(1, "zh", true), "nrefs:1|case:mixed|eff:yes|tok:zh|smooth:exp|version:2.6.0"},
		{MetricSignature(Suite{Lang: "zh"}, "bleu"), "case:mixed|eff:yes|tok:zh|smooth:exp|version:2.6.0"},
		{MetricSignature(Suite{}, "bleu"), "case:mixed|eff:yes|tok:13a+zh|smooth:exp|version:2.6.0"},
		{MetricSignature(Suite{}, "chrf"), "case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"},
		{MetricSignature(Suite{}, "rougeL"), ""},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
