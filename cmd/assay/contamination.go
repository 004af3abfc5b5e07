package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/assay-eval/assay/services/ingest/contam"
	"github.com/spf13/cobra"
)

func newContaminationCmd() *cobra.Command {
	var train, evalPath, field, idField, trainField, trainID, output string
	var threshold float64
	var ngram, workers int
	var within bool
	var emb embeddingFlags
	cmd := &cobra.Command{
		Use:   "contamination (--train PATH | --within) --eval PATH [--field PATH] [--output FILE] [--embeddings URL]",
		Short: "Find the eval items that are in the training data, or repeat each other, word for word or nearly",
		Long: `Checks every eval item against the training data. An item is contaminated
when a large share of its n-grams (words; single characters in Chinese,
Japanese and Korean) occurs in one training document, or when it is a
near-duplicate of one. The eval items are indexed and the training data is
streamed through, once: memory follows the size of the eval set, not of the
training data.

--train and --eval each take a JSONL file, a .txt file (one document), a
directory of *.jsonl and *.txt files (recursively), or - for JSONL on stdin;
a file whose name ends in .gz, given or in a directory, is gunzipped. An eval line's text is --field (a
gjson path; an array of strings is joined), by default the first of text,
prompt, question, content and messages.#.content that holds a string; its
id is --id, else FILE:LINE. --train-field and --train-id do the same for
training lines.

Output (--output, else stdout): one line per eval item, in input order:
{"id": …, "contaminated": true|false, "score": 0–1, "match": "<training id>"}.
The score is the share of the item's n-grams found in the training document
that holds most of them, or its similarity to a near-duplicate when that is
higher; match is that document, left out when no document shares an n-gram
with the item. A summary goes to stderr.

A line that cannot be read is reported as FILE:LINE and skipped.

--embeddings URL also compares embeddings, which find paraphrases that
share too few n-grams: every eval item and every training document is
embedded through the OpenAI-compatible endpoint at URL (POST URL/embeddings:
vLLM, Ollama, llama.cpp, OpenAI, or assay sim's sim-embed), with
--embeddings-model (default: the one model the endpoint lists), the key in
the variable --embeddings-key-env names, --embeddings-batch texts a request
and --embeddings-concurrency requests at once. An item whose cosine with a
training document reaches --embeddings-threshold is contaminated too; its
line adds "embedding_score", "embedding_match" and "by" (["ngram"],
["embedding"] or both), or "embedding_checked": false when it has no
embedding. Only hosts --endpoint-allow allows are called (default
loopback). --embeddings-cache DIR keeps the vectors, by model and text, for
the next check.

--within, instead of --train, finds the near-duplicates within the eval set:
each item is compared with every earlier one, by the same checks (n-grams
in both directions: an item holding a shorter earlier one repeats it too;
and with --embeddings, the cosine of their embeddings), and the output has
one line per item that repeats an earlier one, {"id": …, "duplicate": true,
"score": …, "match": "<earlier id>", …}, with "embedding_score",
"embedding_match" and "by" as above, and one per item embeddings could not
check ("embedding_checked": false). The first item of a group is never
flagged. Ingest's near_duplicates check drops copies with typos by rule;
this one also finds reworded items and items that share most of a longer
text, for a person to decide.

Exit status: 0 every line was read, 2 bad usage (a flag, a path that does
not exist, no eval items, an endpoint the policy refuses), 3 some lines
could not be read and were skipped (the rest was checked), some texts
could not be embedded (they were not checked by embeddings), or reading
failed, 130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			switch {
			case within && (train != "" || f.Changed("train-field") || f.Changed("train-id")):
				return usagef("--within compares the eval set with itself: leave out --train, --train-field and --train-id")
			case within && evalPath == "":
				return usagef("--within needs --eval PATH (- reads stdin)")
			case !within && (train == "" || evalPath == ""):
				return usagef("--train PATH and --eval PATH are required (- reads stdin), or --eval PATH and --within")
			case train == "-" && evalPath == "-":
				return usagef("only one of --train and --eval can read stdin")
			}
			if err := emb.validate(f); err != nil {
				return err
			}
			start := time.Now()
			stderr := cmd.ErrOrStderr()
			evalSrc := contam.Source{Path: evalPath, Field: field, IDField: idField, Stdin: cmd.InOrStdin()}
			trainSrc := contam.Source{Path: train, Field: trainField, IDField: trainID, Stdin: cmd.InOrStdin()}
			items, evalStats, err := evalSrc.ReadAll(cmd.Context())
			if err != nil {
				return readError("--eval", err)
			}
			printContaminationProblems(stderr, evalStats)
			if len(items) == 0 {
				return usagef("--eval %s: no items to check", evalPath)
			}
			ix, err := contam.NewIndex(items, contam.Options{NGram: ngram, Threshold: threshold, Workers: workers})
			if err != nil {
				return usage(err)
			}
			var eix *contam.EmbedIndex
			if emb.url != "" {
				if eix, err = emb.index(cmd.Context(), items); err != nil {
					return err
				}
			}
			if within {
				dups, err := ix.Within(cmd.Context(), items, eix)
				if err != nil {
					return err
				}
				return reportWithin(cmd, output, dups, ix, eix, evalStats, time.Since(start))
			}
			rep, err := ix.CheckWith(cmd.Context(), trainSrc, eix)
			if err != nil {
				return readError("--train", err)
			}
			printContaminationProblems(stderr, rep.Train)
			out, commit, err := createOutput(output, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if err := writeContaminationResults(out, rep.Results); err != nil {
				commit(false)
				return fmt.Errorf("writing output: %w", err)
			}
			if err := commit(true); err != nil {
				return err
			}
			printContaminationSummary(stderr, rep, ix.Options(), time.Since(start))
			incomplete := false
			if evalStats.Failed > 0 || rep.Train.Failed > 0 {
				fmt.Fprintf(stderr, "%d eval and %d training lines failed and were skipped: fix them and check again\n", evalStats.Failed, rep.Train.Failed)
				incomplete = true
			}
			if eix != nil && printEmbeddingSummary(stderr, rep.Embedding, eix) {
				incomplete = true
			}
			if incomplete {
				return errLinesFailed
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&train, "train", "", "training data: JSONL, .txt, a directory of them, or - for stdin")
	f.StringVar(&evalPath, "eval", "", "eval items: JSONL, .txt, a directory of them, or - for stdin")
	f.StringVar(&field, "field", "", "gjson path of an eval item's text (default: text, prompt, question, content or messages.#.content)")
	f.StringVar(&idField, "id", "id", "gjson path of an eval item's id")
	f.StringVar(&trainField, "train-field", "", "gjson path of a training document's text (default: as for --field)")
	f.StringVar(&trainID, "train-id", "id", "gjson path of a training document's id")
	f.StringVar(&output, "output", "", "per-item results (JSONL); default stdout")
	f.IntVar(&ngram, "ngram", contam.DefaultNGram, "n-gram length in tokens (words, or CJK characters)")
	f.Float64Var(&threshold, "threshold", contam.DefaultThreshold, "score from which an item is contaminated, above 0 and at most 1")
	f.IntVar(&workers, "workers", 0, "training documents (with --within, eval items) checked at once (default: the number of CPUs)")
	f.BoolVar(&within, "within", false, "instead of --train, find the items of --eval that repeat an earlier one of it")
	emb.register(f)
	return cmd
}

// readError says which input could not be read; a path that does not
// exist is a usage error.
func readError(flag string, err error) error {
	err = fmt.Errorf("reading %s: %w", flag, err)
	if errors.Is(err, fs.ErrNotExist) {
		return usage(err)
	}
	return err
}

func writeContaminationResults(w io.Writer, results []contam.Result) error {
	bw := bufio.NewWriter(w)
	for _, r := range results {
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// printContaminationProblems lists the lines a read skipped: the first
// [contam.MaxProblems] of them.
func printContaminationProblems(w io.Writer, st contam.Stats) {
	for _, p := range st.Problems {
		fmt.Fprintln(w, p)
	}
	if more := st.Failed - int64(len(st.Problems)); more > 0 {
		fmt.Fprintf(w, "… and %d more problems\n", more)
	}
}

func printContaminationSummary(w io.Writer, rep *contam.Report, opt contam.Options, took time.Duration) {
	n := len(rep.Results)
	share := 0.0
	if n > 0 {
		share = 100 * float64(rep.Contaminated) / float64(n)
	}
	fmt.Fprintf(w, "checked %d eval items against %d training documents (%s in %d files) in %s\n",
		n, rep.Train.Docs, bytesize(rep.Train.Bytes), rep.Train.Files, took.Round(time.Millisecond))
	fmt.Fprintf(w, "  contaminated: %d (%.1f%%) at threshold %g with %d-grams\n", rep.Contaminated, share, opt.Threshold, opt.NGram)
	if rep.Short > 0 {
		fmt.Fprintf(w, "  %d items are shorter than %d tokens: contaminated only where they occur word for word\n", rep.Short, opt.NGram)
	}
	if rep.Empty > 0 {
		fmt.Fprintf(w, "  %d items have no words to check\n", rep.Empty)
	}
}

// bytesize writes a byte count the way a person would.
func bytesize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
