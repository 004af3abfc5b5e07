package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/ingest/dataset"
	"github.com/spf13/cobra"
)

func newSimCmd() *cobra.Command {
	var addr, personas string
	var seed int64
	var suites []string
	cmd := &cobra.Command{
		Use:   "sim [--addr HOST:PORT]",
		Short: "Serve the simulated models (an OpenAI-compatible API)",
		Long: `Serves simulated models on /v1/chat/completions and /v1/models: the personas
sim-base, sim-ft, sim-int4 and the judge sim-judge (or those of --personas).
They know the answers to the bundled demo suites and to the JSONL suites given
with --suite (read with the default field names: prompt, reference, choices,
answer, schema, should_refuse).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ps []llmsim.Persona
			if personas != "" {
				var err error
				if ps, err = llmsim.LoadPersonas(personas); err != nil {
					return err
				}
			}
			spec, err := demoSpec("")
			if err != nil {
				return err
			}
			key, err := demoKey(spec)
			if err != nil {
				return err
			}
			for _, f := range suites {
				if err := addKey(key, f); err != nil {
					return err
				}
			}
			sim := llmsim.New(llmsim.Options{Seed: seed, Personas: ps, Key: key})
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listening on %s: %w", addr, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "assay sim: serving %s at http://%s/v1 (%d known prompts)\n", sim.Models(), ln.Addr(), len(key))
			srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				srv.Close()
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8090", "listen address")
	cmd.Flags().StringVar(&personas, "personas", "", "YAML list of personas (see the README)")
	cmd.Flags().Int64Var(&seed, "seed", 7, "seed of every simulated choice")
	cmd.Flags().StringArrayVar(&suites, "suite", nil, "JSONL suite whose answers the models should know (repeatable)")
	return cmd
}

// addKey adds the answers of a suite file to key.
func addKey(key llmsim.Key, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading suite: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	var samples []eval.Sample
	rd := dataset.NewReader("sim", eval.Suite{Name: name}, file)
	res, err := rd.Read(bytes.NewReader(b), func(s eval.Sample) error { samples = append(samples, s); return nil })
	if err != nil {
		return err
	}
	for _, p := range res.Problems {
		fmt.Fprintln(os.Stderr, "assay sim: skipped:", p.Error())
	}
	for k, v := range llmsim.KeyFromSamples(samples) {
		key[k] = v
	}
	return nil
}
