package eval

import "fmt"

// SacreBLEUVersion is the sacreBLEU release whose BLEU and chrF assay
// reproduces (golden-tested in services/score/metric/testdata/reference);
// signatures carry it.
const SacreBLEUVersion = "2.6.0"

// BLEUSignature is sacreBLEU's signature for BLEU computed as assay
// computes it: tok is 13a or zh, effectiveOrder is true for sentence BLEU.
// nrefs is the number of references per segment, -1 when it varies ("var")
// and 0 when it is not known (left out, as sacreBLEU leaves out what it has
// no value for).
func BLEUSignature(nrefs int, tok string, effectiveOrder bool) string {
	return fmt.Sprintf("%scase:mixed|eff:%s|tok:%s|smooth:exp|version:%s",
		nrefsField(nrefs), yesNo(effectiveOrder), tok, SacreBLEUVersion)
}

// CHRFSignature is sacreBLEU's signature for chrF2 computed as assay
// computes it.
func CHRFSignature(nrefs int) string {
	return fmt.Sprintf("%scase:mixed|eff:yes|nc:6|nw:0|space:no|version:%s", nrefsField(nrefs), SacreBLEUVersion)
}

// MetricSignature is the signature of a suite's metric, or "" for a metric
// that has none. Report means are of sentence scores (eff:yes for BLEU);
// without a lang the tokenizer is chosen per sample (tok:13a+zh).
func MetricSignature(su Suite, metric string) string {
	switch metric {
	case "bleu":
		tok := map[string]string{"en": "13a", "zh": "zh", "": "13a+zh"}[su.Lang]
		return BLEUSignature(0, tok, true)
	case "chrf":
		return CHRFSignature(0)
	}
	return ""
}

func nrefsField(n int) string {
	switch {
	case n < 0:
		return "nrefs:var|"
	case n == 0:
		return ""
	}
	return fmt.Sprintf("nrefs:%d|", n)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
