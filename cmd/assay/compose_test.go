package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
)

// composeStack is a Compose project of deploy/compose started by a test.
type composeStack struct {
	t       *testing.T
	project string
	file    string
	env     []string
	urls    string
	secrets string
	// prometheus is the base URL of the stack's Prometheus (the
	// monitoring profile, with Debian's Prometheus), "" without it.
	prometheus string
	// profiles are the Compose profiles every command names.
	profiles []string
}

// compose runs docker-compose on the stack and returns its output.
func (c *composeStack) compose(ctx context.Context, args ...string) (string, error) {
	base := []string{"-p", c.project, "-f", c.file}
	for _, p := range c.profiles {
		base = append(base, "--profile", p)
	}
	cmd := exec.CommandContext(ctx, "docker-compose", append(base, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// container is the name of a service's container (docker-compose 1.x
// names them project_service_index).
func (c *composeStack) container(service string, index int) string {
	return fmt.Sprintf("%s_%s_%d", c.project, service, index)
}

// leftovers says what of the project is still there: containers
// (stopped ones too), networks and volumes; "" when nothing is.
func (c *composeStack) leftovers(ctx context.Context) string {
	var out []string
	label := "label=com.docker.compose.project=" + c.project
	for _, args := range [][]string{
		{"ps", "-a", "-q", "--filter", label},
		{"network", "ls", "-q", "--filter", label},
		{"volume", "ls", "-q", "--filter", label},
	} {
		if s, err := docker(ctx, args...); err != nil || s != "" {
			out = append(out, fmt.Sprintf("docker %s: %q %v", strings.Join(args[:2], " "), s, err))
		}
	}
	return strings.Join(out, "; ")
}

// waitHealthy waits until every container of the stack that has a health
// check is healthy and the others run.
func (c *composeStack) waitHealthy(ctx context.Context) {
	c.t.Helper()
	label := "label=com.docker.compose.project=" + c.project
	var last string
	for deadline := time.Now().Add(4 * time.Minute); time.Now().Before(deadline); {
		ids, err := docker(ctx, "ps", "-a", "-q", "--filter", label)
		if err == nil && ids != "" {
			states, err := docker(ctx, append([]string{"inspect", "-f", "{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}"}, strings.Fields(ids)...)...)
			if err == nil {
				last = states
				if !strings.Contains(states, "starting") && !strings.Contains(states, "unhealthy") &&
					!strings.Contains(states, "exited") && !strings.Contains(states, "created") {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			c.t.Fatal(ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
	logs, _ := c.compose(context.Background(), "logs", "--tail", "30")
	c.t.Fatalf("the stack did not turn healthy:\n%s\n%s", last, tail(logs, 16<<10))
}

// waitReady waits until the assay up in container answers ready (its
// NATS server up, JetStream answering), asking it directly rather than
// waiting for Docker's next health check.
func (c *composeStack) waitReady(ctx context.Context, container string) {
	c.t.Helper()
	var err error
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); {
		if _, err = docker(ctx, "exec", container, "/usr/local/bin/assay", "health"); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			c.t.Fatal(ctx.Err())
		case <-time.After(time.Second):
		}
	}
	c.t.Fatalf("%s is not ready: %v", container, err)
}

// startCompose brings deploy/compose up as a project of the test's own,
// from the images the tests built, its secrets in a temporary directory
// and its ports free ones on loopback; the cleanup brings it down. Where
// Debian's Prometheus is installed, the monitoring profile's Prometheus
// runs too, from an image of it.
func startCompose(t *testing.T, ctx context.Context, simLatency string) *composeStack {
	t.Helper()
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Skip("no docker-compose")
	}
	prefix, tag := testImages(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	script := exec.CommandContext(ctx, filepath.Join(root, "deploy/compose/secrets.sh"), binary(t, "assay"), prefix, tag, secrets)
	script.Env = append(os.Environ(), "ASSAY_COMPOSE_ENV="+filepath.Join(dir, ".env"))
	if out, err := script.CombinedOutput(); err != nil {
		t.Fatalf("secrets.sh: %v\n%s", err, out)
	}
	ports := freePorts(t, 6)
	c := &composeStack{t: t, project: fmt.Sprintf("assaytest%d", os.Getpid()), file: filepath.Join(root, "deploy/compose/compose.yaml"), secrets: secrets,
		env: []string{"ASSAY_IMAGE_PREFIX=" + prefix, "ASSAY_IMAGE_TAG=" + tag, "ASSAY_SECRETS=" + secrets, "ASSAY_SIM_LATENCY=" + simLatency,
			fmt.Sprintf("ASSAY_NATS_PORT_1=%d", ports[0]), fmt.Sprintf("ASSAY_NATS_PORT_2=%d", ports[1]), fmt.Sprintf("ASSAY_NATS_PORT_3=%d", ports[2]),
			fmt.Sprintf("ASSAY_INTAKE_PORT=%d", ports[3]), fmt.Sprintf("ASSAY_REVIEW_PORT=%d", ports[4])}}
	c.urls = fmt.Sprintf("nats://127.0.0.1:%d,nats://127.0.0.1:%d,nats://127.0.0.1:%d", ports[0], ports[1], ports[2])
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := c.compose(context.Background(), "logs", "--tail", "40")
			t.Logf("the stack's logs:\n%s", tail(logs, 24<<10))
		}
		// Whatever happened: nothing of the project may stay.
		_, _ = c.compose(context.Background(), "down", "-v", "--remove-orphans", "-t", "5")
	})
	if _, err := c.compose(ctx, "up", "-d"); err != nil {
		t.Fatal(err)
	}
	// Prometheus alone of the monitoring profile: Grafana's image cannot
	// be had here.
	if img := prometheusImage(t, prefix, tag); img != "" {
		c.env = append(c.env, "PROMETHEUS_IMAGE="+img, fmt.Sprintf("PROMETHEUS_PORT=%d", ports[5]))
		c.profiles = []string{"monitoring"}
		if _, err := c.compose(ctx, "up", "-d", "--no-deps", "prometheus"); err != nil {
			t.Fatal(err)
		}
		c.prometheus = fmt.Sprintf("http://127.0.0.1:%d", ports[5])
	}
	c.waitHealthy(ctx)
	return c
}

// TestCompose brings deploy/compose up from the images `make images`
// builds — a three-node NATS cluster, every stage a service (two infer
// replicas), the simulated models — submits the demo from the host
// through the published NATS ports and gets the report `make demo`
// makes; then runs it again, stopping a NATS node and an infer replica
// mid-run, and again with a NATS node cut off from the network
// mid-run, and again through a rolling restart of every NATS node in
// turn and of every stage, each time getting the same report; then
// docker-compose down
// leaves nothing of the project. Needs a Docker engine and docker-compose
// (.ci/run installs and starts them).
func TestCompose(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images and starts a Compose stack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	// The reference: the demo in this process, as make demo runs it.
	dir := t.TempDir()
	local := filepath.Join(dir, "local")
	if _, errOut, err := runCLI(t, "demo", "--out", local); err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut)
	}
	want := demoReport(t, local)

	// Every answer takes half a second, so that a run lasts long enough to be
	// disturbed half-way.
	c := startCompose(t, ctx, "500ms")
	client := filepath.Join(c.secrets, bus.IdentityClient+".nk")
	demo := func(run string, disturb func(b *bus.Bus)) {
		t.Helper()
		out := filepath.Join(dir, run)
		done := make(chan error, 1)
		var errOut string
		go func() {
			var err error
			_, errOut, err = runCLIContext(ctx, "demo", "--nats", c.urls, "--nats-nkey", client, "--sim-url", "http://sim:8090/v1", "--run", run, "--out", out)
			done <- err
		}()
		if disturb != nil {
			b, closeConn, err := dialSeed(ctx, c.urls, client)
			if err != nil {
				t.Fatal(err)
			}
			// Half-way: some scores in, most still to come (or the demo
			// already failed, which is said below).
			half := make(chan error, 1)
			wctx, stop := context.WithCancel(ctx)
			go func() {
				_, err := waitStatus(wctx, b, run, nil, func(st *eval.RunStatus) bool { return st.Scores >= 40 })
				half <- err
			}()
			select {
			case err := <-half:
				if err != nil {
					t.Fatalf("%s: waiting for the run's first scores: %v", run, err)
				}
				disturb(b)
			case err := <-done:
				stop()
				t.Fatalf("demo %s ended before it was half-way: %v\n%s", run, err, errOut)
			}
			stop()
			closeConn()
		}
		if err := <-done; err != nil {
			t.Fatalf("demo %s on the stack: %v\n%s", run, err, errOut)
		}
		got := strings.ReplaceAll(demoReport(t, out), `"`+run+`"`, `"demo"`)
		if got != want {
			t.Fatalf("demo %s: the report differs from make demo's: %s", run, diffLines(got, want))
		}
	}
	demo("compose", nil)
	if c.prometheus != "" {
		c.alertOnDeadLetter(ctx, dir)
	} else {
		t.Logf("%s is not installed: the stack's monitoring is not tested", debianPrometheus)
	}

	// A NATS node and an infer replica stopped mid-run.
	demo("compose-stop", func(*bus.Bus) {
		if _, err := docker(ctx, "stop", "-t", "30", c.container("nats-2", 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := docker(ctx, "stop", "-t", "30", c.container("infer", 1)); err != nil {
			t.Fatal(err)
		}
	})
	// Both back, the cluster whole again, before the next case.
	if _, err := docker(ctx, "start", c.container("nats-2", 1), c.container("infer", 1)); err != nil {
		t.Fatal(err)
	}
	c.waitHealthy(ctx)

	// A crash rather than a stop: the node leading the generations'
	// stream and an infer replica killed (SIGKILL: no shutdown, nothing
	// flushed or handed back) mid-run, started again once it is over.
	var killed []string
	demo("compose-kill", func(b *bus.Bus) {
		s, err := b.JS.Stream(ctx, bus.StreamGens)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Cluster == nil || info.Cluster.Leader == "" {
			t.Fatalf("%s has no leader to kill: %+v", bus.StreamGens, info.Cluster)
		}
		killed = []string{c.container(info.Cluster.Leader, 1), c.container("infer", 2)}
		for _, ct := range killed {
			if _, err := docker(ctx, "kill", "--signal", "KILL", ct); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("killed %s, the leader of %s, and an infer replica", info.Cluster.Leader, bus.StreamGens)
	})
	if _, err := docker(ctx, append([]string{"start"}, killed...)...); err != nil {
		t.Fatal(err)
	}
	c.waitHealthy(ctx)

	// A NATS node cut off from the stack's network mid-run, and joined
	// again once the run is over.
	network := c.project + "_default"
	node := c.container("nats-3", 1)
	demo("compose-partition", func(*bus.Bus) {
		if _, err := docker(ctx, "network", "disconnect", network, node); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := docker(ctx, "network", "connect", "--alias", "nats-3", network, node); err != nil {
		t.Fatal(err)
	}
	c.waitReady(ctx, node)

	// A rolling upgrade mid-run: each NATS node restarted in turn, the
	// next once it is healthy again, then every stage's container. The
	// answers are slowed (the simulator recreated) so that the run
	// outlasts it.
	c.env = append(c.env, "ASSAY_SIM_LATENCY=4s")
	if _, err := c.compose(ctx, "up", "-d", "--no-deps", "sim"); err != nil {
		t.Fatal(err)
	}
	c.waitHealthy(ctx)
	demo("compose-rolling", func(b *bus.Bus) {
		// The stages' services side by side, each service's replicas in
		// turn, as an orchestrator rolls them.
		began := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for _, service := range [][]string{{c.container("ingest", 1)}, {c.container("infer", 1), c.container("infer", 2)},
			{c.container("score", 1)}, {c.container("judge", 1)}, {c.container("report", 1)}} {
			wg.Go(func() {
				for _, ct := range service {
					if _, err := docker(ctx, "restart", "-t", "30", ct); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		t.Logf("stages restarted in %v", time.Since(began).Round(time.Second))
		// Then each NATS node in turn, the next once the last answers
		// ready. The run must still be going after the first: it then
		// went through every stage's restart and at least one node's.
		for i, n := range []string{"nats-1", "nats-2", "nats-3"} {
			if _, err := docker(ctx, "restart", "-t", "30", c.container(n, 1)); err != nil {
				t.Fatal(err)
			}
			c.waitReady(ctx, c.container(n, 1))
			st, err := waitStatus(ctx, b, "compose-rolling", nil, func(*eval.RunStatus) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			if st.State == eval.StateComplete {
				if i == 0 {
					t.Fatal("the run was over before a NATS node was restarted: slow the answers more")
				}
				t.Logf("the run completed after %d of the 3 NATS nodes' restarts", i+1)
				break
			}
		}
	})

	if _, err := c.compose(ctx, "down", "-v", "--remove-orphans", "-t", "20"); err != nil {
		t.Fatal(err)
	}
	if left := c.leftovers(ctx); left != "" {
		t.Fatalf("docker-compose down left: %s", left)
	}
}

// dialSeed opens the bus on urls as the identity whose seed is in nkey.
func dialSeed(ctx context.Context, urls, nkey string) (*bus.Bus, func(), error) {
	f := natsFlags{}
	f.URL, f.NKey = urls, nkey
	f.StartupTimeout = time.Minute
	return f.dial(ctx)
}

// alertOnDeadLetter checks the stack's monitoring as deploy/prometheus
// ships it: Prometheus scrapes every NATS node and every stage's replica,
// evaluates every rule without error and, with no dead letter yet, does
// not fire AssayDeadLetters; then a sample infer cannot decode, planted
// in a demo run as an operator might publish it, makes it fire for infer,
// and the run still completes.
func (c *composeStack) alertOnDeadLetter(ctx context.Context, dir string) {
	t := c.t
	t.Helper()
	bustest.Eventually(t, 3*time.Minute, func() error {
		if err := scrapeTargets(ctx, c.prometheus); err != nil {
			return fmt.Errorf("Prometheus to scrape every NATS node and stage: %w", err)
		}
		return nil
	})
	// The counter of each replica scraped at zero at least twice, so that
	// its first dead letter is an increase.
	bustest.Eventually(t, 2*time.Minute, func() error {
		if err := rulesEvaluated(ctx, c.prometheus); err != nil {
			return fmt.Errorf("Prometheus to evaluate every rule: %w", err)
		}
		least, n, err := scrapesOf(ctx, c.prometheus, `assay_infer_failed_total{outcome="dead"}`)
		if err != nil {
			return err
		}
		if n != 2 || least < 2 {
			return fmt.Errorf("%d series of infer's dead letters (want one a replica), the fewest scraped %d times", n, least)
		}
		return nil
	})
	if f, err := firing(ctx, c.prometheus, "AssayDeadLetters"); err != nil || len(f) > 0 {
		t.Fatalf("AssayDeadLetters before any dead letter: %v %v", f, err)
	}

	const run = "compose-alert"
	done := make(chan error, 1)
	var errOut string
	go func() {
		var err error
		_, errOut, err = runCLIContext(ctx, "demo", "--nats", c.urls, "--nats-nkey", filepath.Join(c.secrets, bus.IdentityClient+".nk"),
			"--sim-url", "http://sim:8090/v1", "--run", run, "--out", filepath.Join(dir, run))
		done <- err
	}()
	b, closeConn, err := dialSeed(ctx, c.urls, filepath.Join(c.secrets, bus.IdentityAdmin+".nk"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn()
	if _, err := waitStatus(ctx, b, run, nil, func(st *eval.RunStatus) bool { return st.Scores >= 1 }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PublishData(ctx, bus.SamplesSubject(run, "planted"), "planted-poison", []byte("not a sample")); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 3*time.Minute, func() error {
		f, err := firing(ctx, c.prometheus, "AssayDeadLetters")
		if err != nil {
			return err
		}
		for _, a := range f {
			if strings.HasPrefix(a, "infer ") {
				return nil
			}
		}
		return fmt.Errorf("AssayDeadLetters to fire for infer: firing %v", f)
	})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo %s, with a dead letter: %v\n%s", run, err, errOut)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("demo %s did not complete within 3 minutes of its dead letter", run)
	}
}
