package aggregate

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/assay-eval/assay/pkg/eval"
)

// randomRun adds to each collector the same results of a run drawn from
// seed: scores of every bucket, some samples missing a variant, robustness
// copies, contaminated and clustered samples, dead letters, judgments of
// every verdict, and duplicates, in one shuffled order.
func randomRun(t *testing.T, seed uint64, cs ...*Collector) {
	t.Helper()
	randomRunIn(t, seed, seed, cs...)
}

// randomRunIn is [randomRun] with the order of arrival drawn from order.
func randomRunIn(t *testing.T, seed, order uint64, cs ...*Collector) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	spec := cs[0].Spec()
	n := 1 + r.IntN(40)
	if seed%4 == 0 {
		n = 2100 + r.IntN(400) // more than a batch of 4,096 rows
	}
	var adds []func(*Collector)
	copies := map[string]bool{}
	buckets := []eval.Bucket{eval.BucketOK, eval.BucketOK, eval.BucketOK, eval.BucketWrongAnswer, eval.BucketRefusal,
		eval.BucketTruncated, eval.BucketFormatError, eval.BucketEmpty, eval.BucketError}
	for i := range n {
		suite, id, seq := "qa", fmt.Sprintf("q%05d", i), uint64(i+1)
		if r.IntN(2) == 0 {
			suite = "biz"
		}
		cluster := fmt.Sprint(r.IntN(1 + n/5))
		var pert *eval.Perturbation
		if suite == "qa" && i > 0 && r.IntN(8) == 0 {
			pert = &eval.Perturbation{Kind: "typos", Original: fmt.Sprintf("q%05d", r.IntN(i))}
			id = pert.Original + "~typos"
			if copies[id] {
				// One copy of a kind per original: two samples with one
				// id would be a duplicate, the first to arrive counted.
				pert, id = nil, fmt.Sprintf("q%05d", i)
			}
			copies[id] = true
		}
		contaminated := r.IntN(10) == 0
		ftScored := false
		for _, v := range []string{"base", "ft"} {
			if r.IntN(20) == 0 {
				continue
			}
			ftScored = ftScored || v == "ft"
			b := buckets[r.IntN(len(buckets))]
			var ms map[string]float64
			if suite == "qa" {
				ms = em(float64(r.IntN(2)))
			} else {
				ms = jsonMetrics(float64(r.IntN(2)), float64(r.IntN(5))/4)
			}
			s := mkScore(spec, v, suite, id, seq, b, ms)
			s.Sample.Cluster, s.Sample.Perturbation, s.Sample.Contaminated = cluster, pert, contaminated
			s.OutputChars, s.OutputTokens, s.LatencyMS = r.IntN(400), r.IntN(300), r.Float64()*900
			s.Checks.Refused, s.Checks.Benign = b == eval.BucketRefusal, r.IntN(4) != 0
			if b == eval.BucketError {
				s.Metrics, s.Reason, s.Cause, s.LatencyMS = map[string]float64{}, "HTTP 500", "HTTP 500", 0
			} else if b != eval.BucketOK {
				s.Reason = "reason " + string(b)
			}
			adds = append(adds, func(c *Collector) { c.AddScore(s) })
			if r.IntN(10) == 0 {
				adds = append(adds, func(c *Collector) { c.AddScore(s) }) // redelivered
			}
		}
		switch {
		case r.IntN(25) == 0 && !ftScored:
			// A generation dead-lettered has no score: with both, the
			// first to arrive would count.
			d := &eval.DeadLetter{V: 1, Stage: "infer", Run: spec.Run, Suite: suite, Sample: id, Variant: "ft",
				Subject: "assay.samples." + spec.Run, Seq: seq, Reason: "HTTP 400"}
			adds = append(adds, func(c *Collector) { c.AddStagedDeadLetter("infer", d) })
		case pert == nil:
			w := []eval.Winner{eval.WinCandidate, eval.WinBaseline, eval.WinTie}[r.IntN(3)]
			j := mkJudgment(spec, suite, id, seq, w, r.IntN(5) != 0)
			j.Sample.Cluster, j.Sample.Contaminated = cluster, contaminated
			if r.IntN(30) == 0 {
				j.Winner, j.Rounds, j.Error = "", nil, "judge answered nothing"
			}
			adds = append(adds, func(c *Collector) { c.AddJudgment(j) })
		}
	}
	rand.New(rand.NewPCG(order, 11)).Shuffle(len(adds), func(i, j int) { adds[i], adds[j] = adds[j], adds[i] })
	for _, add := range adds {
		for _, c := range cs {
			add(c)
		}
	}
}

// TestSpilledReportIsTheSame: a collector that writes every batch to disk
// gives the same report, to the byte, and the same Parquet files as one
// that keeps everything in memory, over random runs — with a report
// computed midway, as a live run's refreshes do.
func TestSpilledReportIsTheSame(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			spec := testSpec()
			spec.Suites[0].Perturbations = []string{"typos"}
			spec.Suites[1].Cluster = "doc"
			dir := t.TempDir()
			inRAM, spilled := New(spec, WithSpill("", 0)), New(spec, WithSpill(dir, 1))
			defer inRAM.Release()
			defer spilled.Release()
			for _, c := range []*Collector{inRAM, spilled} {
				c.SetIngest(&eval.IngestStatus{V: 1, Run: spec.Run, Done: true, Samples: 10,
					Suites: map[string]*eval.SuiteStatus{"qa": {Samples: 5}, "biz": {Samples: 5}}})
			}
			randomRun(t, seed, inRAM, spilled)
			sameOutput(t, inRAM, spilled)
			randomRun(t, seed+100, inRAM, spilled)
			sameOutput(t, inRAM, spilled)
			if segs, _ := filepath.Glob(filepath.Join(dir, spillPrefix+"*", "*.arrow")); len(segs) == 0 {
				t.Fatal("nothing was spilled")
			}
		})
	}
}

// TestReportIsTheSameInAnyArrivalOrder: the final pass reads results in
// the order they arrived and places each sample's values by its position
// in id order; the report is the same to the byte whatever that order was,
// over random runs with copies, clusters, contamination, failures, JSON
// checks and judgments, spilled or not.
func TestReportIsTheSameInAnyArrivalOrder(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			spec := testSpec()
			spec.Suites[0].Perturbations = []string{"typos"}
			spec.Suites[1].Cluster = "doc"
			var reports [][]byte
			for order, spill := range []int64{0, 1, 0} {
				c := New(spec, WithSpill(t.TempDir(), spill))
				defer c.Release()
				c.SetIngest(&eval.IngestStatus{V: 1, Run: spec.Run, Done: true, Samples: 10,
					Suites: map[string]*eval.SuiteStatus{"qa": {Samples: 5}, "biz": {Samples: 5}}})
				randomRunIn(t, seed, seed*10+uint64(order), c)
				reports = append(reports, encode(t, report(t, c, &fakeFetcher{})))
			}
			for i := 1; i < len(reports); i++ {
				if !bytes.Equal(reports[0], reports[i]) {
					t.Fatalf("the report of arrival order %d differs:\n%s", i, lineDiff(string(reports[0]), string(reports[i])))
				}
			}
		})
	}
}

// sameOutput fails unless both collectors give the same report and files.
func sameOutput(t *testing.T, want, got *Collector) {
	t.Helper()
	if w, g := encode(t, report(t, want, &fakeFetcher{})), encode(t, report(t, got, &fakeFetcher{})); !bytes.Equal(w, g) {
		t.Fatalf("spilled report differs:\n%s", lineDiff(string(w), string(g)))
	}
	wr, gr := want.Rows(), got.Rows()
	defer wr.Release()
	defer gr.Release()
	for _, write := range []func(*Rows, *bytes.Buffer) error{
		func(r *Rows, b *bytes.Buffer) error {
			_, err := r.WriteScores(t.Context(), b, &textFetcher{})
			return err
		},
		func(r *Rows, b *bytes.Buffer) error {
			_, err := r.WriteJudgments(t.Context(), b, &textFetcher{})
			return err
		},
	} {
		var w, g bytes.Buffer
		if err := write(wr, &w); err != nil {
			t.Fatal(err)
		}
		if err := write(gr, &g); err != nil {
			t.Fatal(err)
		}
		// The files' bytes may differ (a column without nulls read back
		// from a segment has a validity bitmap), not what they hold.
		if !array.TableEqual(readParquet(t, w.Bytes()), readParquet(t, g.Bytes())) {
			t.Fatal("spilled Parquet file differs")
		}
	}
}

// lineDiff is the first line where a and b differ, with its neighbours.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(al), len(bl))
}

// TestSpillRemoved: the spill directory, with its segments, is gone once
// the collector is released, and one no process holds the lock of is
// removed by the next collector that spills in the same place — one of a
// process of the same pid (a container's PID 1 restarted), or with no lock
// file at all — while one whose lock is held is kept, whatever pid its
// name says (another container's, sharing the volume).
func TestSpillRemoved(t *testing.T) {
	if !locking {
		t.Skip("no flock: no spill directory is told abandoned")
	}
	dir := t.TempDir()
	samePid := filepath.Join(dir, fmt.Sprintf("%s%d-1", spillPrefix, os.Getpid()))
	noLock := filepath.Join(dir, fmt.Sprintf("%s%d-2", spillPrefix, os.Getpid()+1))
	held := filepath.Join(dir, fmt.Sprintf("%s%d-3", spillPrefix, 1))
	making := filepath.Join(dir, fmt.Sprintf("%s%d-4", newSpillPrefix, 1))
	madeCrashed := filepath.Join(dir, fmt.Sprintf("%s%d-5", newSpillPrefix, 1))
	other := filepath.Join(dir, "someone-else")
	for _, d := range []string{samePid, noLock, held, making, madeCrashed, other} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "000001.arrow"), make([]byte, 1<<10), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{samePid, held, madeCrashed} {
		if err := os.WriteFile(filepath.Join(d, spillLock), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	lock, err := os.Open(filepath.Join(held, spillLock))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if ok, err := tryLock(lock); !ok || err != nil {
		t.Fatalf("locking %s: %v, %v", held, ok, err)
	}

	c := New(testSpec(), WithSpill(dir, 1))
	randomRun(t, 3, c)
	report(t, c, nil)
	mine := c.spill.dir
	if !strings.HasPrefix(filepath.Base(mine), fmt.Sprintf("%s%d-", spillPrefix, os.Getpid())) {
		t.Fatalf("spill directory %s, want one named with this process's pid", mine)
	}
	for _, d := range []string{samePid, noLock, madeCrashed} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("abandoned %s is still there (%v)", filepath.Base(d), err)
		}
	}
	// A second collector spilling in the same place keeps the first's.
	c2 := New(testSpec(), WithSpill(dir, 1))
	randomRun(t, 3, c2)
	report(t, c2, nil)
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a live collector's spill directory was removed by another: %v", err)
	}
	c2.Release()
	c.Release()
	if _, err := os.Stat(mine); !os.IsNotExist(err) {
		t.Errorf("the spill directory outlives its collector (%v)", err)
	}
	for _, d := range []string{held, making, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(d), err)
		}
	}
}

// TestSpillLockHeldByAnotherProcess: a spill directory whose lock a live
// process holds (another container's, of any pid) is kept, and removed
// once that process is gone.
func TestSpillLockHeldByAnotherProcess(t *testing.T) {
	if !locking {
		t.Skip("no flock: no spill directory is told abandoned")
	}
	dir := t.TempDir()
	held := filepath.Join(dir, spillPrefix+"1-1")
	if err := os.MkdirAll(held, 0o700); err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(held, spillLock)
	if err := os.WriteFile(lockPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// This test binary, run again as TestSpillLockHolder, takes the lock,
	// says so, and holds it until its stdin closes.
	holder := exec.Command(os.Args[0], "-test.run=^TestSpillLockHolder$")
	holder.Env = append(os.Environ(), "ASSAY_SPILL_LOCK="+lockPath)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	defer stdin.Close()
	said, err := bufio.NewReader(stdout).ReadString('\n')
	if said != "locked\n" {
		t.Fatalf("the holder said %q (%v), not that it took the lock", said, err)
	}
	c := New(testSpec(), WithSpill(dir, 1))
	defer c.Release()
	randomRun(t, 3, c)
	report(t, c, nil)
	if _, err := os.Stat(held); err != nil {
		t.Fatalf("a spill directory another process holds was removed: %v", err)
	}
	stdin.Close()
	io.Copy(io.Discard, stdout)
	if err := holder.Wait(); err != nil {
		t.Fatal(err)
	}
	c2 := New(testSpec(), WithSpill(dir, 1))
	defer c2.Release()
	randomRun(t, 3, c2)
	report(t, c2, nil)
	if _, err := os.Stat(held); !os.IsNotExist(err) {
		t.Fatalf("a spill directory whose process ended is still there (%v)", err)
	}
}

// TestSpillLockHolder is the process TestSpillLockHeldByAnotherProcess
// starts; run on its own, it does nothing.
func TestSpillLockHolder(t *testing.T) {
	path := os.Getenv("ASSAY_SPILL_LOCK")
	if path == "" {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := tryLock(f); !ok || err != nil {
		t.Fatalf("locking %s: %v, %v", path, ok, err)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	f.Close()
}

// spilledRun is a collector that spilled every batch of a random run drawn
// from seed, and its segment files.
func spilledRun(t *testing.T, seed uint64) (*Collector, []string) {
	t.Helper()
	dir := t.TempDir()
	c := New(testSpec(), WithSpill(dir, 1))
	t.Cleanup(c.Release)
	randomRun(t, seed, c)
	report(t, c, nil)
	segs, _ := filepath.Glob(filepath.Join(dir, spillPrefix+"*", "*.arrow"))
	if len(segs) == 0 {
		t.Fatal("nothing was spilled")
	}
	return c, segs
}

// TestSpillReadFailure: a segment that cannot be read back fails the
// report rather than leave its results out of it.
func TestSpillReadFailure(t *testing.T) {
	c, segs := spilledRun(t, 5)
	if err := os.WriteFile(segs[0], []byte("not arrow"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rep, err := c.Report(t.Context(), nil, time.Now()); err == nil {
		t.Fatalf("report computed over a lost segment: %d scores", rep.Progress.Scores)
	}
}

// TestSpillWriteFailure: when segments cannot be written, the results stay
// in memory, every one counts, and the report says so; a minute later the
// tables spill again, once they can, and the report counts the failures.
func TestSpillWriteFailure(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "spill")
	if err := os.WriteFile(parent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	spec := testSpec()
	inRAM, failing := New(spec, WithSpill("", 0)), New(spec, WithSpill(parent, 1))
	defer inRAM.Release()
	defer failing.Release()
	now := time.Unix(1e9, 0)
	failing.spill.now = func() time.Time { return now }
	spilled := func() []string {
		segs, _ := filepath.Glob(filepath.Join(parent, spillPrefix+"*", "*.arrow"))
		return segs
	}
	// sameBut fails unless the reports are the same but for one warning
	// counting failures.
	sameBut := func(failures int) {
		t.Helper()
		want, got := report(t, inRAM, nil), report(t, failing, nil)
		if len(got.Warnings) != len(want.Warnings)+1 {
			t.Fatalf("warnings %q, want those of the report in memory and one about spilling", got.Warnings)
		}
		if w := got.Warnings[len(got.Warnings)-1]; !strings.Contains(w, fmt.Sprintf("could not be spilled to disk %d times", failures)) ||
			!strings.Contains(w, "tried again") {
			t.Fatalf("warning %q, want one counting %d failures", w, failures)
		}
		got.Warnings = want.Warnings
		if w, g := encode(t, want), encode(t, got); !bytes.Equal(w, g) {
			t.Fatalf("report differs:\n%s", lineDiff(string(w), string(g)))
		}
	}

	randomRun(t, 1, inRAM, failing)
	report(t, failing, nil) // seals, and tries to spill, the rows
	failures := failing.scores.spillFailures + failing.judgments.spillFailures
	if failures == 0 {
		t.Fatal("no write failed")
	}
	sameBut(failures)
	// The disk has room again: nothing is written before the minute.
	if err := os.Remove(parent); err != nil {
		t.Fatal(err)
	}
	randomRun(t, 2, inRAM, failing)
	sameBut(failures)
	if segs := spilled(); len(segs) > 0 {
		t.Fatalf("spilled %d segments before the minute was up", len(segs))
	}
	now = now.Add(spillRetryAfter)
	randomRun(t, 4, inRAM, failing)
	sameBut(failures)
	if len(spilled()) == 0 {
		t.Fatal("nothing spilled a minute after the failure")
	}
}

// TestSpilledRowsOutliveTheCollector: Rows taken from a collector that
// spilled read their segments after it is released and more results came,
// and the spill directory goes with the last of them.
func TestSpilledRowsOutliveTheCollector(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec()
	c := New(spec, WithSpill(dir, 1))
	for i := range 10 {
		mustAdd(t, c, mkScore(spec, "base", "qa", fmt.Sprintf("q%02d", i), uint64(i+1), eval.BucketOK, em(1)))
	}
	rows := c.Rows()
	defer rows.Release()
	for i := range batchRows + 10 {
		mustAdd(t, c, mkScore(spec, "ft", "qa", fmt.Sprintf("q%05d", i), uint64(i+1), eval.BucketOK, em(0)))
	}
	c.Release()
	var buf bytes.Buffer
	n, err := rows.WriteScores(t.Context(), &buf, &textFetcher{})
	if err != nil || n.Rows != 10 {
		t.Fatalf("wrote %+v, %v; want the 10 rows there were", n, err)
	}
	rows.Release()
	if left, _ := filepath.Glob(filepath.Join(dir, spillPrefix+"*")); len(left) > 0 {
		t.Fatalf("spill directories left: %v", left)
	}
}

// TestSpillSegmentsPrivate: segments are readable by their owner only,
// whatever the umask, as the results they hold are the run's.
func TestSpillSegmentsPrivate(t *testing.T) {
	_, segs := spilledRun(t, 4)
	for _, seg := range segs {
		fi, err := os.Stat(seg)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", seg, perm)
		}
	}
}
