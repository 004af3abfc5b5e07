package metric

// ExactMatch is 1 when the answer equals any reference after normalisation
// (SQuAD's for en, NormalizeZH for zh).
func ExactMatch(answer string, refs []string, lang Lang) float64 {
	norm := NormalizeEN
	if lang == LangZH {
		norm = NormalizeZH
	}
	a := norm(answer)
	for _, ref := range refs {
		if a == norm(ref) {
			return 1
		}
	}
	return 0
}

// F1 is the SQuAD token F1, the best over the references. As in the SQuAD
// script, an answer sharing no token with a reference scores 0, even when
// both normalise to nothing.
func F1(answer string, refs []string, lang Lang) float64 {
	pred := Tokens(answer, lang)
	best := 0.0
	for _, ref := range refs {
		best = max(best, tokenF1(pred, Tokens(ref, lang)))
	}
	return best
}

func tokenF1(pred, gold []string) float64 {
	counts := make(map[string]int, len(gold))
	for _, t := range gold {
		counts[t]++
	}
	common := 0
	for _, t := range pred {
		if counts[t] > 0 {
			counts[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	p := float64(common) / float64(len(pred))
	r := float64(common) / float64(len(gold))
	return 2 * p * r / (p + r)
}
