package llm

import (
	"errors"
	"math"
	"testing"
)

// FuzzParseEmbeddings: whatever an endpoint answers, the parser never
// panics, and what it accepts is exactly what was asked: one entry per
// input, each of at least one vector, every vector of one length, of
// finite numbers and of length 1. What it refuses is ErrBadEmbeddings or
// ErrMalformed, which decide whether the call is retried.
func FuzzParseEmbeddings(f *testing.F) {
	for _, s := range []struct {
		body   string
		n      int
		tokens bool
	}{
		{`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2,0.3]}],"model":"m","usage":{"prompt_tokens":3,"total_tokens":3}}`, 1, false},
		{`{"data":[{"index":1,"embedding":[1,2]},{"index":0,"embedding":[3,4]}]}`, 2, false},
		{`{"data":[{"index":0,"embedding":"AABAQAAAgEA="}]}`, 1, false},
		{`{"data":[{"index":0,"data":[[1,2],[3,4]]}]}`, 1, true},
		{`{"data":[{"index":0,"embedding":[0,0]}]}`, 1, false},
		{`{"error":{"message":"no"}}`, 1, false},
		{`{"data":[{"index":0,"embedding":"AADAfwAAgD8="}]}`, 1, false},
		{`{"data":[{"index":0,"embedding":[1e39]}]}`, 1, false},
	} {
		f.Add([]byte(s.body), s.n, s.tokens)
	}
	f.Fuzz(func(t *testing.T, body []byte, n int, tokens bool) {
		if n < 0 || n > 64 {
			return
		}
		got, err := parseEmbeddings(body, n, tokens, redactor{})
		if err != nil {
			if !errors.Is(err, ErrBadEmbeddings) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is neither ErrBadEmbeddings nor ErrMalformed", err)
			}
			return
		}
		if len(got) != n {
			t.Fatalf("%d entries for %d inputs", len(got), n)
		}
		dims := -1
		for i, vs := range got {
			if len(vs) == 0 || (!tokens && len(vs) != 1) {
				t.Fatalf("input %d has %d vectors", i, len(vs))
			}
			for _, v := range vs {
				if dims < 0 {
					dims = len(v)
				}
				if len(v) != dims || dims == 0 {
					t.Fatalf("input %d: a vector of %d numbers, another of %d", i, len(v), dims)
				}
				var sum float64
				for _, x := range v {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						t.Fatalf("input %d: %v", i, x)
					}
					sum += float64(x) * float64(x)
				}
				if math.Abs(sum-1) > 1e-3 {
					t.Fatalf("input %d: a vector of squared length %v", i, sum)
				}
			}
		}
	})
}
