package llm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
)

// Build returns the request every variant of a run is sent for a sample:
// the same messages, decoding and template arguments; only the model
// differs. The run's system prompt is used unless the sample brings its own.
func Build(model string, msgs []eval.Message, d eval.Decoding, t eval.Template) ChatRequest {
	wire := make([]WireMessage, 0, len(msgs)+1)
	if t.System != "" && (len(msgs) == 0 || msgs[0].Role != "system") {
		wire = append(wire, WireMessage{Role: "system", Content: t.System})
	}
	for _, m := range msgs {
		wire = append(wire, WireMessage{Role: m.Role, Content: m.Content})
	}
	req := ChatRequest{
		Model:             model,
		Messages:          wire,
		Temperature:       d.Temperature,
		TopP:              d.TopP,
		MaxTokens:         d.MaxTokens,
		Seed:              d.Seed,
		Stop:              d.Stop,
		TopK:              d.TopK,
		MinP:              d.MinP,
		RepetitionPenalty: d.RepetitionPenalty,
		PresencePenalty:   d.PresencePenalty,
		FrequencyPenalty:  d.FrequencyPenalty,
		ChatTemplate:      t.ChatTemplate,
	}
	if t.Thinking != nil || len(t.Kwargs) > 0 {
		req.ChatTemplateKwargs = maps.Clone(t.Kwargs)
		if req.ChatTemplateKwargs == nil {
			req.ChatTemplateKwargs = map[string]any{}
		}
		if t.Thinking != nil {
			req.ChatTemplateKwargs["enable_thinking"] = *t.Thinking
		}
	}
	return req
}

// ParamsFingerprint hashes everything in a request but the model and the
// messages: two generations with the same fingerprint were asked the same
// way.
func ParamsFingerprint(r ChatRequest) string {
	r.Model = ""
	r.Messages = nil
	r.Stream = false
	r.StreamOptions = nil
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// CacheKey is the content key of a request within a scope (for example a run
// and variant, or a judge id): identical requests in one scope share one
// response. Whether the request is streamed does not matter.
func CacheKey(scope string, r ChatRequest) string {
	r.Stream = false
	r.StreamOptions = nil
	b, _ := json.Marshal(r)
	return cacheKey(scope, b)
}

// cacheKey hashes scope and a request body. The key starts with the
// scope's first field (before "|") and a dot when that field is a plain
// word: infer's scopes start with "gen", the judge's with "judge", so that
// each stage's NATS grant covers its own keys only (see bus.Grants) and
// neither can overwrite the other's answers. A scope without such a field
// gives the hash alone, as every key did before the split.
func cacheKey(scope string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write(body)
	sum := hex.EncodeToString(h.Sum(nil))
	if space, _, ok := strings.Cut(scope, "|"); ok && keySpace(space) {
		return space + "." + sum
	}
	return sum
}

// keySpace reports whether s can start a key: a NATS subject token of
// letters, digits, '-' and '_'.
func keySpace(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// legacyKey is the key a request of key's had before the cache was split
// into key spaces (the hash alone), "" when key has no space. Such
// entries are still read, so that a data directory kept across the split
// does not pay for its answers again; nobody but an administrator may
// write them any more.
func legacyKey(key string) string {
	_, sum, ok := strings.Cut(key, ".")
	if !ok {
		return ""
	}
	return sum
}

// streamSuffix is what Chat puts in place of a body's closing brace to ask
// for a stream.
const streamSuffix = `,"stream":true,"stream_options":{"include_usage":true}}`

// Policy is the retry policy of a run spec.
func Policy(r eval.Retry) RetryPolicy {
	return RetryPolicy{MaxAttempts: r.MaxAttempts, InitialBackoff: r.InitialBackoff.D(), MaxBackoff: r.MaxBackoff.D()}
}
