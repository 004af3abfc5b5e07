package llm

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// TestParseEmbeddings: an answer is taken only when it is exactly the
// embeddings asked for. The expected vectors are normalised by hand:
// [3, 4] has length 5, so [0.6, 0.8]; [1, 2, 2] has length 3, so
// [1/3, 2/3, 2/3]. The base64 strings are Python's
// base64.b64encode(struct.pack('<2f', 3, 4)) ("AABAQAAAgEA="), and the
// same of (nan, 1) ("AADAfwAAgD8=") and of (inf, 1) ("AACAfwAAgD8=").
func TestParseEmbeddings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		n      int
		tokens bool
		want   [][][]float32
		// err is a piece of the error; bad whether it is ErrBadEmbeddings
		// (not retried) rather than ErrMalformed (retried).
		err string
		bad bool
	}{
		{name: "one", body: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[3,4]}],"model":"e5"}`, n: 1,
			want: [][][]float32{{{0.6, 0.8}}}},
		{name: "in index order", body: `{"data":[{"index":1,"embedding":[1,2,2]},{"index":0,"embedding":[0,-2,0]}]}`, n: 2,
			want: [][][]float32{{{0, -1, 0}}, {{1.0 / 3, 2.0 / 3, 2.0 / 3}}}},
		{name: "base64", body: `{"data":[{"index":0,"embedding":"AABAQAAAgEA="}]}`, n: 1,
			want: [][][]float32{{{0.6, 0.8}}}},
		{name: "token vectors in data", body: `{"data":[{"index":0,"data":[[3,4],[0,7]]}]}`, n: 1, tokens: true,
			want: [][][]float32{{{0.6, 0.8}, {0, 1}}}},
		{name: "token vectors in embedding", body: `{"data":[{"index":0,"embedding":[[4,3]]}]}`, n: 1, tokens: true,
			want: [][][]float32{{{0.8, 0.6}}}},
		{name: "fewer than asked", body: `{"data":[{"index":0,"embedding":[1]}]}`, n: 2, err: "1 embeddings for 2 inputs", bad: true},
		{name: "more than asked", body: `{"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[1]}]}`, n: 1, err: "2 embeddings for 1 inputs", bad: true},
		{name: "index twice", body: `{"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[1]}]}`, n: 2, err: "index 0 is given twice", bad: true},
		{name: "index out of range", body: `{"data":[{"index":0,"embedding":[1]},{"index":2,"embedding":[1]}]}`, n: 2, err: "index 2 is outside 0..1", bad: true},
		{name: "negative index", body: `{"data":[{"index":-1,"embedding":[1]}]}`, n: 1, err: "index -1", bad: true},
		{name: "lengths differ", body: `{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1,2,3]}]}`, n: 2, err: "vector of 3 numbers, another input 2", bad: true},
		{name: "token lengths differ", body: `{"data":[{"index":0,"data":[[1,2],[1]]}]}`, n: 1, tokens: true, err: "vector of 1 numbers", bad: true},
		{name: "all zeros", body: `{"data":[{"index":0,"embedding":[0,0]}]}`, n: 1, err: "no direction", bad: true},
		{name: "NaN in base64", body: `{"data":[{"index":0,"embedding":"AADAfwAAgD8="}]}`, n: 1, err: "is NaN", bad: true},
		{name: "Inf in base64", body: `{"data":[{"index":0,"embedding":"AACAfwAAgD8="}]}`, n: 1, err: "is +Inf", bad: true},
		{name: "base64 not float32s", body: `{"data":[{"index":0,"embedding":"AQID"}]}`, n: 1, err: "whole number of float32s", bad: true},
		{name: "beyond float32", body: `{"data":[{"index":0,"embedding":[1e39]}]}`, n: 1, err: "not an array of numbers", bad: true},
		{name: "empty vector", body: `{"data":[{"index":0,"embedding":[]}]}`, n: 1, err: "a vector of 0 numbers", bad: true},
		{name: "no vector", body: `{"data":[{"index":0}]}`, n: 1, err: "no vector", bad: true},
		{name: "strings", body: `{"data":[{"index":0,"embedding":["1"]}]}`, n: 1, err: "not an array of numbers", bad: true},
		{name: "sentence vector where tokens were asked", body: `{"data":[{"index":0,"data":[1,2]}]}`, n: 1, tokens: true, err: "token 0", bad: true},
		{name: "no token vectors", body: `{"data":[{"index":0,"data":[]}]}`, n: 1, tokens: true, err: "0 token vectors", bad: true},
		{name: "error object", body: `{"error":{"message":"model is loading"}}`, n: 1, err: "an error object with status 200: model is loading", bad: true},
		{name: "no data", body: `{"object":"list"}`, n: 1, err: "0 embeddings for 1 inputs", bad: true},
		{name: "not an object", body: `[1,2]`, n: 1, bad: true},
		{name: "cut off", body: `{"data":[{"index":0,"embedding":[1,2`, n: 1, err: "cut off"},
		{name: "HTML", body: `<html>bad gateway</html>`, n: 1, err: "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseEmbeddings([]byte(tc.body), tc.n, tc.tokens, redactor{})
			if tc.want == nil {
				switch {
				case err == nil:
					t.Fatalf("parsed %v, want an error", got)
				case !strings.Contains(err.Error(), tc.err):
					t.Errorf("error %q, want it to say %q", err, tc.err)
				case tc.bad != errors.Is(err, ErrBadEmbeddings):
					t.Errorf("error %q: ErrBadEmbeddings %v, want %v", err, !tc.bad, tc.bad)
				case !tc.bad && !errors.Is(err, ErrMalformed):
					t.Errorf("error %q is not ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !vectorsNear(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBadEmbeddingsAreNotRetriedAndSaySo: ErrBadEmbeddings is an
// ErrBadResponse (the retry policy gives up at once) with a cause of its
// own, not a chat completion's.
func TestBadEmbeddingsAreNotRetriedAndSaySo(t *testing.T) {
	_, err := parseEmbeddings([]byte(`{"data":[]}`), 1, false, redactor{})
	if !errors.Is(err, ErrBadResponse) {
		t.Errorf("%v is not an ErrBadResponse", err)
	}
	if _, again := DefaultRetry.wait(1, err); again {
		t.Error("a bad embeddings answer would be retried")
	}
	if got := Cause(&CallError{Endpoint: "http://x/v1/embeddings", Attempts: 1, Err: err}); got != "not an embeddings response" {
		t.Errorf("cause %q", got)
	}
}

// vectorsNear compares vectors to float32 rounding.
func vectorsNear(a, b [][][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if len(a[i][j]) != len(b[i][j]) {
				return false
			}
			for k := range a[i][j] {
				if math.Abs(float64(a[i][j][k]-b[i][j][k])) > 1e-6 {
					return false
				}
			}
		}
	}
	return true
}
