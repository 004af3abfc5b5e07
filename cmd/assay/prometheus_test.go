package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// debianPrometheus is Debian's Prometheus (apt-get install prometheus,
// which .ci/run does).
const debianPrometheus = "/usr/bin/prometheus"

var (
	promOnce           sync.Once
	promImage, promErr string
)

// prometheusImage builds, once per test process, an image of Debian's
// Prometheus for the Compose stack's monitoring profile (no image can be
// pulled here): the binary and the shared libraries ldd names, on an
// empty base, run as nobody with /prometheus its to write. It returns ""
// where Debian's prometheus is not installed; TestMain removes the image.
func prometheusImage(t *testing.T, prefix, tag string) string {
	t.Helper()
	promOnce.Do(func() {
		if _, err := os.Stat(debianPrometheus); err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		dir, err := os.MkdirTemp("", "assay-prometheus-")
		if err != nil {
			promErr = err.Error()
			return
		}
		defer os.RemoveAll(dir)
		if err := prometheusRoot(ctx, filepath.Join(dir, "root.tar")); err != nil {
			promErr = err.Error()
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nADD root.tar /\nUSER 65534:65534\nWORKDIR /prometheus\nEXPOSE 9090\nENTRYPOINT [\"/bin/prometheus\"]\n"), 0o644); err != nil {
			promErr = err.Error()
			return
		}
		img := prefix + "prometheus:" + tag
		build := exec.CommandContext(ctx, "docker", "build", "--quiet", "-t", img, dir)
		build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		if out, err := build.CombinedOutput(); err != nil {
			promErr = fmt.Sprintf("building %s: %v\n%s", img, err, out)
			return
		}
		promImage = img
	})
	if promErr != "" {
		t.Fatal(promErr)
	}
	return promImage
}

// lddPath is a library's path in ldd's output: "name => /path (addr)" or,
// for the dynamic loader, "/path (addr)".
var lddPath = regexp.MustCompile(`(?m)(?:=>\s+|^\s+)(/\S+)\s+\(0x`)

// prometheusRoot writes the image's file system as a tar archive: the
// binary at /bin/prometheus, each library it loads at its own path (its
// content, symbolic links followed), and /prometheus owned by nobody.
func prometheusRoot(ctx context.Context, out string) error {
	// ldd fails on a static binary, which needs no library.
	ldd, err := exec.CommandContext(ctx, "ldd", debianPrometheus).CombinedOutput()
	if err != nil && !bytes.Contains(ldd, []byte("not a dynamic executable")) {
		return fmt.Errorf("ldd %s: %v\n%s", debianPrometheus, err, ldd)
	}
	files := map[string]string{"bin/prometheus": debianPrometheus}
	for _, m := range lddPath.FindAllStringSubmatch(string(ldd), -1) {
		files[strings.TrimPrefix(m[1], "/")] = m[1]
	}
	if len(files) == 1 && !bytes.Contains(ldd, []byte("not a dynamic executable")) {
		return fmt.Errorf("ldd %s named no library:\n%s", debianPrometheus, ldd)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	addDir := func(name string, mode int64, owner int) error {
		if dirs[name] {
			return nil
		}
		dirs[name] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: owner, Gid: owner, ModTime: time.Unix(0, 0)})
	}
	for name, src := range files {
		body, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		parts := strings.Split(name, "/")
		for i := 1; i < len(parts); i++ {
			if err := addDir(strings.Join(parts[:i], "/"), 0o755, 0); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: int64(len(body)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
	}
	if err := addDir("prometheus", 0o755, 65534); err != nil {
		return err
	}
	if err := addDir("tmp", 0o1777, 0); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// prometheusAPI asks the stack's Prometheus one question of its HTTP API
// and decodes the answer's data into v.
func prometheusAPI(ctx context.Context, base, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, tail(string(body), 512))
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("GET %s: %v", path, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("GET %s: status %q: %s", path, env.Status, tail(string(body), 512))
	}
	return json.Unmarshal(env.Data, v)
}

// scrapeTargets says which of the stack's scrape targets are not up, and
// fails unless Prometheus has exactly the targets the stack runs (per job:
// the NATS nodes, each stage, both infer replicas).
func scrapeTargets(ctx context.Context, base string) error {
	var data struct {
		ActiveTargets []struct {
			Labels    map[string]string `json:"labels"`
			ScrapeURL string            `json:"scrapeUrl"`
			Health    string            `json:"health"`
			LastError string            `json:"lastError"`
		} `json:"activeTargets"`
	}
	if err := prometheusAPI(ctx, base, "/api/v1/targets?state=active", &data); err != nil {
		return err
	}
	want := map[string]int{"assay-nats": 3, "assay-ingest": 1, "assay-infer": 2, "assay-score": 1, "assay-judge": 1, "assay-report": 1}
	got := map[string]int{}
	var bad []string
	for _, tg := range data.ActiveTargets {
		got[tg.Labels["job"]]++
		if tg.Health != "up" {
			bad = append(bad, fmt.Sprintf("%s %s: %s %s", tg.Labels["job"], tg.ScrapeURL, tg.Health, tg.LastError))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("targets per job %v, want %v", got, want)
	}
	if len(bad) > 0 {
		return fmt.Errorf("targets not up: %s", strings.Join(bad, "; "))
	}
	return nil
}

// rulesEvaluated says which alerting and recording rules Prometheus has not
// evaluated yet, or failed to.
func rulesEvaluated(ctx context.Context, base string) error {
	var data struct {
		Groups []struct {
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := prometheusAPI(ctx, base, "/api/v1/rules", &data); err != nil {
		return err
	}
	n := 0
	var bad []string
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				bad = append(bad, fmt.Sprintf("%s: %s %s", r.Name, r.Health, r.LastError))
			}
		}
	}
	if n == 0 {
		return errors.New("no rules loaded")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d rules: %s", len(bad), n, strings.Join(bad, "; "))
	}
	return nil
}

// firing lists the alerts named name that fire, as "stage instance".
func firing(ctx context.Context, base, name string) ([]string, error) {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := prometheusAPI(ctx, base, "/api/v1/alerts", &data); err != nil {
		return nil, err
	}
	var out []string
	for _, a := range data.Alerts {
		if a.Labels["alertname"] == name && a.State == "firing" {
			out = append(out, a.Labels["stage"]+" "+a.Labels["instance"])
		}
	}
	return out, nil
}

// scrapesOf is the fewest scrapes Prometheus holds, over the last five
// minutes, of any of the series selector selects, and how many series it
// selects.
func scrapesOf(ctx context.Context, base, selector string) (least, series int, err error) {
	var data struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := prometheusAPI(ctx, base, "/api/v1/query?query="+url.QueryEscape("count_over_time("+selector+"[5m])"), &data); err != nil {
		return 0, 0, err
	}
	for i, r := range data.Result {
		var n int
		if s, ok := r.Value[1].(string); ok {
			fmt.Sscan(s, &n)
		}
		if i == 0 || n < least {
			least = n
		}
	}
	return least, len(data.Result), nil
}
