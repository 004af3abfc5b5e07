package llm

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

func ptr[T any](v T) *T { return &v }

func TestBuild(t *testing.T) {
	user := []eval.Message{{Role: "user", Content: "2+2?"}}
	own := []eval.Message{{Role: "system", Content: "Sample's own."}, {Role: "user", Content: "2+2?"}}
	for _, tc := range []struct {
		name string
		msgs []eval.Message
		tmpl eval.Template
		want []WireMessage
	}{
		{"system prepended", user, eval.Template{System: "Run's."}, []WireMessage{{"system", "Run's."}, {"user", "2+2?"}}},
		{"sample's system kept", own, eval.Template{System: "Run's."}, []WireMessage{{"system", "Sample's own."}, {"user", "2+2?"}}},
		{"no system", user, eval.Template{}, []WireMessage{{"user", "2+2?"}}},
		{"no messages", nil, eval.Template{System: "Run's."}, []WireMessage{{"system", "Run's."}}},
		{"multi-turn", []eval.Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "b"}, {Role: "user", Content: "c"}},
			eval.Template{System: "S"}, []WireMessage{{"system", "S"}, {"user", "a"}, {"assistant", "b"}, {"user", "c"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Build("m", tc.msgs, eval.Decoding{}, tc.tmpl)
			if !reflect.DeepEqual(r.Messages, tc.want) {
				t.Errorf("messages = %+v, want %+v", r.Messages, tc.want)
			}
		})
	}
}

func TestBuildDecodingAndTemplate(t *testing.T) {
	d := eval.Decoding{Temperature: 0, TopP: 0.9, MaxTokens: 64, Seed: ptr(7), Stop: []string{"</s>"}, TopK: ptr(20),
		MinP: ptr(0.05), RepetitionPenalty: ptr(1.1), PresencePenalty: ptr(0.5), FrequencyPenalty: ptr(-0.5)}
	kwargs := map[string]any{"reasoning_effort": "low"}
	tm := eval.Template{System: "S", Thinking: ptr(false), ChatTemplate: "{{ x }}", Kwargs: kwargs}
	r := Build("qwen", []eval.Message{{Role: "user", Content: "q"}}, d, tm)
	if r.Model != "qwen" || r.TopP != 0.9 || r.MaxTokens != 64 || *r.Seed != 7 || *r.TopK != 20 || *r.MinP != 0.05 ||
		*r.RepetitionPenalty != 1.1 || *r.PresencePenalty != 0.5 || *r.FrequencyPenalty != -0.5 || r.ChatTemplate != "{{ x }}" ||
		!reflect.DeepEqual(r.Stop, []string{"</s>"}) {
		t.Errorf("request = %+v", r)
	}
	want := map[string]any{"reasoning_effort": "low", "enable_thinking": false}
	if !reflect.DeepEqual(r.ChatTemplateKwargs, want) {
		t.Errorf("chat_template_kwargs = %v, want %v", r.ChatTemplateKwargs, want)
	}
	if _, ok := kwargs["enable_thinking"]; ok {
		t.Error("Build wrote into the template's kwargs: every request of the run shares them")
	}
	if r := Build("m", nil, d, eval.Template{Thinking: ptr(true)}); !reflect.DeepEqual(r.ChatTemplateKwargs, map[string]any{"enable_thinking": true}) {
		t.Errorf("thinking only: %v", r.ChatTemplateKwargs)
	}
	if r := Build("m", nil, d, eval.Template{}); r.ChatTemplateKwargs != nil {
		t.Errorf("no template arguments, yet chat_template_kwargs = %v", r.ChatTemplateKwargs)
	}
}

// TestRequestJSON pins what reaches the server: temperature 0 is written
// out (the reason this package has its own wire types), and unset options
// are left out so that the server's defaults apply.
func TestRequestJSON(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d       eval.Decoding
		tm      eval.Template
		present map[string]any // key -> JSON value as decoded into any
		absent  []string
	}{
		{
			name:    "greedy",
			d:       eval.Decoding{Temperature: 0, TopP: 1, MaxTokens: 16},
			present: map[string]any{"temperature": 0.0, "top_p": 1.0, "max_tokens": 16.0, "model": "m"},
			absent:  []string{"top_k", "min_p", "seed", "stop", "repetition_penalty", "presence_penalty", "frequency_penalty", "chat_template", "chat_template_kwargs", "stream", "stream_options", "response_format"},
		},
		{
			name: "sampler extensions",
			d:    eval.Decoding{Temperature: 0.6, TopP: 0.95, MaxTokens: 16, TopK: ptr(0), MinP: ptr(0.0), Seed: ptr(0)},
			tm:   eval.Template{Thinking: ptr(false), Kwargs: map[string]any{"x": 1}},
			present: map[string]any{"temperature": 0.6, "top_k": 0.0, "min_p": 0.0, "seed": 0.0,
				"chat_template_kwargs": map[string]any{"enable_thinking": false, "x": 1.0}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(Build("m", []eval.Message{{Role: "user", Content: "q"}}, tc.d, tc.tm))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.present {
				if g, ok := got[k]; !ok || !reflect.DeepEqual(g, v) {
					t.Errorf("%s = %v (present %v), want %v in %s", k, g, ok, v, b)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s is sent: %s", k, b)
				}
			}
		})
	}
}

func baseRequest() ChatRequest {
	return Build("m", []eval.Message{{Role: "user", Content: "q"}},
		eval.Decoding{TopP: 1, MaxTokens: 16, Seed: ptr(1)}, eval.Template{System: "S", Thinking: ptr(false)})
}

// requestVariants changes one field each.
func requestVariants() map[string]func(*ChatRequest) {
	return map[string]func(*ChatRequest){
		"model":           func(r *ChatRequest) { r.Model = "other" },
		"messages":        func(r *ChatRequest) { r.Messages = append(r.Messages, WireMessage{"user", "again"}) },
		"message content": func(r *ChatRequest) { r.Messages = []WireMessage{{"system", "S"}, {"user", "Q"}} },
		"temperature":     func(r *ChatRequest) { r.Temperature = 0.1 },
		"top_p":           func(r *ChatRequest) { r.TopP = 0.5 },
		"max_tokens":      func(r *ChatRequest) { r.MaxTokens = 17 },
		"seed":            func(r *ChatRequest) { r.Seed = ptr(2) },
		"no seed":         func(r *ChatRequest) { r.Seed = nil },
		"stop":            func(r *ChatRequest) { r.Stop = []string{"x"} },
		"top_k":           func(r *ChatRequest) { r.TopK = ptr(5) },
		"min_p":           func(r *ChatRequest) { r.MinP = ptr(0.1) },
		"repetition":      func(r *ChatRequest) { r.RepetitionPenalty = ptr(1.2) },
		"presence":        func(r *ChatRequest) { r.PresencePenalty = ptr(0.1) },
		"frequency":       func(r *ChatRequest) { r.FrequencyPenalty = ptr(0.1) },
		"response_format": func(r *ChatRequest) { r.ResponseFormat = &ResponseFormat{Type: "json_object"} },
		"chat_template":   func(r *ChatRequest) { r.ChatTemplate = "t" },
		"kwargs":          func(r *ChatRequest) { r.ChatTemplateKwargs = map[string]any{"enable_thinking": true} },
	}
}

func TestCacheKey(t *testing.T) {
	base := CacheKey("run/ft", baseRequest())
	if len(base) != 64 {
		t.Fatalf("CacheKey = %q, want a sha256 in hex", base)
	}
	if again := CacheKey("run/ft", baseRequest()); again != base {
		t.Fatal("CacheKey is not stable")
	}
	if CacheKey("run/base", baseRequest()) == base {
		t.Error("CacheKey ignores the scope")
	}
	for name, change := range requestVariants() {
		t.Run(name, func(t *testing.T) {
			r := baseRequest()
			change(&r)
			if CacheKey("run/ft", r) == base {
				t.Errorf("CacheKey ignores %s", name)
			}
		})
	}
	t.Run("streaming does not matter", func(t *testing.T) {
		r := baseRequest()
		r.Stream, r.StreamOptions = true, &StreamOptions{IncludeUsage: true}
		if CacheKey("run/ft", r) != base {
			t.Error("a streamed request has another key: switching stream on would pay for every answer again")
		}
	})
}

func TestParamsFingerprint(t *testing.T) {
	base := ParamsFingerprint(baseRequest())
	if len(base) != 16 {
		t.Fatalf("ParamsFingerprint = %q", base)
	}
	for name, change := range requestVariants() {
		t.Run(name, func(t *testing.T) {
			r := baseRequest()
			change(&r)
			ignored := name == "model" || name == "messages" || name == "message content"
			if got := ParamsFingerprint(r); (got == base) != ignored {
				t.Errorf("ParamsFingerprint changed = %v, want %v", got != base, !ignored)
			}
		})
	}
	t.Run("streaming", func(t *testing.T) {
		r := baseRequest()
		r.Stream, r.StreamOptions = true, &StreamOptions{IncludeUsage: true}
		if ParamsFingerprint(r) != base {
			t.Error("streaming changes the fingerprint")
		}
	})
}
