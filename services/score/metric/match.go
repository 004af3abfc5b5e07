package metric

// ExactMatch is 1 when the answer equals any reference after normalisation.
func ExactMatch(answer string, refs []string) float64 {
	for _, ref := range refs {
		zh := IsCJK(ref)
		if zh && NormalizeZH(answer) == NormalizeZH(ref) {
			return 1
		}
		if !zh && NormalizeEN(answer) == NormalizeEN(ref) {
			return 1
		}
	}
	return 0
}

// F1 is the SQuAD token F1, the best over the references.
func F1(answer string, refs []string) float64 {
	best := 0.0
	for _, ref := range refs {
		zh := IsCJK(ref) || IsCJK(answer)
		best = max(best, tokenF1(Tokens(answer, zh), Tokens(ref, zh)))
	}
	return best
}

func tokenF1(pred, gold []string) float64 {
	if len(pred) == 0 || len(gold) == 0 {
		if len(pred) == len(gold) {
			return 1
		}
		return 0
	}
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

// RougeL is the ROUGE-L F-measure (longest common subsequence of tokens),
// the best over the references. English text is tokenised as lowercase
// runs of [a-z0-9]; Chinese text as characters.
func RougeL(answer string, refs []string) float64 {
	best := 0.0
	for _, ref := range refs {
		zh := IsCJK(ref) || IsCJK(answer)
		a, r := rougeTokens(answer, zh), rougeTokens(ref, zh)
		if len(a) == 0 || len(r) == 0 {
			continue
		}
		l := lcs(a, r)
		if l == 0 {
			continue
		}
		p, rc := float64(l)/float64(len(a)), float64(l)/float64(len(r))
		best = max(best, 2*p*rc/(p+rc))
	}
	return best
}

func rougeTokens(s string, zh bool) []string {
	if zh {
		return tokensZH(s)
	}
	var out []string
	start := -1
	b := []byte(s)
	for i := 0; i <= len(b); i++ {
		c := byte(0)
		if i < len(b) {
			c = b[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
		}
		alnum := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if alnum && start < 0 {
			start = i
		}
		if !alnum && start >= 0 {
			out = append(out, stringsToLower(s[start:i]))
			start = -1
		}
	}
	return out
}

func stringsToLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
