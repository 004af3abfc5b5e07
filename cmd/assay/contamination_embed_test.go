package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/assay-eval/assay/pkg/llmsim"
)

// serveSimEmbeddings serves the simulator over real HTTP; a request whose
// body holds fail is refused (HTTP 400, which is not retried), counted.
func serveSimEmbeddings(t *testing.T, fail string) (string, *atomic.Int64) {
	url, failed, _ := serveSimEmbeddingsDown(t, fail)
	return url, failed
}

// serveSimEmbeddingsDown is serveSimEmbeddings that fails every request
// once down is set.
func serveSimEmbeddingsDown(t *testing.T, fail string) (string, *atomic.Int64, *atomic.Bool) {
	t.Helper()
	h := llmsim.New(llmsim.Options{Seed: demoSeed}).Handler()
	var failed atomic.Int64
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if down.Load() || fail != "" && strings.Contains(string(b), fail) {
			failed.Add(1)
			http.Error(w, `{"error":{"message":"simulated refusal"}}`, http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1", &failed, &down
}

// contamResults reads the output lines by id.
func contamResults(t *testing.T, out string) map[string]map[string]any {
	t.Helper()
	res := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		res[m["id"].(string)] = m
	}
	return res
}

// TestContaminationEmbeddings runs assay contamination --embeddings against
// the simulator over HTTP: a paraphrase of a training document, which the
// n-gram check scores 0, is flagged by embeddings with its match; a copy by
// both; an unrelated item by neither. The vectors are cached on disk, and
// a second check sends the endpoint nothing new; another endpoint serving
// the model's name is not answered from that cache.
func TestContaminationEmbeddings(t *testing.T) {
	url, failed, down := serveSimEmbeddingsDown(t, "")
	dir := t.TempDir()
	train, evalFile, cache := filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "eval.jsonl"), filepath.Join(dir, "cache")
	contamWrite(t, train, contamJSONL(t,
		map[string]any{"id": "t-car", "text": "I want to buy a cheap car for my family."},
		map[string]any{"id": "t-story", "text": contamStory},
		map[string]any{"id": "t-cake", "text": "Bake the cake for forty minutes at a low temperature."},
	))
	contamWrite(t, evalFile, contamJSONL(t,
		map[string]any{"id": "para", "prompt": "I wish to purchase an inexpensive automobile for my family."},
		map[string]any{"id": "copy", "prompt": contamStory},
		map[string]any{"id": "clean", "prompt": "Summarize the history of the Roman Empire."},
	))
	args := []string{"--train", train, "--eval", evalFile, "--embeddings", url, "--embeddings-model", llmsim.DefaultEmbedModel, "--embeddings-cache", cache}
	stdout, stderr, err := runContamination(t, "", args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	res := contamResults(t, stdout)
	para := res["para"]
	if para["contaminated"] != true || para["score"].(float64) >= 0.5 || para["embedding_match"] != "t-car" ||
		para["embedding_score"].(float64) < 0.85 || strings.Join(anyStrings(para["by"]), ",") != "embedding" {
		t.Errorf("paraphrase: %v", para)
	}
	if c := res["copy"]; c["contaminated"] != true || strings.Join(anyStrings(c["by"]), ",") != "ngram,embedding" || c["embedding_match"] != "t-story" {
		t.Errorf("copy: %v", c)
	}
	if c := res["clean"]; c["contaminated"] != false || c["by"] != nil || c["embedding_score"].(float64) >= 0.85 {
		t.Errorf("clean: %v", c)
	}
	for _, want := range []string{"contaminated: 2 (66.7%)", "embeddings (sim-embed at " + url + "): 2 items flagged at cosine 0.85; 3 items and 3 training documents (3 windows) compared"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	// Again, with the endpoint failing every call: every vector comes
	// from the cache.
	down.Store(true)
	again, stderr, err := runContamination(t, "", args...)
	if err != nil || again != stdout || failed.Load() != 0 {
		t.Errorf("from the cache (%d calls failed): %v\n%s\n%s", failed.Load(), err, again, stderr)
	}
	// Another endpoint under the same model's name: its vectors are its
	// own, not the cache's (it is gone, so none is had).
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	args[5] = gone.URL + "/v1"
	if _, stderr, err := runContamination(t, "", args...); err == nil || !strings.Contains(err.Error(), "none of the 3 eval items could be embedded") {
		t.Errorf("another endpoint was answered from the cache: %v\n%s", err, stderr)
	}
}

// TestContaminationEmbeddingsFailures: training documents whose embeddings
// could not be had are counted and make the exit status 3, never taken for
// clean; an eval item without an embedding says so; a host the policy
// refuses, or an --embeddings flag without --embeddings, is a usage error.
func TestContaminationEmbeddingsFailures(t *testing.T) {
	url, failed := serveSimEmbeddings(t, "OUTAGE")
	dir := t.TempDir()
	train, evalFile := filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "eval.jsonl")
	contamWrite(t, train, contamJSONL(t,
		map[string]any{"id": "t1", "text": "I want to buy a cheap car."},
		map[string]any{"id": "t2", "text": "OUTAGE: this one the endpoint cannot embed."},
		map[string]any{"id": "t3", "text": "OUTAGE again, in another batch."},
	))
	contamWrite(t, evalFile, contamJSONL(t,
		map[string]any{"id": "e1", "prompt": "I wish to purchase an inexpensive automobile."},
		map[string]any{"id": "e2", "prompt": "OUTAGE in an eval item"},
	))
	stdout, stderr, err := runContamination(t, "", "--train", train, "--eval", evalFile, "--embeddings", url, "--embeddings-model", llmsim.DefaultEmbedModel, "--embeddings-batch", "1")
	if !errors.Is(err, errLinesFailed) || exitCode(&commandError{err}, false) != exitUnevaluated {
		t.Fatalf("err = %v, want exit status 3\n%s", err, stderr)
	}
	for _, want := range []string{
		"2 training documents could not be embedded (2 requests failed: 2 × HTTP 400: simulated refusal) and were not checked by embeddings",
		"1 eval items could not be embedded",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	res := contamResults(t, stdout)
	if e := res["e1"]; e["embedding_match"] != "t1" || e["contaminated"] != true {
		t.Errorf("e1: %v", e)
	}
	if e := res["e2"]; e["embedding_checked"] != false || e["embedding_score"] != nil {
		t.Errorf("e2: %v", e)
	}
	if got := failed.Load(); got != 3 {
		t.Errorf("%d failed requests, want 3 (one eval item, two training documents)", got)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--embeddings", url, "--embeddings-model", "m", "--endpoint-allow", "api.openai.com"}, "endpoint policy refuses host 127.0.0.1"},
		{[]string{"--embeddings-model", "m"}, "--embeddings-model needs --embeddings URL"},
		{[]string{"--embeddings", "localhost:8000/v1"}, "--embeddings localhost:8000/v1:"},
		{[]string{"--embeddings", url, "--embeddings-threshold", "1.5"}, "--embeddings-threshold 1.5"},
		{[]string{"--embeddings", url}, "the endpoint serves"},
	} {
		_, _, err := runContamination(t, "", append([]string{"--train", train, "--eval", evalFile}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(&commandError{err}, false) != exitUsage {
			t.Errorf("%q: err = %v, want a usage error with %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "cache")); err == nil {
		t.Error("a cache was written without --embeddings-cache")
	}
}

func anyStrings(v any) []string {
	var out []string
	if list, ok := v.([]any); ok {
		for _, x := range list {
			out = append(out, x.(string))
		}
	}
	return out
}
