package main

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// repoRoot is the monorepo's root, two levels above this package.
const repoRoot = "../.."

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mentionsFlag reports whether text names --name (or -name, as Go's flag
// package also reads it) as a flag, not as the prefix of a longer one
// (--intake-max for --intake-max-age).
func mentionsFlag(text, name string) bool {
	return regexp.MustCompile(`(^|[^a-z0-9-])--?` + regexp.QuoteMeta(name) + `($|[^a-z0-9-])`).MatchString(text)
}

// mentionsLongFlag reports whether text names --name, by its long name: a
// shorthand (-f, -c) is found in every example, so it shows nothing.
func mentionsLongFlag(text, name string) bool {
	return regexp.MustCompile(`(^|[^a-z0-9-])--` + regexp.QuoteMeta(name) + `($|[^a-z0-9-])`).MatchString(text)
}

// commandSections are the README sections of the assay commands that have
// one of their own, by heading: a flag of such a command is documented in
// its section, not merely somewhere (a --run documented for export says
// nothing of plan's). The other commands are looked for in the whole README.
var commandSections = map[string]string{
	"checkpoint":    "### A new checkpoint",
	"contamination": "### Train/test contamination: `assay contamination`",
	"export":        "### Exporting a run: `assay export`",
	"plan":          "### Planning a run: `assay plan`",
	"replay":        "### Replaying with a new judge or new metrics",
	"retry":         "### Asking again what failed: `assay retry`",
	"score":         "### Scoring existing outputs: `assay score`",
}

// sharedFlags are documented once, in a paragraph for every command that
// takes them, so a command's own section need not repeat them: they are
// looked for in the whole README.
var sharedFlags = []string{
	// The table of environment variables gives ASSAY_NATS and
	// ASSAY_STARTUP_TIMEOUT with their flags and the commands reading them.
	"nats", "startup-timeout",
	// "NATS credentials and TLS", under Running assay for a team, lists
	// the commands that take them.
	"nats-creds", "nats-nkey", "nats-user", "nats-password-file", "nats-tls-ca", "nats-tls-cert", "nats-tls-key",
	// When calls fail: the CLI's preflight check, which every command
	// that calls an endpoint makes.
	"no-preflight",
}

// undocumentedFlags are the flags --help shows that the README does not
// document where this test looks for them, as "command --flag", each with
// what is missing. The README should gain them; the test fails once one is
// documented, so that its entry is removed.
var undocumentedFlags = map[string]string{}

// readmeSection is the README's section under heading, up to the next
// heading of its level or above; headings inside code blocks (shell
// comments) do not count.
func readmeSection(doc, heading string) (string, bool) {
	level := strings.IndexFunc(heading, func(r rune) bool { return r != '#' })
	var b strings.Builder
	in, fenced := false, false
	for line := range strings.Lines(doc) {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "#") {
			l := strings.IndexFunc(line, func(r rune) bool { return r != '#' })
			switch {
			case strings.TrimSuffix(line, "\n") == heading:
				in = true
				continue
			case in && l > 0 && l <= level && strings.HasPrefix(line[l:], " "):
				return b.String(), true
			}
		}
		if in {
			b.WriteString(line)
		}
	}
	return b.String(), in
}

// TestREADMENamesEveryFlag holds the README to the flags --help shows:
// every visible flag of every assay subcommand, by its long name and in
// the command's own section where it has one, and every flag of every
// stage binary is named there, so none is found only by reading --help.
func TestREADMENamesEveryFlag(t *testing.T) {
	doc := readme(t)
	var missing []string
	for key := range undocumentedFlags {
		if name, flag, _ := strings.Cut(key, " --"); !hasFlag(name, flag) {
			t.Errorf("undocumentedFlags lists %s, which --help does not show", key)
		}
	}
	for _, cmd := range newRoot().Commands() {
		if cmd.Hidden || cmd.Name() == "help" || cmd.Name() == "completion" {
			continue
		}
		own := doc
		if heading, ok := commandSections[cmd.Name()]; ok {
			if own, ok = readmeSection(doc, heading); !ok {
				t.Fatalf("README.md has no section %q for assay %s", heading, cmd.Name())
			}
		}
		visibleFlags(cmd, func(f *pflag.Flag) {
			key := cmd.Name() + " --" + f.Name
			text := own
			if slices.Contains(sharedFlags, f.Name) {
				text = doc
			}
			_, known := undocumentedFlags[key]
			switch ok := mentionsLongFlag(text, f.Name); {
			case ok && known:
				t.Errorf("README.md documents assay %s now: remove it from undocumentedFlags", key)
			case !ok && !known:
				missing = append(missing, "assay "+key)
			}
		})
	}
	for bin, names := range stageFlags(t) {
		for _, name := range names {
			if !mentionsFlag(doc, name) {
				missing = append(missing, bin+" --"+name)
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("README.md does not name these flags of --help (by their long names, in their command's section where it has one):\n  %s", strings.Join(missing, "\n  "))
	}
}

// hasFlag reports whether assay command shows --flag in its --help.
func hasFlag(command, flag string) bool {
	for _, cmd := range newRoot().Commands() {
		if cmd.Name() == command {
			f := cmd.Flags().Lookup(flag)
			return f != nil && !f.Hidden
		}
	}
	return false
}

// TestREADMESection: a section runs to the next heading of its level or
// above, past a deeper one and past a shell comment in a code block.
func TestREADMESection(t *testing.T) {
	doc := "## A\na1\n### B\nb1\n```\n# a comment\n```\n#### C\nc1\n### D\nd1\n## E\ne1\n"
	for _, tc := range []struct{ heading, want string }{
		{"## A", "a1\n### B\nb1\n```\n# a comment\n```\n#### C\nc1\n### D\nd1\n"},
		{"### B", "b1\n```\n# a comment\n```\n#### C\nc1\n"},
		{"### D", "d1\n"},
		{"## E", "e1\n"},
	} {
		if got, ok := readmeSection(doc, tc.heading); !ok || got != tc.want {
			t.Errorf("section %q = %q, %v; want %q", tc.heading, got, ok, tc.want)
		}
	}
	if _, ok := readmeSection(doc, "## Z"); ok {
		t.Error("found a section that is not there")
	}
}

func visibleFlags(cmd *cobra.Command, fn func(*pflag.Flag)) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "help" {
			fn(f)
		}
	})
}

// stageFlags are the flags of each stage binary: those every binary shares
// (pkg/stage) and those its main.go adds, read from its source.
func stageFlags(t *testing.T) map[string][]string {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join(repoRoot, "services", "*", "cmd", "assay-*", "main.go"))
	if err != nil || len(mains) == 0 {
		t.Fatalf("no stage binaries under services/*/cmd: %v", err)
	}
	out := map[string][]string{}
	for _, m := range mains {
		bin := filepath.Base(filepath.Dir(m))
		fs := flag.NewFlagSet(bin, flag.ContinueOnError)
		var f stage.Flags
		f.Register(fs, bin)
		fs.VisitAll(func(fl *flag.Flag) { out[bin] = append(out[bin], fl.Name) })
		file, err := parser.ParseFile(token.NewFileSet(), m, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !isFlagDefiner(sel.Sel.Name) {
				return true
			}
			// fs.IntVar(&v, "name", …) or fs.Int("name", …).
			for _, a := range call.Args[:min(2, len(call.Args))] {
				if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					name, _ := strconv.Unquote(lit.Value)
					out[bin] = append(out[bin], name)
					break
				}
			}
			return true
		})
	}
	return out
}

func isFlagDefiner(name string) bool {
	switch strings.TrimSuffix(name, "Var") {
	case "Bool", "Int", "Int64", "Uint", "Uint64", "Float64", "String", "Duration", "Func", "":
		return name != ""
	}
	return false
}

// envCallee are the functions through which the code reads a variable.
var envCallee = []string{"Getenv", "LookupEnv", "envOr", "getenv", "or"}

// internalVariables are read by the code but set only by assay itself: the
// code sandbox marks the process it re-executes as its helper.
var internalVariables = []string{"ASSAY_CODEEXEC_SANDBOX"}

// TestREADMEAndHelpListEveryVariable holds the README's table of
// environment variables and assay --help to the ASSAY_* variables the
// code reads anywhere in the repository: a variable added to the code but
// to neither is found here.
func TestREADMEAndHelpListEveryVariable(t *testing.T) {
	vars := readVariables(t)
	if len(vars) < 10 {
		t.Fatalf("found only %v: the search of the sources is broken", vars)
	}
	table := envTable(t, readme(t))
	var help strings.Builder
	root := newRoot()
	root.SetOut(&help)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if !strings.Contains(table, "`"+v+"`") {
			t.Errorf("README.md's table of environment variables does not list %s, which the code reads", v)
		}
		if !regexp.MustCompile(`\b` + v + `\b`).MatchString(help.String()) {
			t.Errorf("assay --help does not list %s, which the code reads", v)
		}
	}
}

// envTable is the README's table of environment variables.
func envTable(t *testing.T, doc string) string {
	t.Helper()
	const head = "| variable | read by | for |"
	i := strings.Index(doc, head)
	if i < 0 {
		t.Fatalf("README.md has no table headed %q", head)
	}
	rest := doc[i:]
	if end := strings.Index(rest, "\n\n"); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

// readVariables are the ASSAY_* variables the non-test sources read: a
// literal or a constant given to [os.Getenv], [os.LookupEnv] or the
// helpers around them.
func readVariables(t *testing.T) []string {
	t.Helper()
	consts := map[string]string{}
	var args []ast.Expr
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != repoRoot && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if i < len(n.Values) {
						if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[name.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			case *ast.CallExpr:
				var callee string
				switch f := n.Fun.(type) {
				case *ast.Ident:
					callee = f.Name
				case *ast.SelectorExpr:
					callee = f.Sel.Name
				}
				if slices.Contains(envCallee, callee) && len(n.Args) > 0 {
					args = append(args, n.Args[0])
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, a := range args {
		var v string
		switch a := a.(type) {
		case *ast.BasicLit:
			v, _ = strconv.Unquote(a.Value)
		case *ast.Ident:
			v = consts[a.Name]
		case *ast.SelectorExpr:
			v = consts[a.Sel.Name]
		}
		if strings.HasPrefix(v, "ASSAY_") && !slices.Contains(vars, v) && !slices.Contains(internalVariables, v) {
			vars = append(vars, v)
		}
	}
	slices.Sort(vars)
	return vars
}
