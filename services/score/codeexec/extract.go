package codeexec

import "strings"

// ExtractCode returns the Python code in a model's answer: the body of the
// first fenced block tagged as Python (```python, ```py, ```python3), else
// of the first untagged one, else the whole answer unchanged (a bare
// completion, whose leading indentation matters). A fence that is never
// closed runs to the end of the answer. The result is always a substring
// of answer.
func ExtractCode(answer string) string {
	untagged := ""
	found := false
	for _, b := range fencedBlocks(answer) {
		switch {
		case isPythonTag(b.tag):
			return b.body
		case b.tag == "" && !found:
			untagged, found = b.body, true
		}
	}
	if found {
		return untagged
	}
	return answer
}

type block struct {
	tag, body string
}

// fencedBlocks splits s into its backtick-fenced blocks. A fence is a line
// of at least three backticks, indented or not, with an optional info
// string after the opening one; the closing fence has at least as many
// backticks and nothing else.
func fencedBlocks(s string) []block {
	var (
		blocks []block
		open   bool
		ticks  int
		tag    string
		start  int
	)
	pos := 0
	for line := range strings.Lines(s) {
		lineStart := pos
		pos += len(line)
		t := strings.TrimSpace(line)
		n := len(t) - len(strings.TrimLeft(t, "`"))
		if n < 3 {
			continue
		}
		if !open {
			info := t[n:]
			if strings.Contains(info, "`") {
				continue // inline code such as ```x```, not a fence
			}
			open, ticks, start = true, n, pos
			tag = strings.ToLower(firstWord(info))
			continue
		}
		if n >= ticks && n == len(t) {
			blocks = append(blocks, block{tag: tag, body: s[start:lineStart]})
			open = false
		}
	}
	if open {
		blocks = append(blocks, block{tag: tag, body: s[start:]})
	}
	return blocks
}

func firstWord(s string) string {
	if f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '{' || r == ',' }); len(f) > 0 {
		return f[0]
	}
	return ""
}

func isPythonTag(tag string) bool {
	switch tag {
	case "python", "py", "python3", "py3":
		return true
	}
	return false
}
