package llmsim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// Sim is a set of simulated models behind one OpenAI-compatible API.
type Sim struct {
	seed     int64
	personas map[string]Persona
	key      Key
	logger   *slog.Logger

	calls     sync.Map // model -> *atomic.Int64
	inFlight  sync.Map // model -> *gauge
	mu        sync.Mutex
	perPrompt map[string]int // model + "\x00" + prompt -> calls
	// judged counts a noisy judge's answers to each prompt (persona +
	// "\x00" + prompt), the call number its noise is drawn for.
	judged map[string]int
	record bool
	log    []Call

	// embedModels are the embedding models served, embedDims their
	// vectors' length unless a request asks otherwise; embedders holds
	// an Embedder per model and length.
	embedModels map[string]bool
	embedDims   int
	embedders   sync.Map
}

// Call is one request the simulator served.
type Call struct {
	Model  string
	Prompt string
	Status int
	At     time.Time
}

// Options configure a Sim.
type Options struct {
	Seed     int64
	Personas []Persona
	Key      Key
	// Record keeps a log of every call (see [Sim.Log]).
	Record bool
	Logger *slog.Logger
	// EmbedModels are the embedding models served on /v1/embeddings and
	// /pooling (default [DefaultEmbedModel]); EmbedDims is their
	// vectors' length (default [DefaultEmbedDims]). See [Embedder].
	EmbedModels []string
	EmbedDims   int
}

// New returns a simulator; with no personas it serves [DefaultPersonas].
func New(o Options) *Sim {
	ps := o.Personas
	if len(ps) == 0 {
		ps = DefaultPersonas()
	}
	s := &Sim{seed: o.Seed, personas: map[string]Persona{}, key: o.Key, record: o.Record, perPrompt: map[string]int{}, judged: map[string]int{}, logger: o.Logger}
	if s.key == nil {
		s.key = Key{}
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	for _, p := range ps {
		s.personas[p.Name] = p
	}
	s.embedModels, s.embedDims = map[string]bool{}, o.EmbedDims
	if s.embedDims <= 0 {
		s.embedDims = DefaultEmbedDims
	}
	if len(o.EmbedModels) == 0 {
		s.embedModels[DefaultEmbedModel] = true
	}
	for _, m := range o.EmbedModels {
		s.embedModels[m] = true
	}
	return s
}

// Persona returns the named persona.
func (s *Sim) Persona(name string) (Persona, bool) {
	p, ok := s.personas[name]
	return p, ok
}

// Calls is how many chat requests a model has received, failed ones
// included; for an embedding model, how many embeddings requests.
func (s *Sim) Calls(model string) int {
	if c, ok := s.calls.Load(model); ok {
		return int(c.(*atomic.Int64).Load())
	}
	return 0
}

// gauge is a model's chat requests in flight, and the most at once.
type gauge struct{ now, peak atomic.Int64 }

// enter counts a chat request of model in flight until the returned
// function is called.
func (s *Sim) enter(model string) func() {
	v, _ := s.inFlight.LoadOrStore(model, new(gauge))
	g := v.(*gauge)
	n := g.now.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	return func() { g.now.Add(-1) }
}

// PeakInFlight is the most chat requests a model has had in flight at
// once (its latency included): what a client's concurrency let through.
func (s *Sim) PeakInFlight(model string) int {
	if v, ok := s.inFlight.Load(model); ok {
		return int(v.(*gauge).peak.Load())
	}
	return 0
}

// PromptCalls is how many chat requests a model has received for a prompt.
func (s *Sim) PromptCalls(model, prompt string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perPrompt[model+"\x00"+prompt]
}

// Log returns the calls served so far when Record is on.
func (s *Sim) Log() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.log...)
}

// Handler serves the API under /v1 (and, for clients that omit it, /).
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/v1", ""} {
		mux.HandleFunc("POST "+p+"/chat/completions", s.chat)
		mux.HandleFunc("GET "+p+"/models", s.models)
		mux.HandleFunc("POST "+p+"/embeddings", s.embeddings)
		mux.HandleFunc("POST "+p+"/pooling", s.pooling)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

func (s *Sim) models(w http.ResponseWriter, _ *http.Request) {
	var list llm.ModelList
	list.Object = "list"
	// In name order: a listing that changes order from call to call
	// makes the messages that quote it change too.
	for _, name := range slices.Sorted(maps.Keys(s.personas)) {
		list.Data = append(list.Data, llm.ModelInfo{ID: name, Object: "model", OwnedBy: "assay-sim"})
	}
	for _, name := range slices.Sorted(maps.Keys(s.embedModels)) {
		if _, ok := s.personas[name]; !ok {
			list.Data = append(list.Data, llm.ModelInfo{ID: name, Object: "model", OwnedBy: "assay-sim"})
		}
	}
	writeJSON(w, http.StatusOK, list)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, llm.ErrorBody{Error: &llm.WireError{Message: msg, Type: http.StatusText(status)}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Sim) count(model, prompt string, status int) int {
	c, _ := s.calls.LoadOrStore(model, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	k := model + "\x00" + prompt
	s.perPrompt[k]++
	if s.record {
		s.log = append(s.log, Call{Model: model, Prompt: prompt, Status: status, At: time.Now()})
	}
	return s.perPrompt[k]
}

func (s *Sim) chat(w http.ResponseWriter, r *http.Request) {
	var req llm.ChatRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "request body is not a chat completion request: "+err.Error())
		return
	}
	p, ok := s.personas[req.Model]
	if !ok {
		apiError(w, http.StatusNotFound, fmt.Sprintf("model %q does not exist", req.Model))
		return
	}
	defer s.enter(req.Model)()
	if len(req.Messages) == 0 {
		apiError(w, http.StatusBadRequest, "messages must not be empty")
		return
	}
	msgs := make([]eval.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = eval.Message{Role: m.Role, Content: m.Content}
	}
	prompt := PromptKey(msgs)
	text, finish, flaky, status := s.respond(p, prompt)
	var retryAfter time.Duration
	n := s.count(req.Model, prompt, status)
	if status == 0 && n == 1 && flaky {
		if s.u(p.Name, "flaky-kind", prompt) < 0.5 {
			status, retryAfter = http.StatusTooManyRequests, time.Second
		} else {
			status = http.StatusServiceUnavailable
		}
	}
	if p.Latency > 0 {
		if err := sleep(r.Context(), time.Duration(p.Latency)); err != nil {
			return
		}
	}
	if status != 0 {
		if retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatFloat(retryAfter.Seconds(), 'f', -1, 64))
		}
		apiError(w, status, "simulated failure")
		return
	}
	usage := llm.WireUsage{PromptTokens: promptTokens(req.Messages), CompletionTokens: CountTokens(text)}
	usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
	if req.Stream {
		s.stream(w, req, text, finish, usage)
		return
	}
	writeJSON(w, http.StatusOK, llm.ChatResponse{
		ID: "chatcmpl-sim", Object: "chat.completion", Created: time.Now().Unix(), Model: req.Model,
		Choices: []llm.ChatChoice{{Message: llm.ReplyMessage{Role: "assistant", Content: text}, FinishReason: finish}},
		Usage:   &usage,
	})
}

// respond returns a persona's answer to a prompt (and whether its first
// call fails), or a failure status.
func (s *Sim) respond(p Persona, prompt string) (text, finish string, flaky bool, status int) {
	if p.Judge {
		q, a, b, ok := ParseJudgePrompt(prompt)
		if !ok {
			if q, ans, ok := ParseSinglePrompt(prompt); ok {
				return s.GradeAlone(p, q, ans), "stop", false, 0
			}
			return "I can only judge prompts with the MT-Bench pairwise or single-answer markers.", "stop", false, 0
		}
		call := 1
		if p.Flip > 0 {
			s.mu.Lock()
			s.judged[p.Name+"\x00"+prompt]++
			call = s.judged[p.Name+"\x00"+prompt]
			s.mu.Unlock()
		}
		return s.JudgeCall(p, q, a, b, call).Text, "stop", false, 0
	}
	d := s.Decide(p, prompt)
	if d.Down {
		return "", "", false, http.StatusInternalServerError
	}
	return d.Text, d.FinishReason, d.Flaky, 0
}

func (s *Sim) stream(w http.ResponseWriter, req llm.ChatRequest, text, finish string, usage llm.WireUsage) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl, _ := w.(http.Flusher)
	send := func(ch llm.ChatChunk) {
		ch.ID, ch.Object, ch.Model = "chatcmpl-sim", "chat.completion.chunk", req.Model
		b, _ := json.Marshal(ch)
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	// Like vLLM: the role comes with the first text, the finish reason with
	// the last, usage in a chunk of its own.
	parts := splitParts(text, 2)
	first := parts[0]
	send(llm.ChatChunk{Choices: []llm.ChunkChoice{{Delta: llm.ReplyMessage{Role: "assistant", Content: first}}}})
	if fl != nil {
		fl.Flush()
	}
	last := ""
	if len(parts) > 1 {
		last = parts[1]
	}
	send(llm.ChatChunk{Choices: []llm.ChunkChoice{{Delta: llm.ReplyMessage{Content: last}, FinishReason: &finish}}})
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(llm.ChatChunk{Choices: []llm.ChunkChoice{}, Usage: &usage})
	}
	io.WriteString(w, "data: [DONE]\n\n")
}

func splitParts(s string, n int) []string {
	runes := []rune(s)
	if len(runes) < n {
		return []string{s}
	}
	var out []string
	size := (len(runes) + n - 1) / n
	for i := 0; i < len(runes); i += size {
		out = append(out, string(runes[i:min(i+size, len(runes))]))
	}
	return out
}

func promptTokens(msgs []llm.WireMessage) int {
	n := 0
	for _, m := range msgs {
		n += 4 + CountTokens(m.Content)
	}
	return n
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Models lists the persona names and the embedding models, for logs.
func (s *Sim) Models() string {
	var names []string
	for n := range s.personas {
		names = append(names, n)
	}
	for n := range s.embedModels {
		names = append(names, n+" (embeddings)")
	}
	return strings.Join(names, ", ")
}

// Answer returns what the answer key knows about a prompt (the zero Answer
// when nothing).
func (s *Sim) Answer(prompt string) Answer { return s.key[prompt] }
