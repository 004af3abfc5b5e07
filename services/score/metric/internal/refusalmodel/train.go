package refusalmodel

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
)

// Example is one line of the labelled sets (metric/testdata/refusal_*.jsonl).
type Example struct {
	ID      string `json:"id"`
	Lang    string `json:"lang"`
	Kind    string `json:"kind"`
	Refusal bool   `json:"refusal"`
	Text    string `json:"text"`
}

// ReadSet reads a labelled set.
func ReadSet(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var e Example
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Options are the training's settings.
type Options struct {
	Bits   uint8   // log2 of the number of hash buckets
	Epochs int     // passes of stochastic gradient descent
	Rate   float64 // the first pass's learning rate; it decays as 1/(1+epoch)
	L2     float64 // L2 penalty, per update, on the weights an answer touches
	Seed   uint64  // the order answers are visited in each pass
}

// DefaultOptions are the settings the shipped model is trained with,
// chosen by leave-one-set-out cross-validation (see metric's
// TestRefusalModelCrossValidation).
var DefaultOptions = Options{Bits: 16, Epochs: 30, Rate: 0.5, L2: 1e-4, Seed: 1}

// Vector is an answer's features: bucket indices, sorted, and their values.
type Vector struct {
	Index []uint32
	Value []float64
}

// Vectorise is text's feature vector for a model of bits hash bits, as
// Model.Logit sums it: each feature's value is one over the square root of
// its namespace's feature count.
func Vectorise(text string, bits uint8) Vector {
	mask := uint32(1)<<bits - 1
	type hit struct {
		index uint32
		ns    int
	}
	var hits []hit
	var count [namespaces]int
	features(text, func(h uint32, ns int) {
		hits = append(hits, hit{h & mask, ns})
		count[ns]++
	})
	values := map[uint32]float64{}
	for _, h := range hits {
		values[h.index] += 1 / math.Sqrt(float64(count[h.ns]))
	}
	v := Vector{Index: make([]uint32, 0, len(values))}
	for i := range values {
		v.Index = append(v.Index, i)
	}
	slices.Sort(v.Index)
	v.Value = make([]float64, len(v.Index))
	for k, i := range v.Index {
		v.Value[k] = values[i]
	}
	return v
}

// Train fits a logistic regression to vectors (from Vectorise with
// opt.Bits) and their labels by stochastic gradient descent. It is
// deterministic: the same input gives the same model, bit for bit, on
// every platform (the explicit float64 conversions stop a compiler from
// fusing a multiply and an add where it may, and exactExp stands in for
// math.Exp, which is assembly on some platforms).
func Train(vectors []Vector, labels []bool, opt Options) *Model {
	w := make([]float64, 1<<opt.Bits)
	var bias float64
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	order := make([]int, len(vectors))
	for i := range order {
		order[i] = i
	}
	for epoch := range opt.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		rate := opt.Rate / float64(1+epoch)
		for _, i := range order {
			v := vectors[i]
			z := bias
			for k, j := range v.Index {
				z += float64(w[j] * v.Value[k])
			}
			y := 0.0
			if labels[i] {
				y = 1
			}
			g := float64(1/(1+exactExp(-z))) - y
			for k, j := range v.Index {
				grad := float64(g*v.Value[k]) + float64(opt.L2*w[j])
				w[j] -= float64(rate * grad)
			}
			bias -= float64(rate * g)
		}
	}
	m := &Model{bits: opt.Bits, mask: 1<<opt.Bits - 1, bias: float32(bias), weight: make([]float32, len(w))}
	for i, x := range w {
		m.weight[i] = float32(x)
	}
	return m
}

// exactExp is e^x from float64 operations alone, each rounded as written:
// 2^k times a Taylor series in the remainder, |r| ≤ ln2/2, whose
// thirteenth term is below float64's precision.
func exactExp(x float64) float64 {
	switch {
	case x > 709:
		return math.Inf(1)
	case x < -745:
		return 0
	}
	k := math.Floor(float64(x*math.Log2E) + 0.5)
	r := x - float64(k*math.Ln2)
	sum, term := 1.0, 1.0
	for i := 1; i <= 13; i++ {
		term = float64(term*r) / float64(i)
		sum += term
	}
	return math.Ldexp(sum, int(k))
}
