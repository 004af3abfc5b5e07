package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/services/report"
	"github.com/assay-eval/assay/services/report/review"
	"github.com/spf13/cobra"
)

func newReviewCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Human spot-checks: draw a queue of paired answers, label them blind, compare with the judge",
		Long: `A review queue is a stratified sample of a run's paired answers (a candidate's
and the baseline's to the same sample), drawn per failure bucket of the
candidate's answer, regressions first. Reviewers label each pair blind on a
page (answer A or B, or a tie, error types, a corrected answer, a note);
which answer is the candidate's is shown only once the label is saved.
Queues and labels are messages on the labels stream (assay.labels.<run>.…).

  assay review create --run R [--per-bucket 30] [--variant V] [--seed S]
  assay review serve --reviewers FILE [--addr 127.0.0.1:8092]
  assay review report --run R --queue Q`,
	}
	cmd.AddCommand(newReviewCreateCmd(), newReviewServeCmd(), newReviewReportCmd())
	return cmd
}

func newReviewCreateCmd() *cobra.Command {
	var o review.DrawOptions
	var conn natsFlags
	cmd := &cobra.Command{
		Use:   "create --run R [--queue NAME] [--per-bucket 30] [--variant V] [--seed S]",
		Short: "Draw a review queue from a run",
		Long: `Draws --per-bucket pairs from each bucket of the candidate's answers (refusal,
format_error, wrong_answer, truncated, empty, ok), regressions first (the
candidate fails where the baseline does not, or the judge preferred the
baseline), the rest in an order --seed fixes: the same seed draws the same
queue. A pair whose generation failed is not drawn. The queue is named
--queue, or seed-<seed>; a name is used once.

Exit status: 0 stored, 2 bad usage, 3 no such run, NATS unreachable or the
queue exists.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Run == "" {
				return usagef("--run is required")
			}
			if o.Queue != "" {
				if err := review.CheckName("--queue", o.Queue); err != nil {
					return usage(err)
				}
			}
			b, closeConn, err := conn.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer closeConn()
			if _, err := b.Spec(cmd.Context(), o.Run); errors.Is(err, bus.ErrNotFound) {
				return fmt.Errorf("run %q does not exist: check the name (assay run prints it)", o.Run)
			} else if err != nil {
				return err
			}
			o.Fetch = report.Fetcher(b)
			q, err := review.Draw(cmd.Context(), b, o)
			if err != nil {
				return err
			}
			if err := review.Store(cmd.Context(), b, q); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "queue %s of run %s: %d items (seed %d)\n", q.Meta.Queue, q.Meta.Run, q.Meta.Items, q.Meta.Seed)
			for _, bk := range review.Buckets {
				if q.Meta.Available[bk] > 0 {
					fmt.Fprintf(w, "  %-13s %3d of %d\n", bk, q.Meta.Buckets[bk], q.Meta.Available[bk])
				}
			}
			if q.Meta.Missing > 0 {
				fmt.Fprintf(w, "  %d pairs left out: their texts are no longer stored\n", q.Meta.Missing)
			}
			fmt.Fprintf(w, "label at /review/%s/%s (assay review serve)\n", q.Meta.Run, q.Meta.Queue)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Run, "run", "", "the run to draw from")
	f.StringVar(&o.Queue, "queue", "", "the queue's name (default seed-<seed>)")
	f.IntVar(&o.PerBucket, "per-bucket", review.DefaultPerBucket, "pairs drawn from each bucket")
	f.StringVar(&o.Variant, "variant", "", "draw only this candidate's pairs")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the draw and of the answers' order")
	conn.register(cmd)
	return cmd
}

func newReviewServeCmd() *cobra.Command {
	var addr, reviewers string
	var conn natsFlags
	cmd := &cobra.Command{
		Use:   "serve --reviewers FILE [--addr 127.0.0.1:8092]",
		Short: "Serve the review page and its API",
		Long: `Serves the review page at /review/<run>/<queue> and its JSON API:

  GET  /v1/review/<run>/<queue>/items    the items, blind (A and B)
  POST /v1/review/<run>/<queue>/labels   {"item", "choice": "a"|"b"|"tie",
       "errors": [...], "corrected", "note", "submission"}
  GET  /v1/review/<run>/<queue>/summary  win rate, buckets, agreement

Every request needs a reviewer's token: the page signs in with it, the API
takes it as a bearer token. --reviewers names a file of name=token lines
(or set ` + review.ReviewersEnv + `). It listens on loopback unless --addr says
otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs, err := review.LoadReviewers(reviewers)
			if err != nil {
				return usage(err)
			}
			if rs.Len() == 0 {
				return usagef("no reviewers in %s: add lines of name=token", orEnv(reviewers))
			}
			b, closeConn, err := conn.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer closeConn()
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			ln, err := listenReview(addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "review page at http://%s/review/<run>/<queue>\n", ln.Addr())
			return serveReview(cmd.Context(), ln, review.NewServer(b, rs, logger))
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8092", "address to listen on")
	cmd.Flags().StringVar(&reviewers, "reviewers", "", "file of name=token lines, one per reviewer (default: $"+review.ReviewersEnv+")")
	conn.register(cmd)
	return cmd
}

// orEnv names where the reviewers came from.
func orEnv(file string) string {
	if file != "" {
		return file
	}
	return "$" + review.ReviewersEnv
}

// listenReview listens for the review page on addr.
func listenReview(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("review page: %w", err)
	}
	return ln, nil
}

// serveReview serves s on ln until ctx ends.
func serveReview(ctx context.Context, ln net.Listener, s *review.Server) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}

func newReviewReportCmd() *cobra.Command {
	var run, queue string
	var asJSON bool
	var conn natsFlags
	cmd := &cobra.Command{
		Use:   "report --run R --queue Q [--json]",
		Short: "Sum up a queue's labels: human win rate, confirmed buckets, judge–human agreement",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if run == "" || queue == "" {
				return usagef("--run and --queue are required")
			}
			b, closeConn, err := conn.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer closeConn()
			q, err := review.Load(cmd.Context(), b, run, queue)
			if err != nil {
				return err
			}
			ls, bad, err := review.LoadLabels(cmd.Context(), b, run, queue)
			if err != nil {
				return err
			}
			s := review.Summarize(q, ls, bad)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			return review.WriteSummary(cmd.OutOrStdout(), s)
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "the run")
	cmd.Flags().StringVar(&queue, "queue", "", "the queue")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the summary as JSON")
	conn.register(cmd)
	return cmd
}
