package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/services/score/metric"
	"github.com/assay-eval/assay/services/score/offline"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// errLinesFailed makes the process exit 3 — some of the input could not be
// evaluated — after the malformed lines were reported one by one.
var errLinesFailed = errors.New("some lines failed")

func newScoreCmd() *cobra.Command {
	var input, metrics, lang, output, summary, schemaFile string
	var stem, noPreflight bool
	var workers int
	var emb scoreEmbeddings
	cmd := &cobra.Command{
		Use:   "score --input FILE --metrics LIST [--lang en|zh] [--output FILE] [--summary FILE] [--embeddings URL]",
		Short: "Score existing model outputs offline, as sacreBLEU, rouge-score and the SQuAD script would",
		Long: `Scores a JSONL file of existing outputs, no run and no NATS needed.

Each input line is {"id": …, "output": "…", "reference": "…" or ["…", …]};
other fields pass through to the output. pass@<k> lines carry "outputs" (the
generations), "test" and, HumanEval style, "entry_point" and "prompt". The
input may be gzip-compressed (file.jsonl.gz, or gzip on stdin).

An output's reasoning (<think>…</think>) is split off before scoring, as a
run does; the rest is scored byte for byte.

Output (--output, else stdout): one {"id": …, "scores": {…}} line per input
line, in input order. Summary (--summary, JSON): n, corpus BLEU and chrF with
their sacreBLEU signatures, and the mean of every metric.

Metrics: bleu chrf rouge1 rouge2 rougeL rougeLsum em f1 mc_acc num_strict
num_flexible json_valid json_schema refusal length semantic_sim pass@<k>
(e.g. pass@1, pass@10). BLEU and chrF are 0–100 like sacreBLEU's, length is
in tokens, the rest are 0–1.

semantic_sim needs --embeddings URL, an OpenAI-compatible endpoint (POST
URL/embeddings: vLLM, Ollama, llama.cpp, OpenAI, or assay sim's sim-embed),
as a run's embeddings section does: the cosine of the output's and the
reference's vectors, the best over the references; with --token-embeddings
a BERTScore-like F1 of token vectors from vLLM's pooling API (URL is then
the server's root). --embeddings-model names the model (default: the one
model the endpoint lists), --embeddings-key-env the variable holding its
key, --embeddings-concurrency the requests in flight (4); only hosts
--endpoint-allow allows are called (default loopback), and
--embeddings-cache DIR keeps the vectors for the next scoring. Before
scoring, one embeddings call checks the endpoint, its model and its key, as
assay run's preflight does (--no-preflight skips it): a problem is one line,
and nothing is scored (exit 3). A line whose call fails after its retries
has no semantic_sim, never a 0: its output line says why ("failed":
{"semantic_sim": "HTTP 503"}), the summary counts it ("unscored"), and the
exit status is 3.

--lang zh uses sacreBLEU's zh tokenizer for BLEU and makes every Chinese
character a token for ROUGE and F1 (rouge-score's own tokenizer drops Chinese
text, scoring it 0).

A malformed line is reported as FILE:LINE and skipped.

Exit status: 0 every line was scored, 2 bad usage (a flag, an unknown
metric, an input or schema file that cannot be read, an embeddings endpoint
the policy refuses), 3 some lines were malformed and skipped (the others
are scored), semantic_sim could not be computed for some lines, or the
embeddings endpoint failed its preflight (nothing was scored), 130
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if input == "" {
				return usagef("--input FILE is required (- reads stdin)")
			}
			ms, err := offline.ParseMetrics(metrics)
			if err != nil {
				return usage(err)
			}
			l, err := metric.ParseLang(lang)
			if err != nil {
				return usagef("--lang: %w", err)
			}
			if err := emb.validate(cmd.Flags(), ms); err != nil {
				return err
			}
			opt := offline.Options{Metrics: ms, Lang: l, Stem: stem, Workers: workers, Source: input}
			if schemaFile != "" {
				data, err := os.ReadFile(schemaFile)
				if err != nil {
					return usagef("reading --schema: %w", err)
				}
				if !json.Valid(data) {
					return usagef("--schema %s is not JSON", schemaFile)
				}
				opt.Schema = data
			}
			var in io.Reader = cmd.InOrStdin()
			if input != "-" {
				f, err := os.Open(input)
				if err != nil {
					return usagef("reading input: %w", err)
				}
				defer f.Close()
				in = f
			}
			if in, err = offline.Decompress(in, input); err != nil {
				return usage(err)
			}
			if emb.url != "" {
				if opt.Embeddings, err = emb.endpoint(cmd.Context(), !noPreflight); err != nil {
					return err
				}
			}
			out, commit, err := createOutput(output, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			sum, err := offline.Score(cmd.Context(), in, out, opt, func(e *offline.LineError) {
				fmt.Fprintln(stderr, e)
			})
			failed := errors.Is(err, offline.ErrLinesFailed) || errors.Is(err, offline.ErrUnscored)
			if err != nil && !failed {
				commit(false)
				return err
			}
			if err := commit(true); err != nil {
				return err
			}
			if sum.ChineseReferences > 0 {
				fmt.Fprintf(stderr, "%d line(s) have Chinese references but were scored with --lang en, which tokenizes them as English (ROUGE 0): use --lang zh\n", sum.ChineseReferences)
			}
			if summary != "" {
				if err := writeJSONFile(summary, sum); err != nil {
					return err
				}
			}
			printScoreSummary(stderr, sum)
			if sum.Failed > 0 {
				fmt.Fprintf(stderr, "%d of %d lines failed and were skipped: fix them and score again\n", sum.Failed, sum.Failed+sum.N)
			}
			for _, m := range slices.Sorted(maps.Keys(sum.Unscored)) {
				fmt.Fprintf(stderr, "%d of %d lines have no %s, which could not be computed (%s): fix the endpoint and score again\n",
					sum.UnscoredLines(m), sum.N, m, strings.Join(unscoredCauses(sum.Unscored[m]), ", "))
			}
			if failed {
				return errLinesFailed
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&input, "input", "", "JSONL of {id, output, reference}, gzipped or not (- for stdin)")
	f.StringVar(&metrics, "metrics", "", "comma-separated metrics, e.g. bleu,chrf,rougeL,em,f1")
	f.StringVar(&lang, "lang", "en", "language of the text metrics: en or zh")
	f.BoolVar(&stem, "stem", false, "Porter-stem English words for ROUGE (rouge-score's use_stemmer)")
	f.StringVar(&output, "output", "", "per-line scores (JSONL); default stdout")
	f.StringVar(&summary, "summary", "", "write the summary (JSON) here")
	f.StringVar(&schemaFile, "schema", "", "JSON Schema for json_schema, for lines without a schema field")
	f.IntVar(&workers, "workers", 0, "lines scored at once (default: the number of CPUs, or --embeddings-concurrency if more)")
	emb.register(f)
	f.BoolVar(&noPreflight, "no-preflight", false, "do not check the embeddings endpoint before scoring")
	return cmd
}

// scoreEmbeddings are assay score's flags for semantic_sim.
type scoreEmbeddings struct {
	embeddingEndpoint
	tokens bool
}

func (e *scoreEmbeddings) register(f *pflag.FlagSet) {
	e.embeddingEndpoint.register(f, "the OpenAI-compatible embeddings endpoint semantic_sim calls (e.g. http://localhost:8000/v1)")
	f.BoolVar(&e.tokens, "token-embeddings", false, "semantic_sim as a BERTScore-like F1 of token vectors (vLLM's pooling API: --embeddings is then the server's root)")
}

// validate refuses semantic_sim without an endpoint, and an endpoint
// without semantic_sim, which would call it for nothing.
func (e *scoreEmbeddings) validate(f *pflag.FlagSet, metrics []string) error {
	if err := e.embeddingEndpoint.validate(f, "token-embeddings", "no-preflight"); err != nil {
		return err
	}
	asked := slices.Contains(metrics, eval.MetricSemanticSim)
	switch {
	case asked && e.url == "":
		return usagef("semantic_sim needs an embeddings endpoint: give --embeddings URL (e.g. http://localhost:8000/v1)")
	case !asked && e.url != "":
		return usagef("--embeddings is for semantic_sim: add it to --metrics, or leave --embeddings out")
	}
	return nil
}

// endpoint connects to the endpoint semantic_sim calls, and with
// preflight checks it first with one call, so that a wrong URL, model or
// key is one line rather than every line failing after its retries.
func (e *scoreEmbeddings) endpoint(ctx context.Context, preflight bool) (*offline.Embeddings, error) {
	client, ep, model, err := e.connect(ctx)
	if err != nil {
		return nil, err
	}
	if preflight {
		// Under the same policy, without the cache: the endpoint is
		// what is checked.
		policy, err := e.policy()
		if err != nil {
			return nil, err
		}
		check := llm.New(llm.WithEndpoints(policy), llm.WithLogger(slog.New(slog.DiscardHandler)))
		spec := &eval.Embeddings{BaseURL: ep.BaseURL, Model: model, APIKeyEnv: ep.KeyEnv, TokenEmbeddings: e.tokens}
		if err := preflightOutcome(ctx, checkEmbeddings(ctx, check, spec, false), "nothing was scored"); err != nil {
			return nil, err
		}
	}
	return &offline.Embeddings{Client: client, Endpoint: ep, Embed: llm.EmbedOptions{Model: model}, Tokens: e.tokens}, nil
}

// unscoredCauses lists causes as "count × cause", most first.
func unscoredCauses(causes map[string]int) []string {
	keys := slices.SortedFunc(maps.Keys(causes), func(a, b string) int {
		return cmp.Or(cmp.Compare(causes[b], causes[a]), cmp.Compare(a, b))
	})
	out := make([]string, len(keys))
	for i, c := range keys {
		out[i] = fmt.Sprintf("%d × %s", causes[c], c)
	}
	return out
}

// createOutput opens path for writing. A regular file (or a new one) is
// written beside its final name and renamed into place by commit(true),
// so that a failed scoring leaves no half-written file where results were
// expected; through a symbolic link, the file it points to is replaced.
// Anything else (a pipe, a device such as /dev/null) is written in place.
func createOutput(path string, stdout io.Writer) (io.Writer, func(ok bool) error, error) {
	if path == "" || path == "-" {
		return stdout, func(bool) error { return nil }, nil
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return nil, nil, fmt.Errorf("writing output: %w", err)
			}
			return f, func(bool) error { return f.Close() }, nil
		}
		mode = fi.Mode().Perm()
	}
	target := path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		target = resolved
	}
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*")
	if err != nil {
		return nil, nil, fmt.Errorf("writing output: %w", err)
	}
	return f, func(ok bool) error {
		err := f.Chmod(mode)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if !ok || err != nil {
			os.Remove(f.Name())
			if err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
			return nil
		}
		if err := os.Rename(f.Name(), target); err != nil {
			os.Remove(f.Name())
			return fmt.Errorf("writing output: %w", err)
		}
		return nil
	}, nil
}

func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	out, commit, err := createOutput(path, nil)
	if err != nil {
		return err
	}
	if _, err := out.Write(append(data, '\n')); err != nil {
		commit(false)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return commit(true)
}

func printScoreSummary(w io.Writer, sum *offline.Summary) {
	fmt.Fprintf(w, "scored %d lines (lang %s)\n", sum.N, sum.Lang)
	for _, name := range []string{"bleu", "chrf"} {
		if v, ok := sum.Corpus[name]; ok {
			fmt.Fprintf(w, "  corpus %-5s %6.2f  %s\n", name, v, sum.Signatures[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(sum.Mean)) {
		fmt.Fprintf(w, "  mean %-12s %.4f  (n=%d)\n", name, sum.Mean[name], sum.Count[name])
	}

}
