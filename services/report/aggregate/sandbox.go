package aggregate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// codeMetric is the metric whose scores ran generated code.
const codeMetric = "code_pass"

// countSandbox counts the sandbox of a score that ran code.
func (c *Collector) countSandbox(s *eval.Score) {
	if _, ran := s.Metrics[codeMetric]; !ran {
		return
	}
	sb := eval.CodeSandbox{Kind: document.SandboxUnrecorded, UID: -1}
	if s.Sandbox != nil {
		sb = *s.Sandbox
	}
	if c.sandboxCounts == nil {
		c.sandboxCounts = map[eval.CodeSandbox]int{}
	}
	c.sandboxCounts[sb]++
}

// sandboxes lists the code sandboxes in rep, the full ones first, and
// warns of code that ran in less than the full sandbox or in one not
// recorded.
func (c *Collector) sandboxes(rep *document.Report) {
	var total, degraded, unrecorded int
	var kinds []string
	for sb, n := range c.sandboxCounts {
		rep.Sandbox = append(rep.Sandbox, document.Sandbox{CodeSandbox: sb, Scores: n})
		total += n
		switch {
		case sb.Kind == document.SandboxUnrecorded:
			unrecorded += n
		case !sb.Full:
			degraded += n
		}
	}
	slices.SortFunc(rep.Sandbox, func(a, b document.Sandbox) int {
		if a.Full != b.Full {
			if a.Full {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.UID, b.UID), cmp.Compare(a.Network, b.Network), cmp.Compare(a.Filesystem, b.Filesystem))
	})
	for _, sb := range rep.Sandbox {
		if !sb.Full && sb.Kind != document.SandboxUnrecorded {
			kinds = append(kinds, fmt.Sprintf("%s (network %s, filesystem %s)", sb.Kind, sb.Network, sb.Filesystem))
		}
	}
	if degraded > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %d of %d code scores ran their code in a degraded sandbox, %s, not the full one "+
			"(own network and PID namespaces, private read-only filesystem): the code could reach what those allow. "+
			"Run the score service where user namespaces are allowed (or as root) and check its \"code sandbox\" log line",
			codeMetric, degraded, total, strings.Join(kinds, "; ")))
	}
	if unrecorded > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %d of %d code scores do not say which sandbox their code ran in "+
			"(scored by an older score service): re-score the run to record it", codeMetric, unrecorded, total))
	}
}
