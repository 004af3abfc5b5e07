package render

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/assay-eval/assay/services/report/document"
)

// sandboxIntro heads the code sandbox table in both renderings.
const sandboxIntro = "code_pass ran each answer's code in these sandboxes. The full sandbox has its own network and PID namespaces " +
	"and a private read-only filesystem, and never runs code as root; any other is degraded."

// sandboxTable lists the code sandboxes, marking the ones short of the
// full sandbox.
func sandboxTable(r *document.Report) table {
	var rows [][]string
	for _, s := range r.Sandbox {
		uid, full := strconv.Itoa(s.UID), "yes"
		if s.Kind == document.SandboxUnrecorded {
			uid, full = "", "unknown"
		} else if !s.Full {
			full = "no (degraded)"
		}
		rows = append(rows, []string{s.Kind, uid, orNone(s.Network), orNone(s.Filesystem), full, itoa(s.Scores)})
	}
	t := newTable([]string{"sandbox", "uid", "network", "filesystem", "full sandbox", "code scores"}, rows)
	for i, s := range r.Sandbox {
		if !s.Full {
			t.mark(i, 4, markWarn)
			t.Notes = []string{"Code ran in less than the full sandbox, or in one not recorded: see Warnings."}
		}
	}
	return t
}

// writeSandbox tells the terminal when code ran in less than the full
// sandbox: the report's warnings say more.
func writeSandbox(b *bytes.Buffer, r *document.Report) {
	var short, total int
	for _, s := range r.Sandbox {
		total += s.Scores
		if !s.Full {
			short += s.Scores
		}
	}
	if short > 0 {
		fmt.Fprintf(b, "\ncode_pass: %d of %d code scores ran their code in a degraded or unrecorded sandbox: see the report's warnings\n", short, total)
	}
}
