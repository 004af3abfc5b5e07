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
		// Without tags the text is the answer, byte for byte.
		{"only spaces", " \n\t", " \n\t", ""},
		{"no tags", "  The answer is 4.\n", "  The answer is 4.\n", ""},
		{"bare completion", "    return sorted(l)\n", "    return sorted(l)\n", ""},
		{"full block", "<think>2+2=4</think>\n\nThe answer is 4.", "The answer is 4.", "2+2=4"},
		// Whitespace on the closing tag's line is the answer's indentation.
		{"text on the closing tag's line", "<think>\n  plan  \n</think>  answer  ", "  answer  ", "plan"},
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
		{"answer then unclosed", "ans <think>tail", "ans ", "tail"},
		{"answer line ends before an unclosed trace", "answer\n\n<think>tail", "answer\n", "tail"},
		{"only tags", "<think></think>", "", ""},
		{"stray close after a block", "<think>a</think>b</think>c", "bc", "a"},
		{"nested", "<think>a<think>b</think>c</think>d", "cd", "a<think>b"},
		{"close in the answer only", "</think>", "", ""},
		// Pieces around a block or a stray tag must not join into a tag.
		{"tag split by a block", "<thi<think>x</think>nk>ok", "ok", "x"},
		{"close split by a stray close", "</think></</think>think>ok", "ok", ""},
		{"unicode", "<think>推理</think>答案 ✓", "答案 ✓", "推理"},
		// Code keeps its indentation and its lines; only the blank lines
		// next to a trace go with it.
		{"bare completion after a trace", "<think>\nsort it\n</think>\n\n    return sorted(l)\n", "    return sorted(l)\n", "sort it"},
		{"trace between lines of code", "def f():\n    x = 1\n\n<think>hmm</think>\n\n    return x\n", "def f():\n    x = 1\n    return x\n", "hmm"},
		{"indented trace line", "    <think>a</think>\n    return x\n", "    return x\n", "a"},
		{"code on the closing tag's line", "    <think>a</think>return x\n", "    return x\n", "a"},
		{"trailing whitespace of a line kept", "x = 1  <think>a</think>\n\n\ny = 2\n", "x = 1  \ny = 2\n", "a"},
		{"blank lines away from the trace kept", "a\n\n\nb<think>x</think>", "a\n\n\nb", "x"},
		{"crlf", "<think>a</think>\r\n\r\n  code\r\n", "  code\r\n", "a"},
		{"stray close on a line of its own", "<think>a</think>x\n\n</think>\n\n  y\n", "x\n  y\n", "a"},
		{"only whitespace after the trace", "<think>a</think>\n \n\t", "", "a"},
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
		// A server that took the trace out leaves the blank lines after it.
		{"server only, blank lines left", "\n\n    return x\n", "thought", "    return x\n", "thought"},
		{"no reasoning, blank lines kept", "\n\n    return x\n", "", "\n\n    return x\n", ""},
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
		"<think>\nplan\n</think>\n\n    return 1\n", "x = 1\n\n<think>a</think>\n\n    y\n", "a\n \n<think>b", "  <think>a</think>  b", "\r\n<think>a</think>\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		answer, reasoning := SplitReasoning(in)
		if strings.Contains(answer, thinkOpen) || strings.Contains(answer, thinkClose) {
			t.Fatalf("answer %q of %q keeps a tag", answer, in)
		}
		if reasoning != strings.TrimSpace(reasoning) {
			t.Fatalf("untrimmed reasoning %q", reasoning)
		}
		if !strings.Contains(in, thinkOpen) && !strings.Contains(in, thinkClose) {
			if answer != in || reasoning != "" {
				t.Fatalf("text without tags changed: %q -> %q, %q", in, answer, reasoning)
			}
		}
		// Only whitespace goes with the traces: the answer's text is what
		// is left when the traces and tags are cut out.
		if got, want := noSpace(answer), noSpace(cutTraces(in)); got != want {
			t.Fatalf("answer %q of %q lost or gained text: %q, want %q", answer, in, got, want)
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

// noSpace drops the whitespace SplitReasoning may remove.
func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (isSpace(byte(r)) || r == '\n') {
			return -1
		}
		return r
	}, s)
}

// cutTraces is SplitReasoning's answer without its care for whitespace:
// the traces and then every tag cut out.
func cutTraces(s string) string {
	var ans strings.Builder
	if c := strings.Index(s, thinkClose); c >= 0 {
		if o := strings.Index(s, thinkOpen); o < 0 || c < o {
			s = s[c+len(thinkClose):]
		}
	}
	for {
		o := strings.Index(s, thinkOpen)
		if o < 0 {
			ans.WriteString(s)
			break
		}
		ans.WriteString(s[:o])
		c := strings.Index(s[o:], thinkClose)
		if c < 0 {
			break
		}
		s = s[o+c+len(thinkClose):]
	}
	out := ans.String()
	for strings.Contains(out, thinkOpen) || strings.Contains(out, thinkClose) {
		out = strings.ReplaceAll(out, thinkOpen, "")
		out = strings.ReplaceAll(out, thinkClose, "")
	}
	return out
}
