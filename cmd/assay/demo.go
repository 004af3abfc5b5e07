package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/assay-eval/assay/cmd/assay/demo"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/ingest/dataset"
	"github.com/assay-eval/assay/services/report/render"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var out, data, simURL, run string
	var logs logFlags
	var conn natsFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the bundled demo: embedded NATS, simulated models, bundled suites",
		Long: `Runs every stage in this process on an embedded NATS server, with simulated
models answering the bundled suites: a fine-tune ("ft") against its base model
("base"), judged pairwise. Prints a summary and where the report is.

Code is run for code_pass in the sandbox ASSAY_CODE_SANDBOX chooses (auto,
full or rlimit; see assay up --help).

With --nats it runs on a deployment instead (assay up, the stage binaries,
the Compose stack): it submits the demo run there with the client's
credentials (--nats-nkey), its models being the simulator at --sim-url as
the stages reach it (assay sim serves it: assay sim --addr 0.0.0.0:8090),
waits for the run and writes its report. The report is the one the demo
makes in this process.

Exit status: 0 the demo ran, whatever its gate's verdict (the summary shows
it), 2 bad usage, 3 it could not run (e.g. --data in use by another assay
up or assay run), 130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := logs.logger()
			if err != nil {
				return err
			}
			o := demoOptions{Out: out, Data: data, Logger: logger, Run: run}
			remote := cmd.Flags().Changed("nats")
			switch {
			case remote && simURL == "":
				return usagef("--sim-url: with --nats, give the simulator's URL as the stages reach it, e.g. http://sim:8090/v1 (assay sim serves it)")
			case remote && data != "":
				return usagef("--data: the demo runs on the server of --nats, which keeps its own data")
			case !remote && simURL != "":
				return usagef("--sim-url: only with --nats; without it the demo runs its own simulator")
			case !remote:
				if set := changedClientFlags(cmd); len(set) > 0 {
					return usagef("--%s: only with --nats", set[0])
				}
			}
			if remote {
				o.Remote, o.SimURL = &conn, simURL
			}
			_, err = runDemo(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "assay-report/demo", "directory for the report files")
	cmd.Flags().StringVar(&data, "data", "", "NATS data directory (default: a temporary one)")
	cmd.Flags().StringVar(&run, "run", "demo", "the run's name (a second demo on one server needs another)")
	cmd.Flags().StringVar(&simURL, "sim-url", "", "with --nats: the simulated models' base URL as the stages reach it, e.g. http://sim:8090/v1")
	conn.register(cmd)
	logs.register(cmd, false)
	return cmd
}

type demoOptions struct {
	Out, Data string
	Logger    *slog.Logger
	// Remote, when set, runs the demo on the server it dials, whose
	// stages reach the simulator at SimURL.
	Remote *natsFlags
	SimURL string
	// Run names the run (default: the demo spec's).
	Run string
}

// demoSpec returns the demo run spec with every endpoint pointed at url.
func demoSpec(url string) (*eval.RunSpec, error) {
	spec, err := eval.ParseSpec(demo.SpecFile, demo.Spec())
	if err != nil {
		return nil, err
	}
	for i := range spec.Variants {
		spec.Variants[i].BaseURL = url
	}
	for i := range spec.Judges {
		spec.Judges[i].BaseURL = url
	}
	for i := range spec.Suites {
		spec.Suites[i].File = spec.Suites[i].Path
	}
	return spec, nil
}

// demoSeed is the simulator's seed in the demo, and assay sim's default,
// so that a demo run on a deployment against assay sim gets the report
// the demo makes in process.
const demoSeed = 7

// demoKey is the simulator's answer key for the bundled suites.
func demoKey(spec *eval.RunSpec) (llmsim.Key, error) {
	var samples []eval.Sample
	for _, su := range spec.Suites {
		b, err := demo.Suite(su.Path)
		if err != nil {
			return nil, err
		}
		rd := dataset.NewReader(spec.Run, su, su.Path)
		res, err := rd.Read(bytes.NewReader(b), func(s eval.Sample) error { samples = append(samples, s); return nil })
		if err != nil {
			return nil, err
		}
		if len(res.Problems) > 0 {
			return nil, fmt.Errorf("bundled suite %s: %v", su.Name, res.Problems[0])
		}
	}
	return llmsim.KeyFromSamples(samples), nil
}

type readSeekNopCloser struct{ *bytes.Reader }

func (readSeekNopCloser) Close() error { return nil }

func openDemo(p string) (io.ReadSeekCloser, error) {
	b, err := demo.Suite(p)
	if err != nil {
		return nil, err
	}
	return readSeekNopCloser{bytes.NewReader(b)}, nil
}

// startSim serves the simulator on a free loopback port.
func startSim(ctx context.Context, sim *llmsim.Sim) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("starting the simulator: %w", err)
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	context.AfterFunc(ctx, func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/v1", nil
}

func runDemo(ctx context.Context, stdout, stderr io.Writer, o demoOptions) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	spec, err := demoSpec("")
	if err != nil {
		return nil, err
	}
	var b *bus.Bus
	url := o.SimURL
	if o.Remote != nil {
		conn, closeConn, err := o.Remote.dial(ctx)
		if err != nil {
			return nil, err
		}
		defer closeConn()
		b = conn
	} else {
		key, err := demoKey(spec)
		if err != nil {
			return nil, err
		}
		if url, err = startSim(ctx, llmsim.New(llmsim.Options{Seed: demoSeed, Key: key})); err != nil {
			return nil, err
		}
		sys, err := startSystem(ctx, systemOptions{Data: o.Data, Port: -1, Logger: o.Logger, Endpoints: llm.LocalEndpoints()})
		if err != nil {
			return nil, err
		}
		defer sys.Stop()
		b = sys.Env.Bus
	}
	if spec, err = demoSpec(url); err != nil {
		return nil, err
	}
	if o.Run != "" {
		if !eval.ValidName(o.Run) {
			return nil, usagef("--run %q is not a valid name: use 1-64 letters, digits, '-' or '_'", o.Run)
		}
		spec.Run = o.Run
	}
	if err := submit(ctx, b, spec, openDemo); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "assay demo: %d suites, %s against baseline %s, judged by %s (simulated models at %s)\n",
		len(spec.Suites), strings.Join(spec.Candidates(), ", "), spec.Baseline, spec.Judges[0].Name, url)
	st, err := waitRun(ctx, b, spec.Run, stderr)
	if err != nil {
		return nil, err
	}
	if st.State == eval.StateError {
		return nil, runError(st)
	}
	rep, paths, err := saveReport(ctx, b, spec.Run, o.Out)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout)
	if err := render.Summary(stdout, rep); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "\nreport (%.1fs):\n", time.Since(start).Seconds())
	for _, p := range paths {
		abs, _ := filepath.Abs(p)
		fmt.Fprintln(stdout, "  "+abs)
	}
	return paths, nil
}
