package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// poisonOnClose is a suite file that, once uploaded (closed by submit
// after its put), has its stored object replaced by other content: as if
// someone holding a client seed replaced it before ingest read it.
type poisonOnClose struct {
	*os.File
	poison func() error
}

func (p poisonOnClose) Close() error {
	err := p.File.Close()
	if perr := p.poison(); err == nil {
		err = perr
	}
	return err
}

// TestReplacedDatasetFailsTheRun: a suite replaced in the object store
// after its upload is refused by ingest, which ends the run in error with
// the integrity error naming the object, and nothing is scored against it.
func TestReplacedDatasetFailsTheRun(t *testing.T) {
	sim := newListener(t, llmsim.New(llmsim.Options{Seed: 1}).Handler())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop() })
	b := sys.Env.Bus
	dir := t.TempDir()
	suite := []byte(`{"id": "q1", "prompt": "Symbol of gold?", "reference": ["Au"]}` + "\n")
	if err := os.WriteFile(filepath.Join(dir, "qa.jsonl"), suite, 0o644); err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(dir, "poisoned.yaml")
	if err := os.WriteFile(specFile, []byte("run: poisoned\nbaseline: base\nvariants:\n  - {name: base, base_url: "+sim.URL+"/v1, model: sim-base}\n"+
		"suites:\n  - {name: qa, path: qa.jsonl, metrics: [em]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := eval.LoadSpec(specFile)
	if err != nil {
		t.Fatal(err)
	}
	var object string
	open := func(p string) (io.ReadSeekCloser, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		return poisonOnClose{File: f, poison: func() error {
			object = spec.Suites[0].Object
			if object == "" {
				// submit sets it after Close: name it by its content.
				name, err := b.PutDataset(ctx, "qa.jsonl", strings.NewReader(string(suite)))
				if err != nil {
					return err
				}
				object = name
			}
			_, err := b.Datasets.PutBytes(ctx, object, []byte(`{"id": "q1", "prompt": "Symbol of gold?", "reference": ["Ag"]}`+"\n"))
			return err
		}}, nil
	}
	if err := submit(ctx, b, spec, open); err != nil {
		t.Fatal(err)
	}
	st := waitComplete(t, b, "poisoned", 2*time.Minute)
	if st.State != eval.StateError || !strings.Contains(st.Error, object) || !strings.Contains(st.Error, "replaced after it was stored") {
		t.Fatalf("run state %s, error %q; want an error naming %s as replaced", st.State, st.Error, object)
	}
	if n := streamCount(t, ctx, b, bus.StreamScores, bus.ScoresSubject("poisoned", ">")); n != 0 {
		t.Fatalf("%d scores of a run whose suite was replaced", n)
	}
}
