// Package demo is the bundled demo: a run spec and six suites written for
// assay (business extraction to JSON, Chinese and English QA, multiple
// choice, math word problems, safety probes and a writing regression set).
package demo

import (
	"embed"
	"path"
)

//go:embed run.yaml suites/*.jsonl
var files embed.FS

// SpecFile is the demo run spec's name, for error messages.
const SpecFile = "demo/run.yaml"

// Spec returns the demo run spec (YAML).
func Spec() []byte {
	b, err := files.ReadFile("run.yaml")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

// Suite returns a bundled suite file by the path the spec names.
func Suite(p string) ([]byte, error) { return files.ReadFile(path.Clean(p)) }
