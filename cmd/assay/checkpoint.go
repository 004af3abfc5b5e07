package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

func newCheckpointCmd() *cobra.Command {
	var ev eval.CheckpointEvent
	var conn natsFlags
	var wait, noPreflight bool
	var out string
	cmd := &cobra.Command{
		Use:   "checkpoint --run R --variant NAME --base-url URL --model M",
		Short: "Add a new checkpoint to a run: only it is generated, then scored, judged and gated",
		Long: `Announces a checkpoint on assay.events.checkpoint, the subject a training job
can publish on itself. The checkpoint becomes a variant of the run: it answers
the run's samples (no other variant is called again), is scored, judged against
the baseline by the run's judges, and gated; the verdict is published on
assay.events.run.<run>.gated. Announcing the same checkpoint again changes
nothing.

With --wait the command follows the evaluation and prints the summary.

Preflight, before the announcement: the endpoint answers and serves --model
(--no-preflight skips it; the key is checked by the infer stage, where it is
kept: --api-key-secret names a secret of the server's --endpoints file, the
way a shared server takes keys; --api-key-env a variable of the infer stage,
which a server accepts only with --allow-api-key-env). A checkpoint the
server's endpoint policy refuses is not added: the run's report warns why,
and --wait returns at once with the reason (exit status 3).

Exit status: 0 announced (with --wait: the checkpoint passed the gate), 1
the checkpoint failed the gate, 2 bad usage (a bad name or URL, a variant
name the run uses for another model), 3 it could not be evaluated
(preflight problems, the run does not exist, gate verdict error, NATS
unreachable), 4 the gate could not decide (no check failed, but some
interval straddles its threshold: more samples would decide it), 130
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			ev.V, ev.At = eval.Version, time.Now().UTC()
			v, err := ev.NewVariant()
			if err != nil {
				return usagef("checkpoint: %w", err)
			}
			if !noPreflight {
				if err := preflightTargets(ctx, []llm.Target{llm.VariantTarget(v)}, true); err != nil {
					return err
				}
			}
			b, closeConn, err := conn.dial(ctx)
			if err != nil {
				return err
			}
			defer closeConn()
			var before uint64
			if wait {
				if err := waitable(ctx, b, ev.Run); err != nil {
					return err
				}
				// Refusals are followed from before the announcement, so
				// that this one's is never missed: ingest's refusal is a
				// dead letter, and the run's status does not change.
				if before, err = lastRefusal(ctx, b); err != nil {
					return err
				}
			}
			known, duplicate, err := announce(ctx, b, &ev)
			if err != nil {
				return err
			}
			if wait {
				// A duplicate announcement is not evaluated again: its
				// refusal, if any, is one stored before.
				if duplicate {
					before = 0
				}
				var stop context.CancelFunc
				ctx, stop, err = untilRefused(ctx, b, &ev, before+1)
				if err != nil {
					return err
				}
				defer stop()
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "announced checkpoint %s (%s) of run %s\n", ev.Variant, ev.Model, ev.Run)
			if !wait {
				return nil
			}
			if out == "" {
				out = "assay-report/" + ev.Run
			}
			err = waitCheckpoint(ctx, b, ev.Run, ev.Variant, known, out, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if refused := context.Cause(ctx); errors.Is(refused, errCheckpointRefused) {
				return refused
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&ev.Run, "run", "", "the run")
	f.StringVar(&ev.Variant, "variant", "", "the checkpoint's name in the run, e.g. step-2000")
	f.StringVar(&ev.BaseURL, "base-url", "", "its OpenAI-compatible endpoint, e.g. http://vllm:8000/v1")
	f.StringVar(&ev.Model, "model", "", "the model name the endpoint serves")
	f.StringVar(&ev.APIKeyEnv, "api-key-env", "", "environment variable (of the infer stage) holding the API key; servers refuse it unless started with --allow-api-key-env")
	f.StringVar(&ev.APIKeySecret, "api-key-secret", "", "secret (of the server's --endpoints file) holding the API key")
	f.IntVar(&ev.Concurrency, "concurrency", 0, "requests in flight to the endpoint (default 8)")
	f.Int64Var(&ev.Step, "step", 0, "training step, for the report's trend")
	f.BoolVar(&wait, "wait", false, "wait for the verdict; exit 1 when the checkpoint fails the gate, 3 when it could not be evaluated, 4 when the gate could not decide")
	f.BoolVar(&noPreflight, "no-preflight", false, "do not check the endpoint before announcing the checkpoint")
	f.StringVar(&out, "out", "", "with --wait, directory for the report files (default assay-report/<run>)")
	conn.register(cmd)
	for _, name := range []string{"run", "variant", "base-url", "model"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// announce publishes a checkpoint after checking what can be checked here,
// so that a mistake is an error now rather than a dead letter later. known
// says that the run has the checkpoint already (announced before), so that
// the announcement changes nothing; duplicate that the server dropped it as
// the same announcement made moments before (same name, endpoint and key
// names), which is not evaluated again.
func announce(ctx context.Context, b *bus.Bus, ev *eval.CheckpointEvent) (known, duplicate bool, err error) {
	v, err := ev.NewVariant()
	if err != nil {
		return false, false, usagef("checkpoint: %w", err)
	}
	spec, err := b.Spec(ctx, ev.Run)
	if errors.Is(err, bus.ErrNotFound) {
		return false, false, fmt.Errorf("run %q does not exist at %s: submit it first with assay run --nats", ev.Run, b.NC.ConnectedUrlRedacted())
	}
	if err != nil {
		return false, false, err
	}
	old, known := spec.Variant(v.Name)
	if known && (old.Model != v.Model || old.BaseURL != v.BaseURL) {
		return false, false, usagef("run %q already has a variant %q (model %s at %s): name the checkpoint differently", ev.Run, v.Name, old.Model, old.BaseURL)
	}
	// The key's names (never a key) are part of the id: announcing again
	// with a key the server accepts is a new announcement, not a
	// duplicate of the refused one.
	id := bus.MsgID("checkpoint", ev.Run, v.Name, v.Model, v.BaseURL, ev.APIKeyEnv, ev.APIKeySecret)
	ack, err := b.Publish(ctx, bus.CheckpointSubject, id, ev)
	if err != nil {
		return false, false, err
	}
	return known, ack.Duplicate, nil
}

// lastRefusal returns the dead-letter stream's last sequence, from before
// an announcement: the announcement's refusal comes after it.
func lastRefusal(ctx context.Context, b *bus.Bus) (uint64, error) {
	info, err := b.Stream(bus.StreamDLQ).Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", bus.StreamDLQ, err)
	}
	return info.State.LastSeq, nil
}

// errCheckpointRefused is a checkpoint the server refused to add (its
// endpoint policy, a key it does not accept): it could not be evaluated.
var errCheckpointRefused = fmt.Errorf("was refused by the server, so it %w", errUnevaluated)

// untilRefused returns a context that ends, with a cause wrapping
// [errCheckpointRefused] and the server's reason, when ingest dead-letters
// the announcement ev at sequence from or later; stop ends the following.
// An earlier refusal of the same checkpoint is another announcement's (a
// key the server did not accept, since replaced), unless this one was a
// duplicate (see [announce]), and then from is 1.
func untilRefused(ctx context.Context, b *bus.Bus, ev *eval.CheckpointEvent, from uint64) (context.Context, context.CancelFunc, error) {
	cons, err := b.JS.OrderedConsumer(ctx, bus.StreamDLQ, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{bus.DLQSubject(bus.StageCheckpoint, ev.Run)},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy, OptStartSeq: from})
	if err != nil {
		return nil, nil, fmt.Errorf("following refused checkpoints of run %s: %w", ev.Run, err)
	}
	rctx, cancel := context.WithCancelCause(ctx)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		data, err := b.Payload(rctx, m.Data(), m.Headers())
		if err != nil {
			return
		}
		var dl eval.DeadLetter
		var got eval.CheckpointEvent
		if json.Unmarshal(data, &dl) != nil || dl.Variant != ev.Variant || json.Unmarshal([]byte(dl.Data), &got) != nil ||
			got.BaseURL != ev.BaseURL || got.Model != ev.Model || got.APIKeyEnv != ev.APIKeyEnv || got.APIKeySecret != ev.APIKeySecret {
			return
		}
		cancel(fmt.Errorf("run %s: checkpoint %s %w: %s", ev.Run, ev.Variant, errCheckpointRefused, dl.Reason))
	})
	if err != nil {
		cancel(nil)
		return nil, nil, fmt.Errorf("following refused checkpoints of run %s: %w", ev.Run, err)
	}
	return rctx, func() { cc.Stop(); cancel(nil) }, nil
}

// waitCheckpoint waits until the run has a verdict for variant, saves and
// prints the report, and returns what the verdict makes of the exit status:
// errGateFailed when the variant failed, errGateInconclusive when its gate
// could not decide, an error when the run could not be evaluated. known says that the run had the variant before it was
// announced, so that the run's status will not change.
func waitCheckpoint(ctx context.Context, b *bus.Bus, run, variant string, known bool, out string, stdout, stderr io.Writer) error {
	reopened := known
	st, err := waitStatus(ctx, b, run, stderr, func(st *eval.RunStatus) bool {
		if st.State == eval.StateRunning {
			reopened = true
			return false
		}
		if _, judged := st.Gates[variant]; judged && st.State == eval.StateComplete {
			return true
		}
		// A run that could not be evaluated has no verdict for the
		// variant; a status from before the run took the checkpoint in
		// is the run without it.
		return reopened && (st.State == eval.StateError || st.Verdict == document.VerdictError)
	})
	if err != nil {
		return err
	}
	if st.State == eval.StateError {
		_, _ = showReport(ctx, b, run, out, stdout, "")
		return runError(st)
	}
	// The checkpoint's own verdict: another variant of the run that could
	// not be evaluated (an earlier checkpoint whose endpoint was down) is
	// no reason for this one's.
	verdict, ok := st.Verdicts[variant]
	if !ok {
		verdict = st.Verdict // a status written before per-variant verdicts
		if verdict == "" && st.Gates[variant] {
			verdict = document.VerdictPass
		}
	}
	line := map[string]string{document.VerdictPass: "PASSED", document.VerdictError: "ERROR (could not be evaluated)",
		document.VerdictInconclusive: "INCONCLUSIVE (not decided at this sample size)"}[verdict]
	switch {
	case verdict == document.VerdictFail || verdict == "":
		line = "FAILED" // "": a status written before verdicts, not passed
	case line == "":
		line = fmt.Sprintf("verdict %q unknown to this assay", verdict)
	}
	rep, err := showReport(ctx, b, run, out, stdout, fmt.Sprintf("checkpoint %s: gate %s", variant, line))
	if err != nil {
		return err
	}
	switch verdict {
	case document.VerdictPass:
		return nil
	case document.VerdictInconclusive:
		return errGateInconclusive
	case document.VerdictError:
		return variantError(run, variant, rep)
	case document.VerdictFail, "":
		return errGateFailed
	}
	// As verdictError does for a run: a verdict this assay does not know
	// is no model result.
	return fmt.Errorf("run %s: checkpoint %s: unknown gate verdict %q", run, variant, verdict)
}

// variantError is the error of a variant that could not be evaluated,
// naming the reasons that concern it: its checks', the baseline's and the
// run's.
func variantError(run, variant string, rep *document.Report) error {
	var why []string
	for _, c := range rep.Gate.Checks {
		if c.Error != "" && c.AppliesTo(variant, rep.Baseline) {
			why = append(why, c.Error)
		}
	}
	if len(why) == 0 {
		why = []string{"see the report's warnings"}
	}
	return fmt.Errorf("run %s, checkpoint %s %w: %s", run, variant, errUnevaluated, strings.Join(why, "; "))
}

// statusCheck is how often a waiter also reads the run's status. The watch
// sees an update at once, but it is an ordered consumer on the server: when
// its server restarts (a killed `assay up`) or its node fails, it recovers
// only after missing two of its 5 s heartbeats, and --wait returned 14–17 s
// after the report was stored. Reading the key bounds that delay.
const statusCheck = time.Second

// waitStatus waits until a run's status satisfies done, showing progress.
// It follows the status key's updates and reads it every [statusCheck],
// taking each revision once and in order, so done sees the statuses as
// they were stored. The reads alone see the run through: a watch that
// cannot be made yet (its consumer's creation lost while a node fails
// over is answered by nothing but the deadline) is tried again meanwhile.
func waitStatus(ctx context.Context, b *bus.Bus, run string, w io.Writer, done func(*eval.RunStatus) bool) (*eval.RunStatus, error) {
	key := bus.StatusKey(run)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // the watcher has returned when the wait does
	defer cancel()
	watches := make(chan jetstream.KeyWatcher)
	wg.Go(func() { watchStatus(ctx, b, key, watches) })
	var updates <-chan jetstream.KeyValueEntry
	p := newProgress(w)
	defer p.done()
	check := time.NewTicker(statusCheck)
	defer check.Stop()
	var seen uint64
	for {
		var e jetstream.KeyValueEntry
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case watch := <-watches:
			defer watch.Stop()
			updates = watch.Updates()
			continue
		case u, ok := <-updates:
			if !ok {
				updates = nil // stopped: the reads go on
				continue
			}
			e = u
		case <-check.C:
			e = readStatus(ctx, b, key)
		}
		if e == nil || e.Revision() <= seen {
			continue
		}
		seen = e.Revision()
		var st eval.RunStatus
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			continue
		}
		p.show(&st)
		if done(&st) {
			return &st, nil
		}
	}
}

// watchKey starts a watch of a key of the runs bucket; tests replace it.
var watchKey = func(ctx context.Context, b *bus.Bus, key string) (jetstream.KeyWatcher, error) {
	return b.Runs.Watch(ctx, key)
}

// watchStatus makes a watch of key and hands it on watches, trying again
// every [statusCheck] until one is made or ctx ends.
func watchStatus(ctx context.Context, b *bus.Bus, key string, watches chan<- jetstream.KeyWatcher) {
	for {
		watch, err := watchKey(ctx, b, key)
		if err == nil {
			select {
			case watches <- watch:
			case <-ctx.Done():
				_ = watch.Stop()
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(statusCheck):
		}
	}
}

// readStatus reads the status key, or returns nil when it cannot: a read
// that fails or times out (a node failing over) is left to the next check
// or the watch, and never holds up the watch's updates for long.
func readStatus(ctx context.Context, b *bus.Bus, key string) jetstream.KeyValueEntry {
	ctx, cancel := context.WithTimeout(ctx, 2*statusCheck)
	defer cancel()
	e, err := b.Runs.Get(ctx, key)
	if err != nil {
		return nil
	}
	return e
}
