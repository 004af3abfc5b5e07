package codeexec

import "fmt"

// PassAtK is the unbiased estimator of pass@k from n generations of which
// c passed (Chen et al. 2021, "Evaluating Large Language Models Trained on
// Code"): 1 - C(n-c, k)/C(n, k), the chance that at least one of k
// generations drawn without replacement passes. It is computed as
// 1 - prod_{i=n-c+1..n} (1 - k/i), which neither overflows nor loses
// precision for large n. It is 1 when fewer than k generations failed.
func PassAtK(n, c, k int) (float64, error) {
	switch {
	case n < 1:
		return 0, fmt.Errorf("%w: n = %d generations, want at least 1", ErrPassAtK, n)
	case c < 0 || c > n:
		return 0, fmt.Errorf("%w: c = %d correct of n = %d, want 0 ≤ c ≤ n", ErrPassAtK, c, n)
	case k < 1 || k > n:
		return 0, fmt.Errorf("%w: k = %d of n = %d, want 1 ≤ k ≤ n", ErrPassAtK, k, n)
	case n-c < k:
		return 1, nil
	}
	p := 1.0
	for i := n - c + 1; i <= n; i++ {
		p *= 1 - float64(k)/float64(i)
	}
	return 1 - p, nil
}
