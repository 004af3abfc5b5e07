package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// TestSuiteFromDirectory reads a suite from a directory of files in two
// formats through a preset: every dataset file is uploaded and read, ids
// and duplicates are checked across files, and other files are left out.
func TestSuiteFromDirectory(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "mmlu")
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(data, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("astronomy.csv", "question,A,B,C,D,answer\nWhich planet is closest to the Sun?,Venus,Mercury,Mars,Earth,B\nHow many moons does Mars have?,0,1,2,3,C\n"+
		"\"Which of these planets stays closest to the Sun, on average, over a full year?\",Venus,Mercury,Mars,Earth,B\n")
	// The same words with other case and punctuation: a near-duplicate.
	write("astro2.csv", "question,A,B,C,D,answer\nwhich of these planets stays closest to the sun -- on average -- over a full year,Venus,Mercury,Mars,Earth,B\n")
	// The same question again in another file is a duplicate.
	write("physics/units.json", `[{"question": "Which planet is closest to the Sun?", "A": "Venus", "B": "Mercury", "C": "Mars", "D": "Earth", "answer": "B"},
 {"question": "What is the SI unit of force?", "A": "Joule", "B": "Watt", "C": "Newton", "D": "Pascal", "answer": "C"}]`)
	write("README.md", "not a dataset")
	write(".hidden.csv", "question,A,B,C,D,answer\nskipped?,a,b,c,d,A\n")

	sys := runSimSpec(t, dir, "dirs", llmsim.New(llmsim.Options{Seed: 1}),
		"  - {name: mmlu, path: mmlu/, preset: mmlu, metrics: [mc_acc]}\n")
	out := writeReport(t, sys, "dirs", "json")
	rep := readReport(t, out)
	if len(rep.Suites) != 1 || rep.Suites[0].Samples != 4 || rep.Suites[0].Duplicates != 2 {
		t.Fatalf("suites %+v", rep.Suites)
	}
	var near []string
	for _, d := range rep.Suites[0].Dropped {
		if d.Similarity > 0 {
			near = append(near, fmt.Sprintf("%s~%s@%.2f", d.Source, d.Twin, d.Similarity))
		}
	}
	// Files are read in name order, so astro2.csv's question is kept.
	if len(near) != 1 || !strings.HasPrefix(near[0], "mmlu/astronomy.csv:4~") || !strings.HasSuffix(near[0], "@1.00") {
		t.Errorf("near duplicates %q", near)
	}
	for _, m := range rep.Metrics {
		if m.N != 4 {
			t.Errorf("metric %+v", m)
		}
	}

	// A directory named without its slash, and a file named with one, are
	// refused with a way out.
	for path, want := range map[string]string{"mmlu": "end the path with /", "mmlu/astronomy.csv/": "ends with /"} {
		spec := filepath.Join(dir, "run.yaml")
		if err := os.WriteFile(spec, []byte(fmt.Sprintf("run: dirs\nvariants: [{name: base, base_url: http://x/v1, model: m}]\nsuites: [{name: s, path: %s, metrics: [mc_acc]}]\n", path)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := eval.LoadSpec(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("path %q: %v", path, err)
		}
	}
}
