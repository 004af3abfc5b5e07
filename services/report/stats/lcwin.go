package stats

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// LengthControlled is the candidate's win rate against the baseline with
// the judge's preference for longer answers taken out (see
// [LengthControlledWinRate]).
type LengthControlled struct {
	N    int        // judged pairs
	Rate float64    // predicted preference at equal lengths
	CI   [2]float64 // its 95% interval
	// Slope is b1, the change in the judge's log odds of preferring the
	// candidate per unit of x = tanh(lenDiff / sd(lenDiff)); positive when
	// the judge prefers the longer answer.
	Slope float64
	// Undefined says why there is no rate; empty when there is one.
	Undefined string
}

// LengthControlledWinRate is the length-controlled win rate of AlpacaEval 2
// (Dubois, Galambosi, Liang & Hashimoto 2024, "Length-Controlled AlpacaEval:
// A Simple Way to Debias Automatic Evaluators"), for one candidate against
// one baseline: a binomial GLM with logit link of the judge's preference
// y[i] (1 win, 0.5 tie, 0 loss for the candidate) on
// x[i] = tanh(lenDiff[i] / sd(lenDiff)), where lenDiff[i] is the candidate's
// answer length minus the baseline's and sd the sample standard deviation.
// The rate is the model's prediction at equal lengths, sigmoid(b0), and its
// interval sigmoid(b0 ± 1.96·se(b0)) from the model's standard error. When
// every length difference is the same (sd = 0) the model is the intercept
// alone and the rate the plain win rate.
//
// The rate is undefined when there are fewer than 2 pairs, a preference is
// outside [0, 1], every verdict is a win or every one a loss (the estimate
// sits at the bound, where the model has no finite solution), or the fit
// does not converge (the length difference alone separates wins from
// losses). Ties alone are not a separation: all ties give 0.5.
func LengthControlledWinRate(y, lenDiff []float64) LengthControlled {
	n := len(y)
	r := LengthControlled{N: n}
	switch {
	case len(lenDiff) != n:
		r.Undefined = "the preferences and the length differences are not paired: their counts differ"
		return r
	case n < 2:
		r.Undefined = "fewer than 2 judged pairs"
		return r
	}
	wins, losses := 0, 0
	for i := range y {
		if !(y[i] >= 0 && y[i] <= 1) || math.IsNaN(lenDiff[i]) || math.IsInf(lenDiff[i], 0) {
			r.Undefined = "a preference outside [0, 1] or a length difference that is not a number"
			return r
		}
		switch y[i] {
		case 1:
			wins++
		case 0:
			losses++
		}
	}
	switch n {
	case wins:
		r.Undefined = "every verdict is a win: the rate is 1 and the model has no finite fit"
		return r
	case losses:
		r.Undefined = "every verdict is a loss: the rate is 0 and the model has no finite fit"
		return r
	}
	_, sd := meanSD(lenDiff)
	x := make([][]float64, n)
	for i := range x {
		if sd == 0 {
			x[i] = []float64{1}
		} else {
			x[i] = []float64{1, math.Tanh(lenDiff[i] / sd)}
		}
	}
	beta, cov, ok := lcwinLogitFit(x, y, nil)
	if !ok {
		r.Undefined = "the fit did not converge: the length difference separates the wins from the losses"
		return r
	}
	// Ties have no variance a binomial model would give them (a score of ½
	// is not a coin toss), so the standard error is Pearson-scaled, the
	// quasi-binomial model's (McCullagh & Nelder 1989, §4.5; statsmodels'
	// fit(scale="X2")): with scale 1 the interval was as wide as Wilson's
	// on (W + T/2)/n, which ignores the same thing.
	scale, df := 0.0, n-len(beta)
	for i := range x {
		var e float64
		for j, v := range x[i] {
			e += v * beta[j]
		}
		mu := lcwinSigmoid(e)
		scale += (y[i] - mu) * (y[i] - mu) / (mu * (1 - mu))
	}
	if df < 1 || !(scale > 0) {
		r.Undefined = "no spread of the verdicts around the fit (every pair a tie): no interval"
		return r
	}
	scale /= float64(df)
	b0, se := beta[0], math.Sqrt(cov.At(0, 0)*scale)
	r.Rate = lcwinSigmoid(b0)
	r.CI = [2]float64{lcwinSigmoid(b0 - z95*se), lcwinSigmoid(b0 + z95*se)}
	if len(beta) > 1 {
		r.Slope = beta[1]
	}
	return r
}

// lcwinLogitFit fits a binomial GLM with logit link, P(y = 1) =
// sigmoid(x·beta), to fractional responses y in [0, 1] with case weights
// w (nil: all 1), by Newton–Raphson (for the canonical link the same steps
// as IRLS; McCullagh & Nelder 1989, "Generalized Linear Models", §4.4),
// halving a step that lowers the likelihood. cov is the inverse Fisher
// information at beta, statsmodels' cov_params() for the Binomial family
// (scale 1). ok is false when the information is singular or the fit does
// not converge in 100 steps, as under separation, where beta runs off to
// infinity. Zeros in x are skipped, so sparse designs (Bradley–Terry's)
// cost per row only their non-zero entries.
func lcwinLogitFit(x [][]float64, y, w []float64) (beta []float64, cov *mat.SymDense, ok bool) {
	if len(x) == 0 {
		return nil, nil, false
	}
	p := len(x[0])
	nz := make([][]int, len(x))
	for i, row := range x {
		for j, v := range row {
			if v != 0 {
				nz[i] = append(nz[i], j)
			}
		}
	}
	weight := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	eta := func(b []float64, i int) float64 {
		var e float64
		for _, j := range nz[i] {
			e += x[i][j] * b[j]
		}
		return e
	}
	loglik := func(b []float64) float64 {
		var l float64
		for i := range x {
			e := eta(b, i)
			l -= weight(i) * (y[i]*lcwinSoftplus(-e) + (1-y[i])*lcwinSoftplus(e))
		}
		return l
	}
	// info fills the Fisher information X'WX at b, and grad the score
	// X'(y − mu).
	info := mat.NewSymDense(p, nil)
	grad := mat.NewVecDense(p, nil)
	fill := func(b []float64) {
		info.Zero()
		grad.Zero()
		for i := range x {
			mu := lcwinSigmoid(eta(b, i))
			wt := weight(i)
			v := wt * mu * (1 - mu)
			r := wt * (y[i] - mu)
			for a, j := range nz[i] {
				grad.SetVec(j, grad.AtVec(j)+r*x[i][j])
				for _, k := range nz[i][a:] {
					info.SetSym(j, k, info.At(j, k)+v*x[i][j]*x[i][k])
				}
			}
		}
	}
	beta = make([]float64, p)
	ll := loglik(beta)
	var chol mat.Cholesky
	step := mat.NewVecDense(p, nil)
	next := make([]float64, p)
	converged := false
	for range 100 {
		fill(beta)
		if !chol.Factorize(info) {
			return nil, nil, false
		}
		if err := chol.SolveVecTo(step, grad); err != nil {
			return nil, nil, false
		}
		t, nll := 1.0, 0.0
		for range 30 {
			for j := range next {
				next[j] = beta[j] + t*step.AtVec(j)
			}
			if nll = loglik(next); nll >= ll-1e-12*math.Abs(ll) {
				break
			}
			t /= 2
		}
		var size, scale float64
		for j := range beta {
			size = math.Max(size, math.Abs(next[j]-beta[j]))
			scale = math.Max(scale, math.Abs(next[j]))
		}
		copy(beta, next)
		ll = nll
		if math.IsNaN(size) || math.IsInf(scale, 0) {
			return nil, nil, false
		}
		if size <= 1e-10*(1+scale) {
			converged = true
			break
		}
	}
	if !converged {
		return nil, nil, false
	}
	fill(beta)
	if !chol.Factorize(info) {
		return nil, nil, false
	}
	cov = mat.NewSymDense(p, nil)
	if err := chol.InverseTo(cov); err != nil {
		return nil, nil, false
	}
	return beta, cov, true
}

func lcwinSigmoid(e float64) float64 {
	if e >= 0 {
		return 1 / (1 + math.Exp(-e))
	}
	z := math.Exp(e)
	return z / (1 + z)
}

// lcwinSoftplus is log(1 + e^x) without overflow.
func lcwinSoftplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
