package llmsim

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/assay-eval/assay/pkg/llm"
)

// DefaultEmbedModel is the embedding model the simulator serves when its
// options name none.
const DefaultEmbedModel = "sim-embed"

// maxEmbedRequest bounds an embeddings request's body.
const maxEmbedRequest = 64 << 20

// embedder returns model's embedder for vectors of dims numbers, made
// once.
func (s *Sim) embedder(model string, dims int) *Embedder {
	key := model + "\x00" + strconv.Itoa(dims)
	if e, ok := s.embedders.Load(key); ok {
		return e.(*Embedder)
	}
	e, _ := s.embedders.LoadOrStore(key, NewEmbedder(s.seed, model, dims))
	return e.(*Embedder)
}

// embeddings serves POST /v1/embeddings as OpenAI does: one vector per
// input, as numbers or base64 (encoding_format), of the request's
// dimensions or the simulator's.
func (s *Sim) embeddings(w http.ResponseWriter, r *http.Request) { s.embed(w, r, false) }

// pooling serves POST /pooling as vLLM does for task token_embed: one
// vector per token of each input.
func (s *Sim) pooling(w http.ResponseWriter, r *http.Request) { s.embed(w, r, true) }

func (s *Sim) embed(w http.ResponseWriter, r *http.Request, tokens bool) {
	var req struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		EncodingFormat string          `json:"encoding_format"`
		Dimensions     int             `json:"dimensions"`
		Task           string          `json:"task"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxEmbedRequest)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "request body is not an embeddings request: "+err.Error())
		return
	}
	if !s.embedModels[req.Model] {
		apiError(w, http.StatusNotFound, fmt.Sprintf("model %q does not exist", req.Model))
		return
	}
	c, _ := s.calls.LoadOrStore(req.Model, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
	inputs, err := embedInputs(req.Input)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case tokens && req.Task != llm.TaskTokenEmbed:
		apiError(w, http.StatusBadRequest, fmt.Sprintf("task %q is not supported: use %s", req.Task, llm.TaskTokenEmbed))
		return
	case req.Dimensions < 0 || req.Dimensions > MaxEmbedDims:
		apiError(w, http.StatusBadRequest, fmt.Sprintf("dimensions %d: use 1 to %d", req.Dimensions, MaxEmbedDims))
		return
	case req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64":
		apiError(w, http.StatusBadRequest, fmt.Sprintf("encoding_format %q: use float or base64", req.EncodingFormat))
		return
	}
	dims := req.Dimensions
	if dims == 0 {
		dims = s.embedDims
	}
	e := s.embedder(req.Model, dims)
	b64 := req.EncodingFormat == "base64"
	buf := embedBuffers.Get().(*[]byte)
	defer embedBuffers.Put(buf)
	b := append((*buf)[:0], `{"object":"list","data":[`...)
	promptTokens := 0
	for i, text := range inputs {
		promptTokens += CountTokens(text)
		if i > 0 {
			b = append(b, ',')
		}
		if tokens {
			b = append(b, `{"object":"pooling","index":`...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, `,"data":[`...)
			for k, v := range e.Tokens(text) {
				if k > 0 {
					b = append(b, ',')
				}
				b = appendVector(b, v, b64)
			}
			b = append(b, `]}`...)
			continue
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		b = appendVector(b, e.Vector(text), b64)
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = strconv.AppendQuote(b, req.Model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(promptTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(promptTokens), 10)
	b = append(b, "}}\n"...)
	*buf = b
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// embedBuffers are reused for answers, which are large: 64 vectors of
// 384 numbers are about 250 KB of JSON.
var embedBuffers = sync.Pool{New: func() any { return new([]byte) }}

// embedInputs reads input: a string or an array of strings, none empty,
// as OpenAI accepts it (arrays of token ids are not simulated).
func embedInputs(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		raw, _ = json.Marshal([]string{one})
	}
	var inputs []string
	if err := json.Unmarshal(raw, &inputs); err != nil || len(inputs) == 0 {
		return nil, fmt.Errorf("input must be a string or a non-empty array of strings")
	}
	for i, in := range inputs {
		if strings.TrimSpace(in) == "" {
			return nil, fmt.Errorf("input[%d] is empty", i)
		}
	}
	return inputs, nil
}

// appendVector writes v as a JSON array of numbers, or as a base64 string
// of little-endian float32s.
func appendVector(b []byte, v []float32, b64 bool) []byte {
	if b64 {
		raw := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, raw)
		return append(b, '"')
	}
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
	}
	return append(b, ']')
}
