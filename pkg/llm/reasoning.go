package llm

import "strings"

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// SplitReasoning separates a model's final answer from its reasoning trace.
// It handles complete <think>…</think> blocks anywhere in the text, a trace
// whose opening tag was part of the prompt (Qwen3 templates: the text starts
// with the reasoning and a lone </think>), and a trace cut off before its
// closing tag (the answer is then empty: the model never got to it).
func SplitReasoning(text string) (answer, reasoning string) {
	if !strings.Contains(text, thinkOpen) && !strings.Contains(text, thinkClose) {
		return strings.TrimSpace(text), ""
	}
	var ans, rea []string
	rest := text
	// A lone closing tag before any opening tag ends a trace begun in the
	// prompt.
	if c := strings.Index(rest, thinkClose); c >= 0 {
		if o := strings.Index(rest, thinkOpen); o < 0 || c < o {
			rea = append(rea, rest[:c])
			rest = rest[c+len(thinkClose):]
		}
	}
	for {
		o := strings.Index(rest, thinkOpen)
		if o < 0 {
			ans = append(ans, rest)
			break
		}
		ans = append(ans, rest[:o])
		rest = rest[o+len(thinkOpen):]
		c := strings.Index(rest, thinkClose)
		if c < 0 {
			rea = append(rea, rest)
			break
		}
		rea = append(rea, rest[:c])
		rest = rest[c+len(thinkClose):]
	}
	return strings.TrimSpace(stripTags(joinNonEmpty(ans, ""))), strings.TrimSpace(joinNonEmpty(rea, "\n"))
}

// stripTags removes stray tags from an answer. It repeats because removing
// one can join its neighbours into another ("<thi" + "nk>" around a block,
// "</</think>think>"), and an answer must never carry a tag downstream.
func stripTags(s string) string {
	for strings.Contains(s, thinkOpen) || strings.Contains(s, thinkClose) {
		s = strings.ReplaceAll(s, thinkOpen, "")
		s = strings.ReplaceAll(s, thinkClose, "")
	}
	return s
}

func joinNonEmpty(parts []string, sep string) string {
	var keep []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}
