package refusalmodel

import (
	"bytes"
	"math"
	"testing"
)

func TestExactExp(t *testing.T) {
	for _, x := range []float64{-50, -10, -1, -0.3, 0, 0.3, 1, 10, 50} {
		if got, want := exactExp(x), math.Exp(x); math.Abs(got-want) > 1e-12*want {
			t.Errorf("exactExp(%v) = %v, want %v", x, got, want)
		}
	}
}

func tinyModel() *Model {
	texts := []string{"I can't help with that.", "Here is the answer: 42.", "抱歉，我无法提供。", "答案是四十二。"}
	labels := []bool{true, false, true, false}
	var vs []Vector
	for _, s := range texts {
		vs = append(vs, Vectorise(s, 12))
	}
	return Train(vs, labels, Options{Bits: 12, Epochs: 5, Rate: 0.5, L2: 1e-4, Seed: 1})
}

func TestModelRoundTrip(t *testing.T) {
	m := tinyModel()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q Model
	if err := q.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	again, _ := q.MarshalBinary()
	if !bytes.Equal(b, again) {
		t.Error("a decoded model encodes differently")
	}
	if p, r := q.Probability("I can't help with that."), q.Probability("Here is the answer: 42."); p <= r {
		t.Errorf("the refusal scores %.3f, the answer %.3f", p, r)
	}
	if err := q.UnmarshalBinary(b[:len(b)-1]); err == nil {
		t.Error("a truncated file decodes")
	}
}

func TestLogitEmptyAndAllocs(t *testing.T) {
	m := tinyModel()
	if z := m.Logit("  "); !math.IsInf(z, -1) {
		t.Errorf("Logit of blank text = %v, want -Inf", z)
	}
	text := "I'm sorry, but I can't help with that request. 抱歉，我无法提供这方面的信息。"
	if n := testing.AllocsPerRun(100, func() { m.Logit(text) }); n != 0 {
		t.Errorf("Logit allocates %v times", n)
	}
}
