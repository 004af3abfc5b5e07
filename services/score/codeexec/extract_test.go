package codeexec

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// humanEvalItem is a code item in HumanEval's shape, written for these
// tests: a prompt with the signature and docstring, the canonical
// completion (a bare, indented body), the test defining check, and the
// entry point.
type humanEvalItem struct {
	name, prompt, solution, test, entryPoint string
}

var humanEvalItems = []humanEvalItem{
	{
		name: "unique",
		prompt: "\n\ndef unique(l: list):\n" +
			"    \"\"\"Return sorted unique elements in a list\n    >>> unique([5, 3, 5, 2, 3, 3, 9, 0, 123])\n    [0, 2, 3, 5, 9, 123]\n    \"\"\"\n",
		solution:   "    return sorted(list(set(l)))\n",
		test:       "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate([5, 3, 5, 2, 3, 3, 9, 0, 123]) == [0, 2, 3, 5, 9, 123]\n    assert candidate([]) == []\n",
		entryPoint: "unique",
	},
	{
		// A body whose lines sit at three depths: a lost indent anywhere
		// breaks it.
		name: "below_zero",
		prompt: "from typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n" +
			"    \"\"\" Detect if the balance of an account that starts at zero falls below zero.\n    >>> below_zero([1, 2, -4, 5])\n    True\n    \"\"\"\n",
		solution:   "    balance = 0\n\n    for op in operations:\n        balance += op\n        if balance < 0:\n            return True\n\n    return False\n",
		test:       "def check(candidate):\n    assert candidate([]) == False\n    assert candidate([1, 2, -3, 1, 2, -3]) == False\n    assert candidate([1, 2, -4, 5, 6]) == True\n",
		entryPoint: "below_zero",
	},
	{
		// The entry point relies on a helper the prompt defines (as
		// HumanEval/38 does).
		name: "decode_shift",
		prompt: "\n\ndef encode_shift(s: str):\n    \"\"\"returns encoded string by shifting every character by 5 in the alphabet.\"\"\"\n" +
			"    return \"\".join([chr(((ord(ch) + 5 - ord(\"a\")) % 26) + ord(\"a\")) for ch in s])\n\n\n" +
			"def decode_shift(s: str):\n    \"\"\"takes as input string encoded with encode_shift function. Returns decoded string.\"\"\"\n",
		solution:   "    return \"\".join([chr(((ord(ch) - 5 - ord(\"a\")) % 26) + ord(\"a\")) for ch in s])\n",
		test:       "def check(candidate):\n    for s in ['abc', 'hello', 'xyz']:\n        assert candidate(encode_shift(s)) == s\n",
		entryPoint: "decode_shift",
	},
}

// wholeFunction is the item's solution as a chat model often gives it:
// the whole function, signature and all.
func (it humanEvalItem) wholeFunction() string {
	i := strings.Index(it.prompt, "def "+it.entryPoint)
	sig, _, _ := strings.Cut(it.prompt[i:], "\n")
	return sig + "\n" + it.solution
}

// answerForms are the ways an answer reaches scoring: the content the
// server sends and the reasoning it reports apart (reasoning_content).
func answerForms(it humanEvalItem) []struct{ name, content, reasoning string } {
	fenced := "Here is the implementation:\n\n```python\n" + it.wholeFunction() + "```\n\nIt passes the examples."
	return []struct{ name, content, reasoning string }{
		{"bare completion", it.solution, ""},
		{"bare completion after a think block", "<think>\nThe body needs one loop.\n</think>\n\n" + it.solution, ""},
		{"bare completion after an empty think block", "<think>\n\n</think>\n\n" + it.solution, ""},
		// Qwen3's template opens the block in the prompt.
		{"bare completion after a lone close", "Plan the body.\n</think>\n\n" + it.solution, ""},
		{"bare completion with reasoning_content", "\n\n" + it.solution, "The body needs one loop."},
		{"fenced whole function", fenced, ""},
		{"fenced after a think block", "<think>plan</think>\n\n" + fenced, ""},
		{"fenced with reasoning_content", fenced, "plan"},
	}
}

// TestHumanEvalAnswersRun sends each item's canonical solution through the
// path an answer takes: an OpenAI-compatible server (plain and streamed),
// the LLM client that splits reasoning off, then ExtractCode,
// HumanEvalProgram and python3. Every form must pass: a bare completion
// keeps the indentation that makes it code.
func TestHumanEvalAnswersRun(t *testing.T) {
	t.Parallel()
	if _, err := findHost(); errors.Is(err, ErrNoPython) {
		t.Skip("python3 is not on PATH; install it (apt-get install python3)")
	}
	client := llm.New()
	for _, it := range humanEvalItems {
		for _, form := range answerForms(it) {
			for _, stream := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/stream=%v", it.name, form.name, stream), func(t *testing.T) {
					t.Parallel()
					srv := httptest.NewServer(answering(form.content, form.reasoning))
					t.Cleanup(srv.Close)
					ep := llm.Endpoint{BaseURL: srv.URL + "/v1", Concurrency: 1, Stream: stream}
					req := llm.Build("m", []eval.Message{{Role: "user", Content: it.prompt}}, eval.Decoding{TopP: 1, MaxTokens: 512}, eval.Template{})
					resp, err := client.Chat(t.Context(), ep, req, llm.RetryPolicy{MaxAttempts: 1}, "")
					if err != nil {
						t.Fatal(err)
					}
					if strings.Contains(form.content, it.solution) && !strings.Contains(form.content, "```") && resp.Output != it.solution {
						t.Errorf("answer %q, want the completion byte for byte: %q", resp.Output, it.solution)
					}
					res, err := Run(t.Context(), HumanEvalProgram(it.prompt, ExtractCode(resp.Output), it.test, it.entryPoint), Limits{})
					if err != nil {
						t.Fatal(err)
					}
					if !res.Passed {
						t.Errorf("answer %q does not pass: %s %s", resp.Output, res.Status, res.Exception())
					}
				})
			}
		}
	}
	t.Run("a wrong body fails", func(t *testing.T) {
		t.Parallel()
		it := humanEvalItems[0]
		answer, _ := llm.SplitReasoning("<think>x</think>\n\n    return l\n")
		res, err := Run(t.Context(), HumanEvalProgram(it.prompt, ExtractCode(answer), it.test, it.entryPoint), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Passed {
			t.Error("a wrong completion passed: the items do not test anything")
		}
	})
}

// answering serves one answer, with its reasoning apart when given, as a
// JSON body or, when asked, as a stream of a few chunks.
func answering(content, reasoning string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req llm.ChatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(llm.ChatResponse{Model: req.Model, Choices: []llm.ChatChoice{{
				Message: llm.ReplyMessage{Role: "assistant", Content: content, ReasoningContent: reasoning}, FinishReason: "stop"}}})
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(d llm.ReplyMessage, finish *string) {
			b, _ := json.Marshal(llm.ChatChunk{Model: req.Model, Choices: []llm.ChunkChoice{{Delta: d, FinishReason: finish}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		if reasoning != "" {
			send(llm.ReplyMessage{ReasoningContent: reasoning}, nil)
		}
		// Chunks cut anywhere, tags and indentation included, as tokens
		// fall.
		for len(content) > 0 {
			n := min(len(content), 5)
			send(llm.ReplyMessage{Content: content[:n]}, nil)
			content = content[n:]
		}
		stop := "stop"
		send(llm.ReplyMessage{}, &stop)
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
}
