package render

import (
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// TestSandboxShown: both renderings show the code sandboxes after the
// metrics, the degraded one marked, and the terminal's summary says when
// code ran in less than the full sandbox; a run without code shows no
// section.
func TestSandboxShown(t *testing.T) {
	r := fixture()
	r.Sandbox = []document.Sandbox{
		{CodeSandbox: eval.CodeSandbox{Kind: "userns+mntns+netns+pidns+nobody+nnp+rlimit+nproc", UID: 65534, Network: "none", Filesystem: "private", Full: true}, Scores: 6},
		{CodeSandbox: eval.CodeSandbox{Kind: "nobody+nnp+rlimit+nproc", UID: 65534, Network: "host", Filesystem: "host"}, Scores: 4},
	}
	md := render(t, Markdown, r)
	for _, want := range []string{
		"### Code sandbox\n\ncode_pass ran each answer's code in these sandboxes.",
		"| userns+mntns+netns+pidns+nobody+nnp+rlimit+nproc | 65534 | none | private | yes | 6 |",
		"| nobody+nnp+rlimit+nproc | 65534 | host | host | **no (degraded)** | 4 |",
		"Code ran in less than the full sandbox, or in one not recorded: see Warnings.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if m, d := strings.Index(md, "## Metrics"), strings.Index(md, "### Code sandbox"); m < 0 || d < m || d > strings.Index(md, "## Deltas vs baseline") {
		t.Errorf("the sandbox is not shown with the metrics (at %d, metrics at %d)", d, m)
	}
	html := render(t, HTML, r)
	for _, want := range []string{"<h3>Code sandbox</h3>", `<td class="warn">no (degraded)</td>`, "<td>nobody&#43;nnp&#43;rlimit&#43;nproc</td>"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	const short = "code_pass: 4 of 10 code scores ran their code in a degraded or unrecorded sandbox"
	if sum := render(t, Summary, r); !strings.Contains(sum, short) {
		t.Errorf("the summary lacks %q:\n%s", short, sum)
	}
	r.Sandbox = r.Sandbox[:1]
	if sum := render(t, Summary, r); strings.Contains(sum, "sandbox") {
		t.Errorf("the summary of a run in the full sandbox mentions it:\n%s", sum)
	}
	for name, f := range map[string]renderer{"markdown": Markdown, "html": HTML} {
		if out := render(t, f, fixture()); strings.Contains(out, "Code sandbox") {
			t.Errorf("%s: a run without code shows a sandbox section", name)
		}
	}
}
