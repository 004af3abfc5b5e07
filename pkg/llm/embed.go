package llm

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// EmbedOptions say what an embeddings call asks for. Model and Dimensions
// shape the vectors and are part of each vector's cache key; BatchSize
// and Base64 only say how the vectors travel.
type EmbedOptions struct {
	// Model is the embedding model's name at the endpoint.
	Model string
	// Dimensions asks a model that can shorten its vectors (OpenAI's
	// text-embedding-3, Matryoshka models) for that many; 0 sends
	// nothing, and the model gives its own.
	Dimensions int
	// BatchSize bounds the texts sent in one request (default
	// [DefaultEmbedBatch]; [DefaultTokenEmbedBatch] for token vectors,
	// whose answers are far larger).
	BatchSize int
	// Base64 asks for the vectors as base64 of float32s, a third of the
	// size of numbers and quicker to read, where the server supports it
	// (OpenAI and vLLM do). Answers in either form are read whatever
	// was asked.
	Base64 bool
}

// Default batch sizes of [EmbedOptions].
const (
	DefaultEmbedBatch      = 64
	DefaultTokenEmbedBatch = 8
)

func (o EmbedOptions) batchSize(tokens bool) int {
	switch {
	case o.BatchSize > 0:
		return o.BatchSize
	case tokens:
		return DefaultTokenEmbedBatch
	}
	return DefaultEmbedBatch
}

// EmbedSpace is the cache key space of embeddings (see [EmbedKey]).
const EmbedSpace = "embed"

// EmbedKey is the cache key of text's embedding from the endpoint at
// baseURL under o (token vectors when tokens): a hash of the endpoint, the
// model's name, the options that shape its vectors and the text. The
// endpoint is part of it: a run whose spec names another endpoint under a
// model's name must not put its vectors where another run reads that
// model's. Keys start with [EmbedSpace] and a dot, as keys of the chat
// stages start with theirs.
func EmbedKey(baseURL string, o EmbedOptions, tokens bool, text string) string {
	scope, _ := json.Marshal(struct {
		Endpoint   string `json:"endpoint"`
		Model      string `json:"model"`
		Dimensions int    `json:"dimensions"`
		Tokens     bool   `json:"tokens"`
		// Version changes when the stored form or the normalisation
		// does.
		Version int `json:"v"`
	}{strings.TrimRight(baseURL, "/"), o.Model, o.Dimensions, tokens, 1})
	return cacheKey(EmbedSpace+"|"+string(scope), []byte(text))
}

// errEmptyText is the error of an embeddings call given an empty text,
// which endpoints refuse or embed as noise: the caller decides what an
// empty text scores.
var errEmptyText = errors.New("an empty text has no embedding")

// Embed returns the embedding of each text, in order, L2-normalised, by
// POST {base_url}/embeddings with o's model, in batches of o.BatchSize
// sent at once up to ep's concurrency; each batch is retried per policy
// like a chat call (see [Client.Chat]), and the first batch to fail for
// good fails the call. With a cache ([WithCache]) each text's vector is
// kept under [EmbedKey] and never asked for again; without one, a text
// given twice is still asked for once. Texts that are alike share one
// vector, which callers must not modify. An empty or blank text is an
// error: nothing is sent.
func (c *Client) Embed(ctx context.Context, ep Endpoint, o EmbedOptions, texts []string, policy RetryPolicy) ([][]float32, error) {
	vs, err := c.embed(ctx, ep, o, false, texts, policy)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(vs))
	for i, v := range vs {
		out[i] = v[0]
	}
	return out, nil
}

// EmbedTokens is [Client.Embed] for one vector per token of each text,
// each L2-normalised, from vLLM's pooling API (POST {base_url}/pooling
// with task token_embed): not part of OpenAI's API, and served by vLLM at
// the server's root, so base_url is then http://host:8000, not …/v1.
func (c *Client) EmbedTokens(ctx context.Context, ep Endpoint, o EmbedOptions, texts []string, policy RetryPolicy) ([][][]float32, error) {
	return c.embed(ctx, ep, o, true, texts, policy)
}

func (c *Client) embed(ctx context.Context, ep Endpoint, o EmbedOptions, tokens bool, texts []string, policy RetryPolicy) ([][][]float32, error) {
	if o.Model == "" {
		return nil, errors.New("embedding: no model named")
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("embedding text %d: %w", i, errEmptyText)
		}
	}
	ep.Stream = false
	out := make([][][]float32, len(texts))
	// first is where each distinct text is first; todo are those the
	// cache does not hold.
	first := make(map[string]int, len(texts))
	var todo []int
	for i, t := range texts {
		if _, ok := first[t]; ok {
			continue
		}
		first[t] = i
		if vs, ok := c.cachedEmbedding(ctx, EmbedKey(ep.BaseURL, o, tokens, t)); ok {
			out[i] = vs
			continue
		}
		todo = append(todo, i)
	}
	if err := c.embedAll(ctx, ep, o, tokens, texts, todo, out, policy); err != nil {
		return nil, err
	}
	for i, t := range texts {
		if out[i] == nil {
			out[i] = out[first[t]]
		}
	}
	return out, nil
}

// embedAll asks for the embeddings of texts[todo] in batches, at most
// ep.Concurrency at once, and puts them in out (and the cache).
func (c *Client) embedAll(ctx context.Context, ep Endpoint, o EmbedOptions, tokens bool, texts []string, todo []int, out [][][]float32, policy RetryPolicy) error {
	if len(todo) == 0 {
		return nil
	}
	size := o.batchSize(tokens)
	batches := make(chan []int, (len(todo)+size-1)/size)
	for start := 0; start < len(todo); start += size {
		batches <- todo[start:min(start+size, len(todo))]
	}
	close(batches)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range min(max(ep.Concurrency, 1), len(batches)) {
		wg.Go(func() {
			for idx := range batches {
				if ctx.Err() != nil {
					return
				}
				inputs := make([]string, len(idx))
				for k, i := range idx {
					inputs[k] = texts[i]
				}
				vs, err := c.embedBatch(ctx, ep, o, tokens, inputs, policy)
				if err != nil {
					cancel(err)
					return
				}
				for k, i := range idx {
					out[i] = vs[k]
					c.storeEmbedding(ctx, EmbedKey(ep.BaseURL, o, tokens, texts[i]), vs[k])
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// embedBatch sends one request for inputs, retried per policy.
func (c *Client) embedBatch(ctx context.Context, ep Endpoint, o EmbedOptions, tokens bool, inputs []string, policy RetryPolicy) ([][][]float32, error) {
	req := EmbeddingsRequest{Model: o.Model, Input: inputs, EncodingFormat: "float", Dimensions: o.Dimensions}
	if o.Base64 {
		req.EncodingFormat = "base64"
	}
	path := "/embeddings"
	if tokens {
		req.Task, path = TaskTokenEmbed, "/pooling"
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	var vs [][][]float32
	_, err = c.retry(ctx, ep, path, o.Model, policy, func(ep Endpoint, url string) (timing, error) {
		var t timing
		err := c.post(ctx, ep, o.Model, url, body, func(rep reply) error {
			var err error
			vs, err = readEmbeddings(rep.body, len(inputs), tokens, rep.red)
			t.latency = time.Since(rep.start)
			return err
		})
		return t, err
	})
	if err != nil {
		return nil, err
	}
	return vs, nil
}

// cachedEmbedding reads a text's vectors from the cache. An unreadable
// cache or entry is a miss: the endpoint is asked.
func (c *Client) cachedEmbedding(ctx context.Context, key string) ([][]float32, bool) {
	if c.cache == nil {
		return nil, false
	}
	b, ok, err := c.cache.Get(ctx, key)
	if err != nil {
		c.logger.Warn("reading the embeddings cache failed; calling the endpoint", "err", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	vs, err := decodeVectors(b)
	if err != nil {
		c.logger.Warn("an embeddings cache entry is unreadable; calling the endpoint", "key", key, "err", err)
		return nil, false
	}
	return vs, true
}

// storeEmbedding keeps a text's vectors in the cache, even when the
// caller gave up meanwhile: they are paid for.
func (c *Client) storeEmbedding(ctx context.Context, key string, vs [][]float32) {
	if c.cache == nil {
		return
	}
	pctx, cancel := paidContext(ctx)
	defer cancel()
	if err := c.cache.Put(pctx, key, encodeVectors(vs)); err != nil {
		c.logger.Warn("storing embeddings in the cache failed", "err", err)
	}
}

// vectorsMagic starts a cached entry of vectors: a version byte after it.
const vectorsMagic = "EV\x01"

// encodeVectors writes vectors of one length as the cache keeps them:
// vectorsMagic, their count and length (uint32 each), then the numbers
// as little-endian float32s.
func encodeVectors(vs [][]float32) []byte {
	dims := len(vs[0])
	b := make([]byte, 0, len(vectorsMagic)+8+4*len(vs)*dims)
	b = append(b, vectorsMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vs)))
	b = binary.LittleEndian.AppendUint32(b, uint32(dims))
	for _, v := range vs {
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	return b
}

// decodeVectors reads what encodeVectors wrote, checking it as an answer
// is checked: the cache is shared, and may hold anything.
func decodeVectors(b []byte) ([][]float32, error) {
	rest, ok := bytes.CutPrefix(b, []byte(vectorsMagic))
	if !ok || len(rest) < 8 {
		return nil, errors.New("not a cached embedding")
	}
	n := binary.LittleEndian.Uint32(rest)
	dims := binary.LittleEndian.Uint32(rest[4:])
	data := rest[8:]
	if n == 0 || n > maxTokenVectors || dims == 0 || dims > maxEmbedDims || uint64(len(data)) != 4*uint64(n)*uint64(dims) {
		return nil, errors.New("a cached embedding of the wrong size")
	}
	vs := make([][]float32, n)
	for i := range vs {
		v := make([]float32, dims)
		for k := range v {
			v[k] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*(i*int(dims)+k):]))
		}
		if err := normalize(v); err != nil {
			return nil, err
		}
		vs[i] = v
	}
	return vs, nil
}
