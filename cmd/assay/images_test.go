package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// docker runs the docker command and returns its standard output.
func docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// imageBinaries are the images make images builds.
var imageBinaries = []string{"assay", "assay-ingest", "assay-infer", "assay-score", "assay-judge", "assay-report"}

var (
	imagesOnce              sync.Once
	imagesPrefix, imagesErr string
	imagesSkip              string
)

// imagesTag is the tag of the images the tests build.
const imagesTag = "0.0.0-test"

// testImages builds the images once for the tests of this process, with
// `make images` (a prefix of the process's own, tag imagesTag, revision
// cafe1234), and returns their prefix and tag; TestMain removes them. It
// skips the test where no Docker engine answers.
func testImages(t *testing.T) (prefix, tag string) {
	t.Helper()
	imagesOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		if _, err := docker(ctx, "info", "--format", "{{.ServerVersion}}"); err != nil {
			imagesSkip = fmt.Sprintf("no Docker engine: %v", err)
			return
		}
		imagesPrefix = fmt.Sprintf("assay-test-%d/", os.Getpid())
		root, err := filepath.Abs("../..")
		if err != nil {
			imagesErr = err.Error()
			return
		}
		bin, err := os.MkdirTemp("", "assay-images-")
		if err != nil {
			imagesErr = err.Error()
			return
		}
		defer os.RemoveAll(bin)
		make := exec.CommandContext(ctx, "make", "-C", root, "images", "BIN="+bin, "IMAGE_PREFIX="+imagesPrefix, "IMAGE_TAG="+imagesTag, "REVISION=cafe1234")
		if out, err := make.CombinedOutput(); err != nil {
			imagesErr = fmt.Sprintf("make images: %v\n%s", err, out)
		}
	})
	switch {
	case imagesSkip != "":
		t.Skip(imagesSkip)
	case imagesErr != "":
		t.Fatal(imagesErr)
	}
	return imagesPrefix, imagesTag
}

// removeTestImages removes the images testImages built, if any (also
// after a build that failed half-way).
func removeTestImages() {
	if imagesPrefix == "" {
		return
	}
	for _, b := range imageBinaries {
		_, _ = docker(context.Background(), "rmi", "-f", imagesPrefix+b+":"+imagesTag)
	}
	if promImage != "" {
		_, _ = docker(context.Background(), "rmi", "-f", promImage)
	}
}

// TestImages builds every image with `make images` from binaries built
// here (nothing pulled), and checks each: the binary of its name at the
// version given, run as an unprivileged user, with its OCI labels and a
// health check; assay's own image runs `assay up`, which its health check
// finds healthy. Needs a Docker engine (.ci/run's machines have one).
func TestImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds six static binaries and six images")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	prefix, tag := testImages(t)
	images := map[string]string{"assay": "--version", "assay-ingest": "-version", "assay-infer": "-version",
		"assay-score": "-version", "assay-judge": "-version", "assay-report": "-version"}
	for b, version := range images {
		img := prefix + b + ":" + tag
		raw, err := docker(ctx, "image", "inspect", img)
		if err != nil {
			t.Fatal(err)
		}
		var info []struct {
			Size   int64
			Config struct {
				User        string
				Labels      map[string]string
				Entrypoint  []string
				Healthcheck *struct{ Test []string }
			}
		}
		if err := json.Unmarshal([]byte(raw), &info); err != nil || len(info) != 1 {
			t.Fatalf("%s: inspect: %v", img, err)
		}
		c := info[0].Config
		if c.User != "65532:65532" {
			t.Errorf("%s runs as %q, want the unprivileged 65532:65532", img, c.User)
		}
		for k, want := range map[string]string{"org.opencontainers.image.title": b, "org.opencontainers.image.version": tag,
			"org.opencontainers.image.revision": "cafe1234"} {
			if c.Labels[k] != want {
				t.Errorf("%s: label %s = %q, want %q", img, k, c.Labels[k], want)
			}
		}
		if c.Healthcheck == nil || len(c.Healthcheck.Test) < 2 || c.Healthcheck.Test[1] != "/usr/local/bin/"+b {
			t.Errorf("%s: health check %+v", img, c.Healthcheck)
		}
		if got, err := docker(ctx, "run", "--rm", img, version); err != nil || !strings.HasPrefix(got, b+" "+tag+" ") {
			t.Errorf("%s %s: %q, %v", img, version, got, err)
		}
	}
	// assay up in its image: NATS and every stage, found healthy by the
	// image's own check (assay health, inside the container).
	name := strings.TrimSuffix(prefix, "/") + "-up"
	if _, err := docker(ctx, "run", "-d", "--name", name, prefix+"assay:"+tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = docker(context.Background(), "rm", "-f", name) })
	// Asked once a second: each ask starts a docker process.
	for deadline := time.Now().Add(3 * time.Minute); ; {
		s, err := docker(ctx, "inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", name)
		if err == nil && s == "running healthy" {
			break
		}
		if strings.HasPrefix(s, "exited") || time.Now().After(deadline) {
			logs, _ := docker(ctx, "logs", name)
			t.Fatalf("assay up is %q (%v):\n%s", s, err, logs)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(time.Second):
		}
	}
	// /tmp is everyone's (sticky), /data the unprivileged user's alone.
	tree, err := exec.CommandContext(ctx, "sh", "-c", "docker export "+name+" | tar --numeric-owner -tvf - tmp/ data/").Output()
	if err != nil {
		t.Fatalf("listing the container's files: %v", err)
	}
	for _, want := range []string{"drwxrwxrwt 65532/65532", "drwx------ 65532/65532"} {
		if !strings.Contains(string(tree), want) {
			t.Errorf("the image's /tmp and /data: want %q in\n%s", want, tree)
		}
	}
	// The check the engine runs, run by hand.
	if out, err := docker(ctx, "exec", name, "/usr/local/bin/assay", "health"); err != nil || out != "ok" {
		t.Errorf("assay health in the container: %q, %v", out, err)
	}
}
