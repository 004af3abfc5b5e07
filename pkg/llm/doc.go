// Package llm is assay's client for OpenAI-compatible chat endpoints (vLLM,
// SGLang, Ollama, llama.cpp, OpenAI itself), and for their embeddings
// ([Client.Embed]; token vectors from vLLM's pooling API,
// [Client.EmbedTokens]).
//
// Every variant of a run is called with the same request apart from the
// model name: the same decoding parameters, system prompt and chat template
// arguments ([Build]). The client bounds the requests in flight per
// endpoint, retries 429s, 5xx, timeouts, dropped connections and 200s whose
// body was cut off ([ErrMalformed]) with exponential backoff and jitter
// while honouring Retry-After, and strips reasoning traces
// (<think>…</think>, reasoning_content) from the answer, keeping them apart
// and leaving the answer's text as it was ([SplitReasoning]). Streamed
// answers are timed: time to first token and inter-token latency.
//
// Embeddings go through the same machinery — the endpoint policy, keys,
// the limit on requests in flight, timeouts, retries, the [Observer] —
// in batches, and each answer is checked before use: one vector for each
// input, all of one length, finite and not zero. A vector is cached by
// the model's name, the options that shape it and the text ([EmbedKey]),
// in any [Cache]: the bus's for a stage, [DirCache] or [MemoryCache] for a
// command on the user's machine.
//
// A call that failed for good has a [Cause], the short class by which
// failures are counted ("connection refused", "HTTP 404: The model `sft`
// does not exist."). [Client.Preflight] checks a run's endpoints before
// any paid call: the key is set, the endpoint answers, the model is served.
//
// A server's stages call under its [Endpoints] policy ([WithEndpoints]):
// keys come from named secrets the operator configured, each sent only to
// the hosts allowed for it, and a spec's api_key_env only where the
// operator allowed it; every host's addresses must be allowed, and the
// dialer checks the address it really connects to, so that neither DNS
// nor a redirect can aim a call at loopback, link-local (cloud metadata)
// or private addresses nobody allowed. A run on the user's own machine
// uses [LocalEndpoints], which allows everything.
//
// The wire types are our own rather than go-openai's: go-openai drops
// temperature 0 from requests (an omitempty float32, so the server's default
// temperature applies), cannot carry top_k, min_p, repetition_penalty or
// chat_template, and does not expose response headers on errors, so
// Retry-After could not be honoured. Pinning decoding exactly is the point
// of this package, so it writes the JSON itself.
package llm
