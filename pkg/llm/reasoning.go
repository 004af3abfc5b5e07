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
//
// The answer keeps its text byte for byte: a bare code completion's
// indentation is code, and scoring is the caller's to normalise. Text
// without tags is returned unchanged; otherwise only the traces, the tags
// and the whole lines of whitespace directly around them are removed. The
// reasoning is trimmed, its blocks joined by newlines.
func SplitReasoning(text string) (answer, reasoning string) {
	if !strings.Contains(text, thinkOpen) && !strings.Contains(text, thinkClose) {
		return text, ""
	}
	var ans []byte
	var rea []string
	rest := text
	// A lone closing tag before any opening tag ends a trace begun in the
	// prompt.
	if c := strings.Index(rest, thinkClose); c >= 0 {
		if o := strings.Index(rest, thinkOpen); o < 0 || c < o {
			rea = append(rea, rest[:c])
			ans, rest = cutAround(ans, rest[c+len(thinkClose):])
		}
	}
	for {
		o := strings.Index(rest, thinkOpen)
		if o < 0 {
			ans = append(ans, rest...)
			break
		}
		ans = append(ans, rest[:o]...)
		rest = rest[o+len(thinkOpen):]
		c := strings.Index(rest, thinkClose)
		if c < 0 {
			rea = append(rea, rest)
			ans, _ = cutAround(ans, "")
			break
		}
		rea = append(rea, rest[:c])
		ans, rest = cutAround(ans, rest[c+len(thinkClose):])
	}
	return stripTags(ans), strings.TrimSpace(joinNonEmpty(rea, "\n"))
}

// stripTags removes stray tags from an answer, each as a trace is removed.
// It repeats because removing one can join its neighbours into another
// ("<thi" + "nk>" around a block, "</</think>think>"), and an answer must
// never carry a tag downstream.
func stripTags(b []byte) string {
	for {
		s := string(b)
		if !strings.Contains(s, thinkOpen) && !strings.Contains(s, thinkClose) {
			return s
		}
		b = b[:0:0]
		for {
			i, n := nextTag(s)
			if i < 0 {
				b = append(b, s...)
				break
			}
			b = append(b, s[:i]...)
			b, s = cutAround(b, s[i+n:])
		}
	}
}

// nextTag finds the first tag in s: its index and length, or -1.
func nextTag(s string) (int, int) {
	o, c := strings.Index(s, thinkOpen), strings.Index(s, thinkClose)
	switch {
	case o < 0 && c < 0:
		return -1, 0
	case c < 0 || (o >= 0 && o < c):
		return o, len(thinkOpen)
	}
	return c, len(thinkClose)
}

// cutAround joins the answer before a removed trace or tag to the text
// after it. The blank lines directly around the cut go with it, and so does
// its own line when nothing but whitespace is left on it; text on the
// cut's line, indentation included, stays. It looks only at the whitespace
// next to the cut, so that an answer with many tags is cut in linear time.
func cutAround(before []byte, after string) ([]byte, string) {
	// The cut starts its line when only whitespace precedes it on the
	// line, and ends it when only whitespace follows.
	i := len(before)
	for i > 0 && isSpace(before[i-1]) {
		i--
	}
	startsLine := i == 0 || before[i-1] == '\n'
	j := 0
	for j < len(after) && isSpace(after[j]) {
		j++
	}
	endsLine := j == len(after) || after[j] == '\n'
	if !startsLine && !endsLine {
		return before, after
	}
	head, indent := before, []byte(nil)
	if startsLine {
		// Back over the blank lines before the cut's line, to the newline
		// ending the last line with text, which stays.
		k := i
		for k > 0 && (isSpace(before[k-1]) || before[k-1] == '\n') {
			k--
		}
		p := k
		if k > 0 {
			p += strings.IndexByte(string(before[k:i]), '\n') + 1
		}
		head, indent = before[:p], before[i:]
	}
	lineEnd, tail := 0, after
	if endsLine {
		lineEnd = j
		if j < len(after) {
			lineEnd++ // the newline ending the cut's line
		}
		tail = trimBlankLinesBefore(after[lineEnd:])
	}
	switch {
	case startsLine && endsLine:
		// Nothing but whitespace is left on the cut's line: it goes too.
		return head, tail
	case startsLine:
		return append(head, indent...), after
	}
	return before, after[:lineEnd] + tail
}

// trimBlankLinesBefore removes the whole lines of whitespace that start s.
func trimBlankLinesBefore(s string) string {
	k := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\n':
			k = i + 1
		case !isSpace(s[i]):
			return s[k:]
		}
	}
	return ""
}

// isSpace is ASCII whitespace other than a newline.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\v', '\f':
		return true
	}
	return false
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
