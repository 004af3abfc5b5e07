package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/assay-eval/assay/services/ingest/contam"
	"github.com/spf13/cobra"
)

// reportWithin writes what assay contamination --within found: a line per
// item that repeats an earlier one, or that embeddings could not check,
// and the summary on stderr. Unread lines and texts that could not be
// embedded make the exit status 3.
func reportWithin(cmd *cobra.Command, output string, d *contam.Duplicates, ix *contam.Index, eix *contam.EmbedIndex, read contam.Stats, took time.Duration) error {
	stderr := cmd.ErrOrStderr()
	out, commit, err := createOutput(output, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	if err := writeDuplicates(out, d.Items); err != nil {
		commit(false)
		return fmt.Errorf("writing output: %w", err)
	}
	if err := commit(true); err != nil {
		return err
	}
	n := len(d.Items)
	opt := ix.Options()
	fmt.Fprintf(stderr, "checked %d items against the items before them in %s\n", n, took.Round(time.Millisecond))
	fmt.Fprintf(stderr, "  near-duplicates of an earlier item: %d (%.1f%%); by n-grams %d, at threshold %g with %d-grams\n",
		d.Flagged, 100*float64(d.Flagged)/float64(n), d.NGram, opt.Threshold, opt.NGram)
	if d.Short > 0 {
		fmt.Fprintf(stderr, "  %d items are shorter than %d tokens: flagged by n-grams only where one holds the other word for word\n", d.Short, opt.NGram)
	}
	if d.Empty > 0 {
		fmt.Fprintf(stderr, "  %d items have no words to check\n", d.Empty)
	}
	incomplete := false
	if read.Failed > 0 {
		fmt.Fprintf(stderr, "%d eval lines failed and were skipped: fix them and check again\n", read.Failed)
		incomplete = true
	}
	if eix != nil {
		st, eo := d.Embedding, eix.Options()
		search, recall := eix.Search()
		fmt.Fprintf(stderr, "  by embeddings (%s at %s): %d, at cosine %g; %d items compared, %s search",
			eo.Embed.Model, eo.Endpoint.BaseURL, st.Flagged, eo.Threshold, st.Checked, search)
		if search == "exact" {
			fmt.Fprintf(stderr, " (the HNSW graph found %.0f%% of the items looking themselves up)", 100*recall)
		}
		fmt.Fprintln(stderr)
		if empty := st.Unchecked - st.UncheckedFailed; empty > 0 {
			fmt.Fprintf(stderr, "  %d items have no text to embed\n", empty)
		}
		if st.UncheckedFailed > 0 {
			fmt.Fprintf(stderr, "%d items could not be embedded (%s) and were not checked by embeddings (\"embedding_checked\": false): fix the endpoint and check again\n", st.UncheckedFailed, st.EvalFailure)
			incomplete = true
		}
	}
	if incomplete {
		return errLinesFailed
	}
	return nil
}

// writeDuplicates writes the items that repeat an earlier one, and those
// embeddings did not check, in input order.
func writeDuplicates(w io.Writer, items []contam.Duplicate) error {
	bw := bufio.NewWriter(w)
	for _, d := range items {
		if !d.Duplicate && (d.Embedding == nil || d.Embedding.Unchecked == "") {
			continue
		}
		line, err := json.Marshal(d)
		if err != nil {
			return err
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
