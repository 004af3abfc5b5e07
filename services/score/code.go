package score

import (
	"context"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/score/codeexec"
	"github.com/assay-eval/assay/services/score/metric"
)

// CodeRunner runs generated code for the metric code_pass in the sandbox of
// package codeexec, at most slots programs at a time: each is a python3
// process with its own memory allowance, unlike the rest of scoring.
func CodeRunner(slots int, lim codeexec.Limits) metric.CodeRunner {
	sem := make(chan struct{}, max(slots, 1))
	return func(ctx context.Context, answer string, test *eval.CodeTest) (metric.CodeOutcome, error) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return metric.CodeOutcome{}, ctx.Err()
		}
		defer func() { <-sem }()
		res, err := codeexec.Run(ctx, Program(answer, test), lim)
		if err != nil {
			return metric.CodeOutcome{}, err
		}
		// Run probed the sandbox: Probe returns what it ran in.
		iso, err := codeexec.Probe()
		if err != nil {
			return metric.CodeOutcome{}, err
		}
		return metric.CodeOutcome{Passed: res.Passed, Status: string(res.Status), Detail: res.Exception(), Sandbox: Sandbox(iso)}, nil
	}
}

// Sandbox is the short description of iso that a score carries.
func Sandbox(iso codeexec.Isolation) *eval.CodeSandbox {
	sb := &eval.CodeSandbox{Kind: iso.Sandbox, UID: iso.UID, Network: eval.SandboxNone, Filesystem: eval.SandboxHost, Full: iso.Full}
	if iso.Network {
		sb.Network = eval.SandboxHost
	}
	if iso.Private {
		sb.Filesystem = eval.SandboxPrivate
	}
	return sb
}

// Program is the test program for an answer to a code item: the code the
// answer contains (its fenced block, if any), checked HumanEval style when
// the item names an entry point (after the prompt, the code to
// complete), else MBPP style with one assertion a line.
func Program(answer string, test *eval.CodeTest) string {
	code := codeexec.ExtractCode(answer)
	if test.EntryPoint != "" {
		return codeexec.HumanEvalProgram(test.Prompt, code, test.Test, test.EntryPoint)
	}
	return codeexec.MBPPProgram(code, test.Setup, strings.Split(test.Test, "\n"))
}
