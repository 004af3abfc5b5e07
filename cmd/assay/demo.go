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
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/ingest/dataset"
	"github.com/assay-eval/assay/services/report/render"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var out, data string
	var logs logFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the bundled demo: embedded NATS, simulated models, bundled suites",
		Long: `Runs every stage in this process on an embedded NATS server, with simulated
models answering the bundled suites: a fine-tune ("ft") against its base model
("base"), judged pairwise. Prints a summary and where the report is.

Code is run for code_pass in the sandbox ASSAY_CODE_SANDBOX chooses (auto,
full or rlimit; see assay up --help).

Exit status: 0 the demo ran, whatever its gate's verdict (the summary shows
it), 2 bad usage, 3 it could not run (e.g. --data in use by another assay
up or assay run), 130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := logs.logger()
			if err != nil {
				return err
			}
			_, err = runDemo(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), demoOptions{Out: out, Data: data, Logger: logger})
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "assay-report/demo", "directory for the report files")
	cmd.Flags().StringVar(&data, "data", "", "NATS data directory (default: a temporary one)")
	logs.register(cmd, false)
	return cmd
}

type demoOptions struct {
	Out, Data string
	Logger    *slog.Logger
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
	key, err := demoKey(spec)
	if err != nil {
		return nil, err
	}
	url, err := startSim(ctx, llmsim.New(llmsim.Options{Seed: 7, Key: key}))
	if err != nil {
		return nil, err
	}
	if spec, err = demoSpec(url); err != nil {
		return nil, err
	}
	sys, err := startSystem(ctx, systemOptions{Data: o.Data, Port: -1, Logger: o.Logger, Endpoints: llm.LocalEndpoints()})
	if err != nil {
		return nil, err
	}
	defer sys.Stop()
	b := sys.Env.Bus
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
