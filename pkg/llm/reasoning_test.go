package llm

import (
	"strings"
	"testing"
)

func TestSplitReasoning(t *testing.T) {
	for _, tc := range []struct {
		name, in          string
		answer, reasoning string
	}{
		{"empty", "", "", ""},
		{"only spaces", " \n\t", "", ""},
		{"no tags", "  The answer is 4.\n", "The answer is 4.", ""},
		{"full block", "<think>2+2=4</think>\n\nThe answer is 4.", "The answer is 4.", "2+2=4"},
		{"block trimmed", "<think>\n  plan  \n</think>  answer  ", "answer", "plan"},
		// Qwen3 with thinking off still writes an empty block.
		{"empty block", "<think>\n\n</think>\n\nanswer", "answer", ""},
		{"block in the middle", "Before <think>plan</think> after", "Before  after", "plan"},
		{"several blocks", "<think>a</think>x<think>b</think>y", "xy", "a\nb"},
		{"several blocks, one empty", "<think> </think>x<think>b</think>y", "xy", "b"},
		// Qwen3 templates put <think> in the prompt: the output starts
		// inside the trace.
		{"lone close at start", "plan step 1\nstep 2</think>\n\nanswer", "answer", "plan step 1\nstep 2"},
		{"lone close then a block", "p1</think>ans<think>p2</think>end", "ansend", "p1\np2"},
		{"unclosed", "<think>I was cut off", "", "I was cut off"},
		{"answer then unclosed", "ans <think>tail", "ans", "tail"},
		{"only tags", "<think></think>", "", ""},
		{"stray close after a block", "<think>a</think>b</think>c", "bc", "a"},
		{"nested", "<think>a<think>b</think>c</think>d", "cd", "a<think>b"},
		{"close in the answer only", "</think>", "", ""},
		// Pieces around a block or a stray tag must not join into a tag.
		{"tag split by a block", "<thi<think>x</think>nk>ok", "ok", "x"},
		{"close split by a stray close", "</think></</think>think>ok", "ok", ""},
		{"unicode", "<think>推理</think>答案 ✓", "答案 ✓", "推理"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, r := SplitReasoning(tc.in)
			if a != tc.answer || r != tc.reasoning {
				t.Errorf("SplitReasoning(%q) = %q, %q; want %q, %q", tc.in, a, r, tc.answer, tc.reasoning)
			}
		})
	}
}

func TestSplitWithServerReasoning(t *testing.T) {
	for _, tc := range []struct {
		name, raw, server string
		answer, reasoning string
	}{
		{"neither", "answer", "", "answer", ""},
		{"server only", "answer", "  thought  ", "answer", "thought"},
		{"inline only", "<think>inline</think>answer", "", "answer", "inline"},
		{"both", "<think>inline</think>answer", "server", "answer", "server\ninline"},
		{"server blank", "<think>inline</think>answer", " \n", "answer", "inline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, r := splitWithServerReasoning(tc.raw, tc.server)
			if a != tc.answer || r != tc.reasoning {
				t.Errorf("got %q, %q; want %q, %q", a, r, tc.answer, tc.reasoning)
			}
		})
	}
}

// isSubsequence reports whether sub can be had from s by deleting bytes.
func isSubsequence(sub, s string) bool {
	i := 0
	for j := 0; i < len(sub) && j < len(s); j++ {
		if sub[i] == s[j] {
			i++
		}
	}
	return i == len(sub)
}

func FuzzSplitReasoning(f *testing.F) {
	for _, s := range []string{
		"", "answer", "<think>a</think>b", "a</think>b", "<think>a", "x<think>a</think>y<think>b</think>z",
		"<thi<think>x</think>nk>", "</think></</think>think>", "<think><think></think></think>", "\xe4\xb8<think>x</think>\xad",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		answer, reasoning := SplitReasoning(in)
		if strings.Contains(answer, thinkOpen) || strings.Contains(answer, thinkClose) {
			t.Fatalf("answer %q of %q keeps a tag", answer, in)
		}
		if answer != strings.TrimSpace(answer) || reasoning != strings.TrimSpace(reasoning) {
			t.Fatalf("untrimmed: %q, %q", answer, reasoning)
		}
		if !strings.Contains(in, thinkOpen) && !strings.Contains(in, thinkClose) {
			if answer != strings.TrimSpace(in) || reasoning != "" {
				t.Fatalf("text without tags changed: %q -> %q, %q", in, answer, reasoning)
			}
		}
		// Nothing is invented: the answer and the reasoning are each made
		// by deleting bytes of the input, apart from the newlines that join
		// reasoning blocks, and together they use each byte at most once.
		// Bytes rather than runes: deleting a tag between two halves of an
		// invalid UTF-8 sequence can make a rune that was not there.
		noNL := func(s string) string { return strings.ReplaceAll(s, "\n", "") }
		if !isSubsequence(noNL(answer), noNL(in)) {
			t.Fatalf("answer %q is not cut from %q", answer, in)
		}
		if !isSubsequence(noNL(reasoning), noNL(in)) {
			t.Fatalf("reasoning %q is not cut from %q", reasoning, in)
		}
		var have [256]int
		for _, b := range []byte(noNL(in)) {
			have[b]++
		}
		for _, b := range []byte(noNL(answer + reasoning)) {
			if have[b]--; have[b] < 0 {
				t.Fatalf("byte %q is used more often in %q + %q than in %q", b, answer, reasoning, in)
			}
		}
		// An answer is final: splitting it again finds nothing.
		if a, r := SplitReasoning(answer); a != answer || r != "" {
			t.Fatalf("answer %q splits again into %q, %q", answer, a, r)
		}
	})
}
