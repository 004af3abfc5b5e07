package eval

import (
	"testing"
	"time"
)

// TestParseSpecEmbeddings: the embeddings section with its defaults, its
// problems each at its line, and semantic_sim asking for it.
func TestParseSpecEmbeddings(t *testing.T) {
	src := edit(t, validSpec, "gate: {", "embeddings: {base_url: http://emb:8000/v1, model: bge-small, api_key_secret: emb, token_embeddings: true}\ngate: {")
	spec, err := ParseSpec("run.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	e := spec.Embeddings
	if e.Concurrency != DefaultConcurrency || e.Timeout.D() != 2*time.Minute || !e.TokenEmbeddings || e.APIKeySecret != "emb" {
		t.Errorf("embeddings %+v", e)
	}
	plain, _ := ParseSpec("run.yaml", []byte(validSpec))
	if plain.Scoring() == spec.Scoring() {
		t.Error("the embeddings model is not part of the scoring")
	}
	other, _ := ParseSpec("run.yaml", []byte(edit(t, src, "http://emb:8000/v1", "http://elsewhere:8000/v1")))
	if other.Scoring() != spec.Scoring() {
		t.Error("the endpoint's URL changes the scoring")
	}
	for _, tc := range []struct {
		name, old, new string
		want           []specErr
	}{
		{"no model", "gate: {", "embeddings: {base_url: http://emb/v1}\ngate: {", []specErr{{27, "embeddings.model", "is required"}}},
		{"bad url", "gate: {", "embeddings: {base_url: emb:8000, model: m}\ngate: {", []specErr{{27, "embeddings.base_url", "not an http(s) URL"}}},
		{"two keys", "gate: {", "embeddings: {base_url: http://emb/v1, model: m, api_key_env: K, api_key_secret: s}\ngate: {", []specErr{{27, "embeddings.api_key_secret", "is set with api_key_env: use one"}}},
		{"negative dimensions", "gate: {", "embeddings: {base_url: http://emb/v1, model: m, dimensions: -1}\ngate: {", []specErr{{27, "embeddings.dimensions", "must not be negative"}}},
		{"misspelt", "gate: {", "embeddings: {base_url: http://emb/v1, modle: m}\ngate: {", []specErr{{27, "embeddings.modle", "unknown field: did you mean model?"}}},
		{"semantic_sim without embeddings", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, semantic_sim]\n", []specErr{{19, "suites[0].metrics[2]", "needs an embeddings endpoint"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec("run.yaml", []byte(edit(t, validSpec, tc.old, tc.new)))
			checkSpecErrors(t, err, tc.want...)
		})
	}
}
