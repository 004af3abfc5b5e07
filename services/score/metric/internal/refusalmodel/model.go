package refusalmodel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Model is a linear model over hashed features: an answer's logit is the
// bias plus, in each namespace, the sum of its features' weights divided
// by the square root of their number (so that a long answer's features
// count no more than a short one's).
type Model struct {
	bits   uint8
	mask   uint32
	bias   float32
	weight []float32
}

// Logit is the model's log-odds that text (an answer, trimmed) is a
// refusal: minus infinity if text has nothing to read. It reads the first
// Window bytes and allocates nothing.
func (m *Model) Logit(text string) float64 {
	var sum [namespaces]float32
	var count [namespaces]int
	features(text, func(h uint32, ns int) {
		sum[ns] += m.weight[h&m.mask]
		count[ns]++
	})
	if count == [namespaces]int{} {
		return math.Inf(-1) // nothing to read: no refusal
	}
	z := float64(m.bias)
	for ns := range namespaces {
		if count[ns] > 0 {
			z += float64(sum[ns]) / math.Sqrt(float64(count[ns]))
		}
	}
	return z
}

// Probability is the model's probability that text is a refusal.
func (m *Model) Probability(text string) float64 { return sigmoid(m.Logit(text)) }

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// The weights file: magic, hash bits, the quantisation scale and the bias
// (float32, little-endian), then one int16 weight per bucket. Sixteen bits
// a weight keep the model's decisions on the labelled sets unchanged and
// the file at 2^bits × 2 bytes.
var magic = [4]byte{'R', 'F', 'M', '1'}

const headerSize = 4 + 1 + 4 + 4

// MarshalBinary encodes the model as a weights file. The same model gives
// the same bytes.
func (m *Model) MarshalBinary() ([]byte, error) {
	var maxAbs float32
	for _, w := range m.weight {
		maxAbs = max(maxAbs, float32(math.Abs(float64(w))))
	}
	scale := maxAbs / math.MaxInt16
	if scale == 0 {
		scale = 1
	}
	b := make([]byte, headerSize+2*len(m.weight))
	copy(b, magic[:])
	b[4] = m.bits
	binary.LittleEndian.PutUint32(b[5:], math.Float32bits(scale))
	binary.LittleEndian.PutUint32(b[9:], math.Float32bits(m.bias))
	for i, w := range m.weight {
		q := int16(math.Round(float64(w / scale)))
		binary.LittleEndian.PutUint16(b[headerSize+2*i:], uint16(q))
	}
	return b, nil
}

// UnmarshalBinary decodes a weights file written by MarshalBinary.
func (m *Model) UnmarshalBinary(b []byte) error {
	if len(b) < headerSize || [4]byte(b[:4]) != magic {
		return errors.New("refusalmodel: not a weights file")
	}
	bits := b[4]
	if bits < 8 || bits > 24 {
		return fmt.Errorf("refusalmodel: %d hash bits", bits)
	}
	if want := headerSize + 2<<bits; len(b) != want {
		return fmt.Errorf("refusalmodel: weights file of %d bytes, want %d", len(b), want)
	}
	scale := math.Float32frombits(binary.LittleEndian.Uint32(b[5:]))
	m.bits, m.mask = bits, 1<<bits-1
	m.bias = math.Float32frombits(binary.LittleEndian.Uint32(b[9:]))
	m.weight = make([]float32, 1<<bits)
	for i := range m.weight {
		m.weight[i] = float32(int16(binary.LittleEndian.Uint16(b[headerSize+2*i:]))) * scale
	}
	return nil
}

// Quantised returns the model as its weights file decodes: the model the
// detector ships, for measuring.
func (m *Model) Quantised() *Model {
	b, _ := m.MarshalBinary()
	var q Model
	if err := q.UnmarshalBinary(b); err != nil {
		panic(err) // MarshalBinary's output always decodes
	}
	return &q
}
