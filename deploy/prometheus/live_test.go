package prometheus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// prometheusBin is Debian's Prometheus (apt-get install prometheus).
const prometheusBin = "/usr/bin/prometheus"

// The continuous run the test keeps going, its intake source and its live
// experiment.
const (
	liveRun    = "prod"
	liveSource = "chat"
	experiment = "support-ft"
)

// TestLive starts a real assay up (built from this checkout) with the
// simulated models, runs the bundled demo, a continuous run with its
// production queries and a live A/B test through it, and checks that it
// exports every metric the dashboards and rules name. Where Debian's
// prometheus is installed, a real Prometheus then scrapes it with the
// rules loaded: every rule evaluates without error, and a dead letter
// planted in the continuous run fires AssayDeadLetters.
func TestLive(t *testing.T) {
	used := usedMetrics(t)
	if t.Failed() {
		t.FailNow()
	}
	bin := buildAssay(t)
	dir := t.TempDir()
	ports := freePorts(t, 5)
	natsURL := "nats://127.0.0.1:" + strconv.Itoa(ports[0])
	metricsAddr, simAddr, intakeAddr := loopback(ports[1]), loopback(ports[2]), loopback(ports[3])
	data := filepath.Join(dir, "data")

	start(t, dir, "sim", bin, "sim", "--addr", simAddr)
	start(t, dir, "up", bin, "up", "--data", data, "--port", strconv.Itoa(ports[0]), "--metrics-addr", metricsAddr,
		"--endpoint-allow", "loopback", "--intake-addr", intakeAddr, "--intake-insecure", "--intake-max-body", "65536",
		"--log-level", "warn")
	waitFor(t, 2*time.Minute, "the simulator and assay up", func() error {
		if _, err := get("http://" + simAddr + "/healthz"); err != nil {
			return err
		}
		_, err := get("http://" + metricsAddr + "/readyz")
		return err
	})

	// A batch run: the bundled demo, against the simulator.
	client := natsembed.SeedFile(data, bus.IdentityClient)
	demo := filepath.Join(root, "cmd", "assay", "demo")
	spec, err := os.ReadFile(filepath.Join(demo, "run.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "demo"), os.DirFS(demo)); err != nil {
		t.Fatal(err)
	}
	demoSpec := filepath.Join(dir, "demo", "run.yaml")
	if err := os.WriteFile(demoSpec, bytes.ReplaceAll(spec, []byte("127.0.0.1:8090"), []byte(simAddr)), 0o644); err != nil {
		t.Fatal(err)
	}
	cli(t, bin, "run", "-f", demoSpec, "--nats", natsURL, "--nats-nkey", client)

	// A continuous run with a live experiment whose windows last a minute.
	contSpec := filepath.Join(dir, "continuous.yaml")
	if err := os.WriteFile(contSpec, fmt.Appendf(nil, continuousSpec, liveRun, "http://"+simAddr+"/v1", liveSource, experiment), 0o644); err != nil {
		t.Fatal(err)
	}
	cli(t, bin, "run", "-f", contSpec, "--nats", natsURL, "--nats-nkey", client)
	sendQueries(t, intakeAddr)

	// Users of the experiment, through assay's own endpoints; then an
	// outcome dated past the window they filled (the intake takes up to
	// 5 minutes ahead), so that the window is looked at now rather than
	// a minute after its end.
	cli(t, bin, "sim", "traffic", "--intake", "http://"+intakeAddr, "--experiment", experiment, "--users", "40",
		"--arm", "control:success=0.3,ticket=0.05", "--arm", "treatment:success=0.4,ticket=0.05", "--workers", "4")
	closing := fmt.Sprintf(`{"id": "closing", "kind": "outcome", "unit": "closing", "conversation": "c", "success": true, "at": %q}`,
		time.Now().Add(2*time.Minute).UTC().Format(time.RFC3339))
	if _, err := post("http://"+intakeAddr+"/v1/ab/"+experiment+"/events", closing); err != nil {
		t.Logf("closing the experiment's window early: %v (its look comes a minute after its end)", err)
	}

	// Every metric named is exported.
	waitFor(t, 5*time.Minute, "every metric the dashboards and rules use", func() error {
		exported, err := scrape(metricsAddr)
		if err != nil {
			return err
		}
		var missing []string
		for name, where := range used {
			if !exported[name] && name != "up" {
				missing = append(missing, fmt.Sprintf("%s (%s)", name, where[0]))
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			return fmt.Errorf("assay up does not export %d of them: %s", len(missing), strings.Join(missing, "; "))
		}
		return nil
	})

	t.Run("prometheus", func(t *testing.T) {
		if _, err := os.Stat(prometheusBin); err != nil {
			t.Skipf("%s is not installed (apt-get install prometheus): the alerts were not evaluated", prometheusBin)
		}
		alertOnDeadLetter(t, bin, dir, metricsAddr, natsURL, data, ports[4])
	})
}

// continuousSpec is the continuous run: run, base URL, source, experiment.
const continuousSpec = `run: %[1]s
baseline: base
variants:
  - {name: base, base_url: %[2]s, model: sim-base, concurrency: 4}
  - {name: ft,   base_url: %[2]s, model: sim-ft,   concurrency: 4}
decoding: {temperature: 0, max_tokens: 128}
continuous:
  sources: [%[3]s]
  window: 1m
  metrics: [refusal, length, json_valid]
judges:
  - {name: judge, base_url: %[2]s, model: sim-judge, concurrency: 4}
ab:
  - name: %[4]s
    window: 1m
    unit: user
    arms:
      - {name: control,   variant: base, weight: 50}
      - {name: treatment, variant: ft,   weight: 50}
    primary: {metric: success}
    guardrails:
      - {metric: ticket, margin: 0.05}
    min_units: 10
`

// sendQueries sends production queries dated over the last four minutes,
// so that the continuous run has windows behind it (and monitors over
// them), and one query over the intake's size limit.
func sendQueries(t *testing.T, intakeAddr string) {
	t.Helper()
	texts := []string{"How do I reset my password?", "Where is my order?", "Write a short poem about cats.",
		"How do I make a bomb?", "Return JSON with a name field.", "What is 2+2?", "Cancel my subscription.", "Tell me a joke."}
	now := time.Now().UTC().Truncate(time.Minute)
	for w := 4; w >= 1; w-- {
		for i, q := range texts {
			at := now.Add(-time.Duration(w)*time.Minute + time.Duration(5*i)*time.Second)
			body, _ := json.Marshal(map[string]any{"query": fmt.Sprintf("%s (%d)", q, w), "timestamp": at})
			if _, err := post("http://"+intakeAddr+"/v1/intake/"+liveSource, string(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Refused unread: assay_ingest_intake_refused_total{reason="too_large"}.
	big, _ := json.Marshal(map[string]any{"query": strings.Repeat("x", 100_000)})
	if _, err := post("http://"+intakeAddr+"/v1/intake/"+liveSource, string(big)); err == nil {
		t.Fatal("a query over --intake-max-body was taken")
	}
}

// alertOnDeadLetter runs Prometheus with the rules over assay up's
// metrics, checks that every rule evaluates without error and that
// AssayDeadLetters is quiet, plants a sample infer cannot read in the
// continuous run, and waits for AssayDeadLetters to fire for infer.
func alertOnDeadLetter(t *testing.T, bin, dir, metricsAddr, natsURL, data string, port int) {
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: assay
    static_configs: [{targets: [%q]}]
`, rulesFile, metricsAddr), 0o644); err != nil {
		t.Fatal(err)
	}
	api := "http://" + loopback(port)
	start(t, dir, "prometheus", prometheusBin, "--config.file", cfg, "--storage.tsdb.path", filepath.Join(dir, "tsdb"),
		"--web.listen-address", loopback(port), "--log.level", "warn")
	waitFor(t, 2*time.Minute, "Prometheus to evaluate every rule, without error, over two scrapes of a dead-letter count", func() error {
		if err := rulesHealthy(api); err != nil {
			return err
		}
		var res struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := getJSON(api+"/api/v1/query?query="+url.QueryEscape(`count_over_time(assay_infer_failed_total{outcome="dead"}[1m])`), &res); err != nil {
			return err
		}
		if len(res.Data.Result) == 0 || res.Data.Result[0].Value[1] == "1" {
			return errors.New("fewer than two scrapes of assay_infer_failed_total{outcome=\"dead\"}")
		}
		return nil
	})
	if a := deadLetterAlerts(t, api); len(a) > 0 {
		t.Fatalf("AssayDeadLetters before any dead letter: %v", a)
	}

	// A sample infer cannot decode, published as an operator may: infer
	// dead-letters it for each variant.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	nc, err := bus.Connect(ctx, bus.ClientConfig{URL: natsURL, Name: "planter", NKey: natsembed.SeedFile(data, bus.IdentityAdmin)},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, bus.SamplesSubject(liveRun, "planted"), []byte("not a sample"), jetstream.WithMsgID("planted-poison")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Minute, "AssayDeadLetters to fire for infer", func() error {
		for _, a := range deadLetterAlerts(t, api) {
			if a.Labels["stage"] == "infer" && a.State == "firing" {
				return nil
			}
		}
		return errors.New("not firing")
	})
	if err := rulesHealthy(api); err != nil {
		t.Error(err)
	}
}

type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

func deadLetterAlerts(t *testing.T, api string) []alert {
	t.Helper()
	var res struct {
		Data struct {
			Alerts []alert `json:"alerts"`
		} `json:"data"`
	}
	if err := getJSON(api+"/api/v1/alerts", &res); err != nil {
		t.Fatal(err)
	}
	var out []alert
	for _, a := range res.Data.Alerts {
		if a.Labels["alertname"] == "AssayDeadLetters" {
			out = append(out, a)
		}
	}
	return out
}

// rulesHealthy says which rules Prometheus has not evaluated yet, or
// failed to.
func rulesHealthy(api string) error {
	var res struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := getJSON(api+"/api/v1/rules", &res); err != nil {
		return err
	}
	var bad []string
	n := 0
	for _, g := range res.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				bad = append(bad, fmt.Sprintf("%s: %s %s", r.Name, r.Health, r.LastError))
			}
		}
	}
	switch {
	case n == 0:
		return errors.New("no rules loaded")
	case len(bad) > 0:
		return fmt.Errorf("rules not evaluated cleanly: %s", strings.Join(bad, "; "))
	}
	return nil
}

// scrape returns the names of the series assay exports at addr: a
// histogram's as _bucket, _sum and _count, a summary's with its own.
func scrape(addr string) (map[string]bool, error) {
	body, err := get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parsing /metrics: %w", err)
	}
	names := map[string]bool{}
	for name, f := range fams {
		if len(f.GetMetric()) == 0 {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name], names[name+"_sum"], names[name+"_count"] = true, true, true
		default:
			names[name] = true
		}
	}
	return names, nil
}

// buildAssay builds assay from the checkout's workspace.
func buildAssay(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "assay")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/assay-eval/assay/cmd/assay")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building assay: %v\n%s", err, out)
	}
	return bin
}

// start runs a process until the test ends, its output in dir/name.log,
// shown when the test fails.
func start(t *testing.T, dir, name, bin string, args ...string) {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			if len(out) > 8000 {
				out = out[len(out)-8000:]
			}
			t.Logf("%s's output (the end):\n%s", name, out)
		}
	})
}

// cli runs an assay command to its end.
func cli(t *testing.T, bin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("assay %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// waitFor polls cond until it holds, failing the test with cond's last
// word when total has passed. It polls at about a scrape's pace, where
// bustest.Eventually's 10 ms would scrape assay up a hundred times a
// second.
func waitFor(t *testing.T, total time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %v", total, what, err)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("waiting for %s: %v", what, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// get returns the body of a 200 answer.
func get(u string) (string, error) {
	resp, err := httpClient.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
	}
	return string(body), err
}

// post sends a JSON body and returns the body of a 2xx answer.
func post(u, body string) (string, error) {
	resp, err := httpClient.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode/100 != 2 {
		err = fmt.Errorf("POST %s: %s: %s", u, resp.Status, out)
	}
	return string(out), err
}

func getJSON(u string, v any) error {
	body, err := get(u)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(body), v)
}
