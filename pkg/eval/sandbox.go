package eval

// CodeSandbox is how a score's generated code ran (the scoring stage's
// sandbox, from package codeexec), so that a report can say under which
// sandbox code_pass was measured: each score carries it, which holds for
// several score replicas with different sandboxes and across a re-score.
type CodeSandbox struct {
	// Kind names the isolation: the namespaces, nobody, nnp (no new
	// privileges), rlimit and nproc joined by "+", such as
	// "userns+mntns+netns+pidns+nnp+rlimit+nproc" or "nnp+rlimit+nproc".
	Kind string `json:"kind"`
	// UID is the host's user id the program ran as (never 0).
	UID int `json:"uid"`
	// Network is "none" (its own network namespace, not even loopback)
	// or "host" (the host's network).
	Network string `json:"network"`
	// Filesystem is "private" (its temporary directory writable, system
	// directories read-only, nothing else) or "host" (what UID may see
	// and write of the host's).
	Filesystem string `json:"filesystem"`
	// Full is whether it is the full sandbox: own network and PID
	// namespaces and the private filesystem. Anything less is degraded.
	Full bool `json:"full"`
}

// Sandbox networks and filesystems.
const (
	SandboxNone    = "none"
	SandboxHost    = "host"
	SandboxPrivate = "private"
)
