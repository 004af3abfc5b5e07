package main

import (
	"bytes"
	"encoding/json"
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
	var latency time.Duration
	var suites []string
	var embedDims int
	cmd := &cobra.Command{
		Use:   "sim [--addr HOST:PORT]",
		Short: "Serve the simulated models (an OpenAI-compatible API)",
		Long: `Serves simulated models on /v1/chat/completions and /v1/models: the personas
sim-base, sim-ft, sim-int4 and the judge sim-judge (or those of --personas).
They know the answers to the bundled demo suites and to the JSONL suites given
with --suite (read with the default field names: prompt, reference, choices,
answer, schema, should_refuse).

It also serves embeddings of the model sim-embed on /v1/embeddings (and one
vector per token on /pooling, as vLLM does with task token_embed): a
deterministic simulation of a weak semantic encoder, built on a synonym
table, not a model (see the package llmsim's Embedder).`,
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
			if latency < 0 {
				return usagef("--latency %v: give a duration of 0 or more, e.g. 500ms", latency)
			}
			if latency > 0 {
				if ps == nil {
					ps = llmsim.DefaultPersonas()
				}
				for i := range ps {
					ps[i].Latency = max(ps[i].Latency, llmsim.Duration(latency))
				}
			}
			if embedDims < 0 || embedDims > llmsim.MaxEmbedDims {
				return usagef("--embed-dims %d: give 1 to %d", embedDims, llmsim.MaxEmbedDims)
			}
			sim := llmsim.New(llmsim.Options{Seed: seed, Personas: ps, Key: key, EmbedDims: embedDims})
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
	cmd.Flags().Int64Var(&seed, "seed", demoSeed, "seed of every simulated choice")
	cmd.Flags().DurationVar(&latency, "latency", 0, "least time every persona takes to answer (a persona's own latency, if longer, stays); answers are unchanged")
	cmd.Flags().StringArrayVar(&suites, "suite", nil, "JSONL suite whose answers the models should know (repeatable)")
	cmd.Flags().IntVar(&embedDims, "embed-dims", llmsim.DefaultEmbedDims, "length of the simulated embeddings (a request's dimensions overrides it)")
	cmd.AddCommand(newSimTrafficCmd())
	return cmd
}

// abTokenEnv names the environment variable holding a live experiment's
// token for `assay sim traffic`: a secret is never a flag's value.
const abTokenEnv = "ASSAY_AB_TOKEN"

func newSimTrafficCmd() *cobra.Command {
	var intake, experiment string
	var users, conversations, turns, workers int
	var arms, lose []string
	var late float64
	var seed uint64
	cmd := &cobra.Command{
		Use:   "traffic --intake URL --experiment NAME [--arm NAME:success=P,ticket=P]... [--lose-exposures ARM=P]...",
		Short: "Send a live experiment simulated users: assigned by assay, with known outcomes",
		Long: `Sends a live experiment's simulated users through assay's own endpoints: each
asks POST /v1/ab/<experiment>/assign for its arm, holds one to --conversations
conversations (default 3; 0: none, the users are only assigned and exposed) of
one to --turns turns (default 3), and reports each conversation's outcome
(resolved, ticket, sometimes a 1–5 rating) with its arm's chances (--arm;
defaults success=0.3,ticket=0.05,satisfaction=4,latency_ms=800). A share of
the outcomes (--late) is sent after every other event. --workers users are sent
at once; each user's choices are drawn from the seed and its number, so the
users are the same whatever the workers.

--lose-exposures ARM=P (repeatable) plants a product's logging bug, the
classic cause of a sample-ratio mismatch: the users are assigned with
"log": false and their exposure is sent by the product as the first of their
events, but for a user served ARM it is lost with chance P. The report never
counts those users; their turns and outcomes wait for the exposure and end as
orphans.

The experiment's token is read from ` + abTokenEnv + ` (none for an intake
started with --intake-insecure). Prints, as JSON, what the users of each arm
did: the figures the report's live-experiment section should show, and the
users whose exposure was lost ("lost") with their events ("lost_events",
"lost_turns").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := llmsim.Traffic{Intake: intake, Experiment: experiment, Users: users, Late: late, Seed: seed,
				MaxConversations: conversations, MaxTurns: turns, Workers: workers,
				Token: os.Getenv(abTokenEnv), Arms: map[string]llmsim.ArmRates{}}
			switch {
			case intake == "" || experiment == "":
				return usage(errors.New("--intake and --experiment are required"))
			case users < 0:
				return usage(fmt.Errorf("--users %d: send 0 or more", users))
			case late < 0 || late > 1:
				return usage(fmt.Errorf("--late %v is outside 0..1", late))
			case conversations < 0:
				return usage(fmt.Errorf("--conversations %d: 0 (users only assigned) or more", conversations))
			case turns < 1:
				return usage(fmt.Errorf("--turns %d: a conversation has at least 1", turns))
			case workers < 1:
				return usage(fmt.Errorf("--workers %d: at least 1", workers))
			}
			for _, a := range arms {
				name, r, err := llmsim.ParseArmRates(a)
				if err != nil {
					return usage(err)
				}
				t.Arms[name] = r
			}
			for _, l := range lose {
				arm, p, err := llmsim.ParseLoseExposure(l)
				if err != nil {
					return usage(err)
				}
				if _, twice := t.LoseExposures[arm]; twice {
					return usage(fmt.Errorf("--lose-exposures names arm %s twice: give each arm once", arm))
				}
				if t.LoseExposures == nil {
					t.LoseExposures = map[string]float64{}
				}
				t.LoseExposures[arm] = p
			}
			oracle, err := t.Run(cmd.Context())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(oracle)
		},
	}
	cmd.Flags().StringVar(&intake, "intake", "", "base URL of assay's HTTP intake, e.g. http://127.0.0.1:8081")
	cmd.Flags().StringVar(&experiment, "experiment", "", "the experiment's name")
	cmd.Flags().IntVar(&users, "users", 1000, "users to send")
	cmd.Flags().StringArrayVar(&arms, "arm", nil, "an arm's behaviour, name:success=P,ticket=P,satisfaction=R,latency_ms=MS (repeatable)")
	cmd.Flags().Float64Var(&late, "late", 0.1, "share of outcomes sent after every other event")
	cmd.Flags().IntVar(&conversations, "conversations", 3, "most conversations a user holds (0: none)")
	cmd.Flags().IntVar(&turns, "turns", 3, "most turns of a conversation")
	cmd.Flags().StringArrayVar(&lose, "lose-exposures", nil, "ARM=P: the product logs exposures itself and loses those of ARM's users with chance P (repeatable)")
	cmd.Flags().IntVar(&workers, "workers", 1, "users sent at once")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the users' behaviour")
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
