package document

import "github.com/assay-eval/assay/pkg/eval"

// Sandbox is a code sandbox that scores of code_pass ran their code in,
// with how many did: a run scored by several score replicas, or re-scored
// elsewhere, may list more than one.
type Sandbox struct {
	eval.CodeSandbox
	// Scores counts the code scores whose code ran in it.
	Scores int `json:"scores"`
}

// SandboxUnrecorded is the Kind of the code scores that do not say where
// their code ran (made by a scorer older than the record).
const SandboxUnrecorded = "unrecorded"
