package llmsim_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
)

func serveSim(t *testing.T, o llmsim.Options) (*llmsim.Sim, string) {
	t.Helper()
	sim := llmsim.New(o)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func near(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6 {
			return false
		}
	}
	return true
}

// TestServeEmbeddings: the simulator answers assay's embeddings client
// with the Embedder's vectors, as numbers or base64, of the dimensions
// asked; token vectors on /pooling; and the errors an OpenAI-compatible
// server gives for an unknown model or an empty input.
func TestServeEmbeddings(t *testing.T) {
	sim, url := serveSim(t, llmsim.Options{Seed: 3, EmbedDims: 32})
	c := llm.New()
	ep := llm.Endpoint{BaseURL: url + "/v1", Concurrency: 2}
	texts := []string{"What is the capital of France?", "法国的首都是什么？", "What is the capital of France?"}
	want := llmsim.NewEmbedder(3, llmsim.DefaultEmbedModel, 32)
	for _, b64 := range []bool{false, true} {
		got, err := c.Embed(t.Context(), ep, llm.EmbedOptions{Model: llmsim.DefaultEmbedModel, Base64: b64}, texts, llm.RetryPolicy{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		for i, text := range texts {
			if !near(got[i], want.Vector(text)) {
				t.Errorf("base64 %v: %q: %v, want %v", b64, text, got[i], want.Vector(text))
			}
		}
	}
	if n := sim.Calls(llmsim.DefaultEmbedModel); n != 2 {
		t.Errorf("%d embeddings calls, want 2", n)
	}
	got, err := c.Embed(t.Context(), ep, llm.EmbedOptions{Model: llmsim.DefaultEmbedModel, Dimensions: 8}, texts[:1], llm.RetryPolicy{MaxAttempts: 1})
	if err != nil || len(got[0]) != 8 {
		t.Fatalf("dimensions 8: %v, %v", got, err)
	}
	toks, err := c.EmbedTokens(t.Context(), llm.Endpoint{BaseURL: url, Concurrency: 1}, llm.EmbedOptions{Model: llmsim.DefaultEmbedModel}, texts[:1], llm.RetryPolicy{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if w := want.Tokens(texts[0]); len(toks[0]) != len(w) || !near(toks[0][0], w[0]) {
		t.Errorf("token vectors %d, want %d", len(toks[0]), len(w))
	}
	for _, tc := range []struct {
		path, body string
		status     int
		msg        string
	}{
		{"/v1/embeddings", `{"model":"nope","input":["x"]}`, 404, `nope\" does not exist`},
		{"/v1/embeddings", `{"model":"sim-embed","input":["x",""]}`, 400, "input[1] is empty"},
		{"/v1/embeddings", `{"model":"sim-embed","input":[1,2]}`, 400, "a string or a non-empty array"},
		{"/v1/embeddings", `{"model":"sim-embed","input":"x","dimensions":99999}`, 400, "dimensions 99999"},
		{"/pooling", `{"model":"sim-embed","input":"x","task":"classify"}`, 400, `is not supported: use token_embed`},
		{"/v1/embeddings", `{"model":"sim-embed","input":"just one"}`, 200, `"index":0`},
	} {
		resp, err := http.Post(url+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(b.String(), tc.msg) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.path, tc.body, resp.StatusCode, b.String(), tc.status, tc.msg)
		}
	}
	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list llm.ModelList
	json.NewDecoder(resp.Body).Decode(&list)
	found := false
	for _, m := range list.Data {
		found = found || m.ID == llmsim.DefaultEmbedModel
	}
	if !found {
		t.Errorf("/v1/models does not list %s", llmsim.DefaultEmbedModel)
	}
}
