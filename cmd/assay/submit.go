package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/nats-io/nats.go/jetstream"
)

// openFunc opens a suite's dataset by its resolved path.
type openFunc func(path string) (io.ReadSeekCloser, error)

func openFile(p string) (io.ReadSeekCloser, error) { return os.Open(p) }

// submit uploads spec's datasets and submits the run.
func submit(ctx context.Context, b *bus.Bus, spec *eval.RunSpec, open openFunc) error {
	for i := range spec.Suites {
		su := &spec.Suites[i]
		if su.Intake {
			continue // production queries, not a file
		}
		if eval.IsDatasetDir(su.Path) {
			parts, err := uploadDir(ctx, b, su.Path, su.File, open, isDataset)
			if err != nil {
				return fmt.Errorf("suite %s: %w", su.Name, err)
			}
			su.Parts = parts
			continue
		}
		f, err := open(su.File)
		if err != nil {
			return fmt.Errorf("suite %s: %w", su.Name, err)
		}
		su.Object, err = b.PutDataset(ctx, su.Path, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	if cc := spec.Contamination; cc != nil {
		if eval.IsDatasetDir(cc.Train) {
			parts, err := uploadDir(ctx, b, cc.Train, cc.File, open, eval.TrainingFile)
			if err != nil {
				return fmt.Errorf("contamination: %w", err)
			}
			cc.Parts = parts
		} else {
			f, err := open(cc.File)
			if err != nil {
				return fmt.Errorf("contamination: %w", err)
			}
			obj, err := b.PutDataset(ctx, cc.Train, f)
			f.Close()
			if err != nil {
				return err
			}
			cc.Parts = []eval.DatasetPart{{Path: cc.Train, Object: obj}}
		}
	}
	return submitRetrying(ctx, b.SubmitRun, spec, bus.DefaultWait)
}

// submitRetrying submits spec, trying again for up to wait while NATS
// answers as a cluster electing a leader does (a node restarting or cut
// off: no response from the stream, a timeout). Submitting again is
// safe: a run already stored with the same spec is resumed, not doubled.
func submitRetrying(ctx context.Context, submitRun func(context.Context, *eval.RunSpec) error, spec *eval.RunSpec, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for pause := 250 * time.Millisecond; ; pause = min(2*pause, 5*time.Second) {
		err := submitRun(ctx, spec)
		if err == nil || !bus.Retryable(err) || ctx.Err() != nil || time.Now().Add(pause).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

func isDataset(name string) bool {
	_, err := eval.DatasetFormat(name)
	return err == nil
}

// uploadDir uploads every file under dir that keep accepts (recursively,
// in name order; hidden files are left out).
func uploadDir(ctx context.Context, b *bus.Bus, path, dir string, open openFunc, keep func(name string) bool) ([]eval.DatasetPart, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && keep(d.Name()) {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s has no files to read", dir)
	}
	parts := make([]eval.DatasetPart, 0, len(names))
	for _, name := range names {
		rel, err := filepath.Rel(dir, name)
		if err != nil {
			return nil, err
		}
		part := eval.DatasetPart{Path: strings.TrimSuffix(path, "/") + "/" + filepath.ToSlash(rel)}
		f, err := open(name)
		if err != nil {
			return nil, err
		}
		part.Object, err = b.PutDataset(ctx, part.Path, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return parts, nil
}

// errContinuousWait refuses to wait for a run that never completes.
var errContinuousWait = errors.New("a continuous run evaluates production queries as they arrive and never completes, so --wait would never return: " +
	"follow its report with assay report, or alert on the assay_report_window_* gauges")

// waitable says whether run completes, so that --wait can return; a run
// that does not exist yet is left to the command to report.
func waitable(ctx context.Context, b *bus.Bus, run string) error {
	spec, err := b.Spec(ctx, run)
	if err != nil {
		return nil
	}
	if spec.Continuous != nil {
		return usagef("run %s: %w", run, errContinuousWait)
	}
	return nil
}

// waitRun waits until run is over — complete, or in state error when it
// could not be evaluated — writing progress to w.
func waitRun(ctx context.Context, b *bus.Bus, run string, w io.Writer) (*eval.RunStatus, error) {
	return waitStatus(ctx, b, run, w, func(st *eval.RunStatus) bool {
		return st.State == eval.StateComplete || st.State == eval.StateError
	})
}

// runError is the error of a run that ended in state error.
func runError(st *eval.RunStatus) error {
	why := st.Error
	if why == "" {
		why = "no cause recorded: see assay report --run " + st.Run
	}
	return fmt.Errorf("run %s %w: %s", st.Run, errUnevaluated, why)
}

// progress draws a one-line progress display, redrawn in place on a
// terminal and printed every few seconds otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) show(st *eval.RunStatus) {
	if p.w == nil {
		return
	}
	line := fmt.Sprintf("%s: scores %d/%s  judgments %d/%s", st.Run, st.Scores, expected(st.ScoresExpected), st.Judgments, expected(st.JudgmentsExpected))
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.drawn = true
	case time.Since(p.last) > 3*time.Second || st.State != eval.StateRunning:
		fmt.Fprintln(p.w, line)
		p.last = time.Now()
	}
}

func expected(n int) string {
	if n == 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

func (p *progress) done() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}

// saveReport fetches the stored report files of a complete run into dir
// and returns the report and the written paths in a stable order.
func saveReport(ctx context.Context, b *bus.Bus, run, dir string) (*document.Report, []string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("creating report directory: %w", err)
	}
	var rep document.Report
	var paths []string
	for _, name := range []string{"report.json", "report.md", "report.html", "scores.parquet", "judgments.parquet"} {
		data, err := bus.ReadObject(ctx, b.Reports, report.ReportObject(run, name))
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("fetching %s: %w", name, err)
		}
		if name == "report.json" {
			if err := json.NewDecoder(bytes.NewReader(data)).Decode(&rep); err != nil {
				return nil, nil, fmt.Errorf("report.json does not decode: %w", err)
			}
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, nil, fmt.Errorf("writing %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	if !slices.ContainsFunc(paths, func(p string) bool { return filepath.Base(p) == "report.json" }) {
		return nil, nil, fmt.Errorf("run %s has no stored report yet: is it complete?", run)
	}
	return &rep, paths, nil
}

// writeFiles writes rendered report files into dir.
func writeFiles(dir string, files map[string][]byte) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating report directory: %w", err)
	}
	var paths []string
	for _, name := range []string{"report.json", "report.md", "report.html", "scores.parquet", "judgments.parquet"} {
		data, ok := files[name]
		if !ok {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, fmt.Errorf("writing %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
