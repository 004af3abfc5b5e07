package llm

import (
	"encoding/json"
)

// ChatRequest is the body of POST /chat/completions, with the extensions
// that vLLM and SGLang accept. Temperature is always sent: 0 must reach the
// server as 0.
type ChatRequest struct {
	Model              string          `json:"model"`
	Messages           []WireMessage   `json:"messages"`
	Temperature        float64         `json:"temperature"`
	TopP               float64         `json:"top_p"`
	MaxTokens          int             `json:"max_tokens"`
	Seed               *int            `json:"seed,omitempty"`
	Stop               []string        `json:"stop,omitempty"`
	TopK               *int            `json:"top_k,omitempty"`
	MinP               *float64        `json:"min_p,omitempty"`
	RepetitionPenalty  *float64        `json:"repetition_penalty,omitempty"`
	PresencePenalty    *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty   *float64        `json:"frequency_penalty,omitempty"`
	ResponseFormat     *ResponseFormat `json:"response_format,omitempty"`
	ChatTemplate       string          `json:"chat_template,omitempty"`
	ChatTemplateKwargs map[string]any  `json:"chat_template_kwargs,omitempty"`
	Stream             bool            `json:"stream,omitempty"`
	StreamOptions      *StreamOptions  `json:"stream_options,omitempty"`
}

// WireMessage is one chat message on the wire.
type WireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ResponseFormat asks for JSON output, optionally against a schema.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema names a schema for structured output.
type JSONSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict bool            `json:"strict,omitempty"`
}

// StreamOptions asks a streaming server to report usage in a final chunk.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// ChatResponse is a non-streamed chat completion.
type ChatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	Usage   *WireUsage   `json:"usage,omitempty"`
}

// ChatChoice is one choice of a completion.
type ChatChoice struct {
	Index        int          `json:"index"`
	Message      ReplyMessage `json:"message"`
	FinishReason string       `json:"finish_reason"`
}

// ReplyMessage is the assistant's reply. Servers disagree on the name of the
// reasoning field (vLLM wrote reasoning_content, later reasoning); both are
// read.
type ReplyMessage struct {
	Role             string `json:"role"`
	Content          string `json:"content"`
	ReasoningContent string `json:"reasoning_content,omitempty"`
	Reasoning        string `json:"reasoning,omitempty"`
}

// WireUsage is token accounting on the wire.
type WireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// ChatChunk is one server-sent event of a streamed completion.
type ChatChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
	Usage   *WireUsage    `json:"usage,omitempty"`
	// Error is how some servers report a failure mid-stream.
	Error *WireError `json:"error,omitempty"`
}

// ChunkChoice is the delta of one choice.
type ChunkChoice struct {
	Index        int          `json:"index"`
	Delta        ReplyMessage `json:"delta"`
	FinishReason *string      `json:"finish_reason"`
}

// ErrorBody is the OpenAI error envelope.
type ErrorBody struct {
	Error *WireError `json:"error"`
}

// WireError is an error as OpenAI-compatible servers report it. Code is a
// string for OpenAI and a number for some others, hence RawMessage.
type WireError struct {
	Message string          `json:"message"`
	Type    string          `json:"type,omitempty"`
	Code    json.RawMessage `json:"code,omitempty"`
}

// ModelList is the body of GET /models.
type ModelList struct {
	Object string      `json:"object"`
	Data   []ModelInfo `json:"data"`
}

// ModelInfo describes one served model.
type ModelInfo struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	OwnedBy string `json:"owned_by"`
}
