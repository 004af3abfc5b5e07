package k8s_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
)

// root is the checkout's root, which holds go.work.
var root = func() string {
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return r
}()

// scratch is the directory of what the tests make once: the binaries and
// the Secrets' kustomization.
var scratch string

func TestMain(m *testing.M) {
	var err error
	if scratch, err = os.MkdirTemp("", "assay-k8s-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(scratch)
	os.Exit(code)
}

// images are the images `make images` builds, from deploy/docker/Dockerfile's
// targets: each holds the binary of its name.
func images(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "deploy", "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^FROM base AS (\S+)$`).FindAllSubmatch(b, -1) {
		out = append(out, string(m[1]))
	}
	if !slices.Contains(out, "assay") || len(out) < 6 {
		t.Fatalf("deploy/docker/Dockerfile: found images %v, expected assay and its stages", out)
	}
	return out
}

var built struct {
	once sync.Once
	dir  string
	err  error
}

// binaries builds assay and the stage binaries from this checkout's
// workspace and returns their directory.
func binaries(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir = filepath.Join(scratch, "bin")
		args := []string{"build", "-o", built.dir + string(filepath.Separator), "./cmd/assay"}
		for _, s := range []string{"ingest", "infer", "score", "judge", "report"} {
			args = append(args, "./services/"+s+"/cmd/assay-"+s)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		// The workspace's modules, whatever GOWORK this test runs with.
		cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"))
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go %v: %v\n%s", args, err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir
}

// run runs a built binary with args and env, and returns its combined
// output and exit code.
func run(t *testing.T, bin string, args []string, env []string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binaries(t), bin), args...)
	// Nothing of this process's environment, which might hold ASSAY_
	// settings of its own.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + scratch}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not exit: %s", bin, args, out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return out.String(), code
}

var secrets struct {
	once sync.Once
	dir  string
	err  error
}

// secretsDir runs deploy/k8s/secrets.sh, as an operator would, into a
// directory of the scratch space, having put there a key for every secret
// the overlays' endpoint policies name (the operator's part), and returns
// the directory: a kustomization of the Secrets.
func secretsDir(t *testing.T) string {
	t.Helper()
	secrets.once.Do(func() {
		dir := filepath.Join(scratch, "secrets")
		if err := os.MkdirAll(filepath.Join(dir, "endpoint-keys"), 0o700); err != nil {
			secrets.err = err
			return
		}
		for _, name := range endpointSecretNames(t) {
			if err := os.WriteFile(filepath.Join(dir, "endpoint-keys", name), []byte("sk-"+name+"-0123456789abcdef\n"), 0o600); err != nil {
				secrets.err = err
				return
			}
		}
		cmd := exec.Command("bash", "secrets.sh", filepath.Join(binaries(t), "assay"), dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			secrets.err = fmt.Errorf("secrets.sh: %v\n%s", err, out)
			return
		}
		secrets.dir = dir
	})
	if secrets.err != nil {
		t.Fatal(secrets.err)
	}
	return secrets.dir
}
