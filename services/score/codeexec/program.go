package codeexec

import (
	"regexp"
	"strings"
)

// HumanEvalProgram assembles a HumanEval test program the way the
// benchmark's harness does: prompt, completion, the test (which defines
// check) and a call of check on the entry point.
//
// A chat model often answers with the whole function rather than its body.
// When completion defines entryPoint at the top level, the prompt's own
// definition is dropped and only what the prompt has before it is kept:
// its imports and any helper functions the entry point relies on (as in
// HumanEval/38, whose decode_cyclic calls the prompt's encode_cyclic).
func HumanEvalProgram(prompt, completion, test, entryPoint string) string {
	head := prompt
	if definesFunc(completion, entryPoint) {
		head = promptBefore(prompt, entryPoint)
	}
	return head + completion + "\n\n" + test + "\n\ncheck(" + entryPoint + ")\n"
}

// MBPPProgram assembles an MBPP test program: the code, the benchmark's
// setup code, then its assertions, one a line.
func MBPPProgram(code, setup string, tests []string) string {
	var b strings.Builder
	line := func(s string) {
		if s == "" {
			return
		}
		b.WriteString(s)
		if !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	line(code)
	line(setup)
	for _, t := range tests {
		line(t)
	}
	return b.String()
}

// defRE finds a top-level definition of a function (name filled in).
func defRE(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^(?:async[ \t]+)?def[ \t]+` + regexp.QuoteMeta(name) + `[ \t]*\(`)
}

func definesFunc(code, name string) bool {
	return name != "" && defRE(name).MatchString(code)
}

// promptBefore is the prompt up to its definition of name, or, when it has
// none, its top-level import lines.
func promptBefore(prompt, name string) string {
	if loc := defRE(name).FindStringIndex(prompt); loc != nil {
		return prompt[:loc[0]]
	}
	var b strings.Builder
	for line := range strings.Lines(prompt) {
		if strings.HasPrefix(line, "import ") || strings.HasPrefix(line, "from ") {
			b.WriteString(line)
			if !strings.HasSuffix(line, "\n") {
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}
