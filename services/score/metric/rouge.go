package metric

import (
	"math/bits"
	"strings"
)

// ROUGE as Google's rouge-score computes it (the package most papers and
// Hugging Face's evaluate report): F-measures of n-gram overlap (ROUGE-N),
// of the longest common subsequence (ROUGE-L), and of the union LCS over
// newline-separated sentences (ROUGE-Lsum), the best over the references.

// RougeOptions choose the tokenisation.
type RougeOptions struct {
	// Lang zh counts every Han character as a token.
	Lang Lang
	// Stem applies the Porter stemmer to tokens longer than three
	// characters (rouge-score's use_stemmer=True).
	Stem bool
}

// RougeScores are ROUGE F-measures on a 0–1 scale.
type RougeScores struct {
	Rouge1, Rouge2, RougeL, RougeLsum float64
}

// Rouge scores a prediction against its references, each kind the best over
// the references as rouge-score's score_multi picks it.
func Rouge(pred string, refs []string, opt RougeOptions) RougeScores {
	p := rougeTokens(pred, opt.Lang, opt.Stem)
	ps := rougeSentences(pred, opt)
	var best RougeScores
	for _, ref := range refs {
		r := rougeTokens(ref, opt.Lang, opt.Stem)
		best.Rouge1 = max(best.Rouge1, rougeN(r, p, 1))
		best.Rouge2 = max(best.Rouge2, rougeN(r, p, 2))
		best.RougeL = max(best.RougeL, rougeLCS(r, p))
		best.RougeLsum = max(best.RougeLsum, rougeLsum(rougeSentences(ref, opt), ps))
	}
	return best
}

// RougeL is the ROUGE-L F-measure alone, the best over the references;
// it numbers the tokens and needs only two rows of the LCS table.
func RougeL(pred string, refs []string, opt RougeOptions) float64 {
	sc := getScratch()
	defer putScratch(sc)
	sc.resetIDs()
	p := sc.wordIDs(sc.rougeTokenized(pred, opt.Lang, opt.Stem), sc.ids[:0])
	sc.ids = p
	best := 0.0
	for _, ref := range refs {
		r := sc.wordIDs(sc.rougeTokenized(ref, opt.Lang, opt.Stem), sc.refIDs[:0])
		sc.refIDs = r
		if len(r) == 0 || len(p) == 0 {
			continue
		}
		l := sc.lcsLength(r, p)
		best = max(best, fmeasure(float64(l)/float64(len(p)), float64(l)/float64(len(r))))
	}
	return best
}

// lcsLength is the length of the longest common subsequence of a and b.
func (sc *scratch) lcsLength(a, b []uint32) int {
	if cap(sc.rows) < 2*(len(b)+1) {
		sc.rows = make([]int32, 2*(len(b)+1))
	}
	prev, cur := sc.rows[:len(b)+1], sc.rows[len(b)+1:2*(len(b)+1)]
	clear(prev)
	cur[0] = 0
	for _, ai := range a {
		for j, bj := range b {
			if ai == bj {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return int(prev[len(b)])
}

func fmeasure(p, r float64) float64 {
	if p+r > 0 {
		return 2 * p * r / (p + r)
	}
	return 0
}

func rougeN(ref, pred []string, n int) float64 {
	rc := stringNgrams(ref, n)
	pc := stringNgrams(pred, n)
	inter, refTotal, predTotal := 0, 0, 0
	for g, c := range rc {
		inter += min(c, pc[g])
		refTotal += c
	}
	for _, c := range pc {
		predTotal += c
	}
	return fmeasure(float64(inter)/float64(max(predTotal, 1)), float64(inter)/float64(max(refTotal, 1)))
}

// stringNgrams counts token n-grams; the key joins tokens with a byte no
// token contains.
func stringNgrams(tokens []string, n int) map[string]int {
	m := make(map[string]int, max(len(tokens)-n+1, 0))
	if n == 1 {
		for _, t := range tokens {
			m[t]++
		}
		return m
	}
	for i := 0; i+n <= len(tokens); i++ {
		m[strings.Join(tokens[i:i+n], "\x00")]++
	}
	return m
}

func rougeLCS(ref, pred []string) float64 {
	if len(ref) == 0 || len(pred) == 0 {
		return 0
	}
	l := lcsLength(ref, pred)
	return fmeasure(float64(l)/float64(len(pred)), float64(l)/float64(len(ref)))
}

// lcsLength is the length of the longest common subsequence, in O(len(b))
// memory.
func lcsLength(a, b []string) int {
	prev := make([]int32, len(b)+1)
	cur := make([]int32, len(b)+1)
	for i := 1; i <= len(a); i++ {
		ai := a[i-1]
		for j := 1; j <= len(b); j++ {
			if ai == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return int(prev[len(b)])
}

// rougeSentences splits on newlines, drops empty lines and tokenises each
// sentence, as rouge-score does for rougeLsum.
func rougeSentences(s string, opt RougeOptions) [][]string {
	var out [][]string
	for line := range strings.SplitSeq(s, "\n") {
		if line != "" {
			out = append(out, rougeTokens(line, opt.Lang, opt.Stem))
		}
	}
	return out
}

// rougeLsum is rouge-score's _summary_level_lcs: for each reference
// sentence, the union of its LCS with every predicted sentence, each token
// counted at most as often as it occurs on both sides.
func rougeLsum(ref, pred [][]string) float64 {
	if len(ref) == 0 || len(pred) == 0 {
		return 0
	}
	m, n := 0, 0
	refCounts, predCounts := map[string]int{}, map[string]int{}
	for _, s := range ref {
		m += len(s)
		for _, t := range s {
			refCounts[t]++
		}
	}
	for _, s := range pred {
		n += len(s)
		for _, t := range s {
			predCounts[t]++
		}
	}
	if m == 0 || n == 0 {
		return 0
	}
	hits := 0
	for _, r := range ref {
		union := map[int]bool{}
		for _, c := range pred {
			for _, i := range lcsIndices(r, c) {
				union[i] = true
			}
		}
		// Sorted indices, as rouge-score's _find_union sorts them: the
		// order decides which tokens a limited count admits.
		for i := range r {
			if !union[i] {
				continue
			}
			t := r[i]
			if predCounts[t] > 0 && refCounts[t] > 0 {
				hits++
				predCounts[t]--
				refCounts[t]--
			}
		}
	}
	return fmeasure(float64(hits)/float64(n), float64(hits)/float64(m))
}

// lcsIndices are the indices into ref of one longest common subsequence,
// the one rouge-score's _backtrack_norec reads out of the full table.
func lcsIndices(ref, can []string) []int {
	rows, cols := len(ref), len(can)
	if rows == 0 || cols == 0 {
		return nil
	}
	if rows*cols > lcsTableMax {
		return lcsIndicesBits(ref, can)
	}
	w := cols + 1
	t := make([]int32, (rows+1)*w)
	for i := 1; i <= rows; i++ {
		for j := 1; j <= cols; j++ {
			if ref[i-1] == can[j-1] {
				t[i*w+j] = t[(i-1)*w+j-1] + 1
			} else {
				t[i*w+j] = max(t[(i-1)*w+j], t[i*w+j-1])
			}
		}
	}
	var out []int
	i, j := rows, cols
	for i > 0 && j > 0 {
		switch {
		case ref[i-1] == can[j-1]:
			out = append(out, i-1)
			i--
			j--
		case t[i*w+j-1] > t[(i-1)*w+j]:
			j--
		default:
			i--
		}
	}
	return out // descending; callers use it as a set
}

// lcsTableMax is the most cells of an LCS table kept as integers (16 MB);
// larger tables keep one bit a cell (lcsIndicesBits), so that two long
// single-line texts do not need gigabytes.
const lcsTableMax = 1 << 22

// lcsIndicesBits is lcsIndices with the table kept as bits: in an LCS
// table, each cell exceeds its left neighbour by 0 or 1, so row i is the
// bits t[i][j] - t[i][j-1], and t[i][j] is the number of bits set up to j.
// The read-out is the same walk, so the same subsequence comes out.
func lcsIndicesBits(ref, can []string) []int {
	rows, cols := len(ref), len(can)
	words := cols/64 + 1
	bitsOf := make([]uint64, (rows+1)*words)
	prev, cur := make([]int32, cols+1), make([]int32, cols+1)
	for i := 1; i <= rows; i++ {
		row := bitsOf[i*words : (i+1)*words]
		for j := 1; j <= cols; j++ {
			if ref[i-1] == can[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
			if cur[j] > cur[j-1] {
				row[j/64] |= 1 << (j % 64)
			}
		}
		prev, cur = cur, prev
	}
	// t is the table's cell: the bits of row i set in 1..j.
	t := func(i, j int) int {
		row := bitsOf[i*words : (i+1)*words]
		n := 0
		for w := 0; w < j/64; w++ {
			n += bits.OnesCount64(row[w])
		}
		return n + bits.OnesCount64(row[j/64]&(1<<(j%64+1)-1))
	}
	var out []int
	i, j := rows, cols
	for i > 0 && j > 0 {
		switch {
		case ref[i-1] == can[j-1]:
			out = append(out, i-1)
			i--
			j--
		case t(i, j-1) > t(i-1, j):
			j--
		default:
			i--
		}
	}
	return out
}
