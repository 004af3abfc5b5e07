// Package llm is assay's client for OpenAI-compatible chat endpoints (vLLM,
// SGLang, Ollama, llama.cpp, OpenAI itself).
//
// Every variant of a run is called with the same request apart from the
// model name: the same decoding parameters, system prompt and chat template
// arguments ([Build]). The client bounds the requests in flight per
// endpoint, retries 429s, 5xx and timeouts with exponential backoff and
// jitter while honouring Retry-After, and strips reasoning traces
// (<think>…</think>, reasoning_content) from the answer, keeping them apart.
//
// The wire types are our own rather than go-openai's: go-openai drops
// temperature 0 from requests (an omitempty float32, so the server's default
// temperature applies), cannot carry top_k, min_p, repetition_penalty or
// chat_template, and does not expose response headers on errors, so
// Retry-After could not be honoured. Pinning decoding exactly is the point
// of this package, so it writes the JSON itself.
package llm
