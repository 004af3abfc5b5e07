package llm

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// EmbeddingsRequest is the body of POST /embeddings (OpenAI's, which vLLM,
// Ollama and llama.cpp serve), or, with Task "token_embed", of vLLM's
// POST /pooling, which answers one vector per token of each input.
type EmbeddingsRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
	// EncodingFormat is "float" (numbers) or "base64" (little-endian
	// float32s).
	EncodingFormat string `json:"encoding_format"`
	// Dimensions asks a model that can shorten its vectors for that many.
	Dimensions int    `json:"dimensions,omitempty"`
	Task       string `json:"task,omitempty"`
}

// TaskTokenEmbed is the [EmbeddingsRequest] task of vLLM's pooling API
// that returns one vector per token.
const TaskTokenEmbed = "token_embed"

// EmbeddingsResponse is the answer to an [EmbeddingsRequest].
type EmbeddingsResponse struct {
	Object string          `json:"object"`
	Model  string          `json:"model"`
	Data   []EmbeddingData `json:"data"`
	Usage  *WireUsage      `json:"usage,omitempty"`
}

// EmbeddingData is one input's embedding.
type EmbeddingData struct {
	Object string `json:"object,omitempty"`
	Index  int    `json:"index"`
	// Embedding is /embeddings' vector: an array of numbers, or a
	// base64 string of little-endian float32s.
	Embedding json.RawMessage `json:"embedding,omitempty"`
	// Data is /pooling's answer: with task token_embed, an array of
	// vectors, one per token.
	Data json.RawMessage `json:"data,omitempty"`
}

// Bounds on an embeddings answer, which is untrusted: maxEmbedBody on its
// size, maxEmbedDims on a vector's length, maxTokenVectors on one text's
// token vectors.
const (
	maxEmbedBody    = 64 << 20
	maxEmbedDims    = 1 << 16
	maxTokenVectors = 1 << 15
)

// readEmbeddings reads the answer to a request of n inputs, refusing one
// larger than maxEmbedBody (asking again would get the same: the batch
// must shrink).
func readEmbeddings(body io.Reader, n int, tokens bool, red redactor) ([][][]float32, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxEmbedBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if len(b) > maxEmbedBody {
		return nil, fmt.Errorf("%w: the answer is larger than %d MiB: lower the batch size", ErrBadEmbeddings, maxEmbedBody>>20)
	}
	return parseEmbeddings(b, n, tokens, red)
}

// parseEmbeddings checks and decodes the answer b to a request of n
// inputs: exactly one embedding for each input (every index from 0 to
// n-1 once), each a vector (tokens: one or more vectors), all of one
// length, of finite numbers, not all zero. Each vector comes back
// L2-normalised, in input order. red replaces keys in an error object's
// message, the only text of the answer an error quotes.
func parseEmbeddings(b []byte, n int, tokens bool, red redactor) ([][][]float32, error) {
	var resp struct {
		EmbeddingsResponse
		Error *WireError `json:"error"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, decodeError("the body", b, err, ErrBadEmbeddings)
	}
	if resp.Data == nil && resp.Error != nil {
		return nil, fmt.Errorf("%w: an error object with status 200: %s", ErrBadEmbeddings, sanitizeReason(red.text(resp.Error.Message)))
	}
	if len(resp.Data) != n {
		return nil, fmt.Errorf("%w: %d embeddings for %d inputs (is the model an embedding model?)", ErrBadEmbeddings, len(resp.Data), n)
	}
	out := make([][][]float32, n)
	dims := 0
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= n {
			return nil, fmt.Errorf("%w: index %d is outside 0..%d", ErrBadEmbeddings, d.Index, n-1)
		}
		if out[d.Index] != nil {
			return nil, fmt.Errorf("%w: index %d is given twice", ErrBadEmbeddings, d.Index)
		}
		vs, err := decodeEmbedding(d, tokens)
		if err != nil {
			return nil, fmt.Errorf("%w: input %d: %w", ErrBadEmbeddings, d.Index, err)
		}
		for _, v := range vs {
			if dims == 0 {
				dims = len(v)
			}
			if len(v) != dims {
				return nil, fmt.Errorf("%w: input %d has a vector of %d numbers, another input %d", ErrBadEmbeddings, d.Index, len(v), dims)
			}
			if err := normalize(v); err != nil {
				return nil, fmt.Errorf("%w: input %d: %w", ErrBadEmbeddings, d.Index, err)
			}
		}
		out[d.Index] = vs
	}
	return out, nil
}

// decodeEmbedding reads one input's vectors: a vector in embedding (an
// array of numbers or base64), or with tokens an array of vectors in
// data (vLLM's pooling answer), or in embedding as a fallback.
func decodeEmbedding(d EmbeddingData, tokens bool) ([][]float32, error) {
	if !tokens {
		v, err := decodeVector(d.Embedding)
		if err != nil {
			return nil, err
		}
		return [][]float32{v}, nil
	}
	raw := d.Data
	if len(raw) == 0 {
		raw = d.Embedding
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil || rows == nil {
		return nil, errors.New("no token vectors (an array of vectors) in data")
	}
	if len(rows) == 0 || len(rows) > maxTokenVectors {
		return nil, fmt.Errorf("%d token vectors: want 1 to %d", len(rows), maxTokenVectors)
	}
	vs := make([][]float32, len(rows))
	for i, r := range rows {
		v, err := decodeVector(r)
		if err != nil {
			return nil, fmt.Errorf("token %d: %w", i, err)
		}
		vs[i] = v
	}
	return vs, nil
}

// decodeVector reads a vector written as an array of numbers or as base64
// of little-endian float32s, and checks its length and numbers.
func decodeVector(raw json.RawMessage) ([]float32, error) {
	raw = bytes.TrimSpace(raw)
	var v []float32
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return nil, errors.New("no vector")
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("the vector is not a string of base64: %v", err)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b)%4 != 0 {
			return nil, errors.New("the vector's base64 is not a whole number of float32s")
		}
		v = make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	default:
		var err error
		if v, err = floats(raw); err != nil {
			return nil, fmt.Errorf("the vector is not an array of numbers: %v", err)
		}
	}
	if len(v) == 0 || len(v) > maxEmbedDims {
		return nil, fmt.Errorf("a vector of %d numbers: want 1 to %d", len(v), maxEmbedDims)
	}
	return v, nil
}

// normalize scales v to length 1 in place. A vector with a number that is
// not finite, or of zero length, has no direction: cosines with it mean
// nothing.
func normalize(v []float32) error {
	var sum float64
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("number %d of the vector is %v", i, x)
		}
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return errors.New("the vector has no direction (all zeros)")
	}
	inv := 1 / math.Sqrt(sum)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return nil
}

// floats reads a JSON array of numbers as float32s. The answer's body was
// decoded whole first, so raw is valid JSON: a value that starts like a
// number is one, which strconv reads; anything else (a string, an object,
// null, an array) is refused, and so is a number beyond float32's range.
// Reading the numbers here, rather than decoding them again with
// encoding/json, halves the time an answer takes to read.
func floats(raw []byte) ([]float32, error) {
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return nil, errors.New("not an array")
	}
	body := raw[1 : len(raw)-1]
	v := make([]float32, 0, bytes.Count(body, []byte{','})+1)
	for len(bytes.TrimSpace(body)) > 0 {
		end := bytes.IndexByte(body, ',')
		if end < 0 {
			end = len(body)
		}
		tok := bytes.TrimSpace(body[:end])
		if len(tok) == 0 || tok[0] != '-' && (tok[0] < '0' || tok[0] > '9') {
			return nil, fmt.Errorf("element %d is not a number", len(v))
		}
		f, err := strconv.ParseFloat(string(tok), 32)
		if err != nil {
			return nil, fmt.Errorf("element %d: %s is out of float32's range", len(v), clipBytes(string(tok), 40))
		}
		v = append(v, float32(f))
		if end == len(body) {
			break
		}
		body = body[end+1:]
	}
	return v, nil
}
