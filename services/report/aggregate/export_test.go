package aggregate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/assay-eval/assay/pkg/eval"
)

// textFetcher serves the fixture's texts (see fakeFetcher) to concurrent
// readers, counts the fetches of each text and the most in flight, and
// fails the sequences it is told to.
type textFetcher struct {
	fakeFetcher
	gone map[string]bool // "sample 3", "gen 201": ErrTextGone
	fail map[string]bool // any other error

	mu       sync.Mutex
	count    map[string]int
	inFlight int
	peak     int
}

func (f *textFetcher) begin(what string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.count == nil {
		f.count = map[string]int{}
	}
	f.count[what]++
	f.inFlight++
	f.peak = max(f.peak, f.inFlight)
	switch {
	case f.gone[what]:
		return fmt.Errorf("reading %s: %w", what, ErrTextGone)
	case f.fail[what]:
		return fmt.Errorf("reading %s: nats: timeout", what)
	}
	return nil
}

func (f *textFetcher) end() {
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
}

// batchFetcher is textFetcher read in batches, a sequence at a time, in
// order, as [BatchFetcher] promises.
type batchFetcher struct{ *textFetcher }

func (f *batchFetcher) Samples(ctx context.Context, seqs []uint64, fn func(uint64, *eval.Sample, error)) error {
	if !slices.IsSorted(seqs) {
		return fmt.Errorf("sequences out of order: %v", seqs)
	}
	for _, seq := range seqs {
		s, err := f.Sample(ctx, seq)
		fn(seq, s, err)
	}
	return ctx.Err()
}

func (f *batchFetcher) Generations(ctx context.Context, seqs []uint64, fn func(uint64, *eval.Generation, error)) error {
	if !slices.IsSorted(seqs) {
		return fmt.Errorf("sequences out of order: %v", seqs)
	}
	for _, seq := range seqs {
		g, err := f.Generation(ctx, seq)
		fn(seq, g, err)
	}
	return ctx.Err()
}

func (f *textFetcher) Sample(ctx context.Context, seq uint64) (*eval.Sample, error) {
	defer f.end()
	if err := f.begin(fmt.Sprintf("sample %d", seq)); err != nil {
		return nil, err
	}
	s, _ := (&fakeFetcher{}).Sample(ctx, seq)
	if seq <= 10 {
		s.Reference = &eval.Reference{Answers: []string{"answer <" + s.ID + ">"}}
	}
	return s, nil
}

func (f *textFetcher) Generation(ctx context.Context, seq uint64) (*eval.Generation, error) {
	defer f.end()
	if err := f.begin(fmt.Sprintf("gen %d", seq)); err != nil {
		return nil, err
	}
	return (&fakeFetcher{}).Generation(ctx, seq)
}

// readParquet reads a Parquet file back.
func readParquet(t *testing.T, data []byte) arrow.Table {
	t.Helper()
	tbl, err := ReadParquet(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tbl.Release)
	return tbl
}

// rowOf finds the row whose columns have the given values.
func rowOf(t *testing.T, tbl arrow.Table, match map[string]string) int {
	t.Helper()
	for i := range int(tbl.NumRows()) {
		ok := true
		for col, v := range match {
			if value(tbl, col, i) != v {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	t.Fatalf("no row with %v", match)
	return -1
}

// documented are the columns the README documents, with their types.
var (
	documentedScores = []string{
		"run:utf8", "suite:utf8", "sample_id:utf8", "sample_seq:uint64", "variant:utf8", "model:utf8", "params:utf8", "fingerprint:utf8",
		"prompt:utf8?", "messages:utf8?", "output:utf8?", "reference:utf8?",
		"bucket:utf8", "reason:utf8", "refused:bool", "benign:bool", "truncated:bool", "empty:bool", "json_valid:bool?", "schema_pass:bool?",
		"output_tokens:int64", "output_chars:int64", "latency_ms:float64?", "ttft_ms:float64?", "itl_ms:float64?", "gen_seq:uint64", "cause:utf8",
		"query_time:timestamp[ms, tz=UTC]?", "perturbation:utf8", "original:utf8", "contaminated:bool", "cluster:utf8", "ref_chars:int64", "output_hash:uint64", "unanswerable:bool", "opening_hash:uint64", "closing_hash:uint64", "failed_metrics:utf8",
		"metric_em:float64?", "metric_json_fields:float64?", "metric_json_valid:float64?",
	}
	documentedJudgments = []string{
		"run:utf8", "suite:utf8", "sample_id:utf8", "sample_seq:uint64", "judge:utf8", "judge_id:utf8", "candidate:utf8", "baseline:utf8",
		"candidate_model:utf8", "baseline_model:utf8", "candidate_params:utf8", "baseline_params:utf8",
		"prompt:utf8?", "messages:utf8?", "reference:utf8?", "candidate_output:utf8?", "baseline_output:utf8?",
		"winner:utf8", "consistent:bool", "error:utf8", "generation_failed:bool", "cause:utf8", "round1:utf8", "round2:utf8",
		"query_time:timestamp[ms, tz=UTC]?", "perturbation:utf8", "cluster:utf8", "dims:utf8", "flags:int64", "fix:utf8",
	}
	documentedGenerations = []string{
		"id:utf8", "suite:utf8", "variant:utf8", "model:utf8", "params:utf8", "prompt:utf8?", "messages:utf8?", "output:utf8?",
		"reasoning:utf8", "reference:utf8?", "turns:utf8?", "finish_reason:utf8", "prompt_tokens:int64", "completion_tokens:int64",
		"total_tokens:int64", "latency_ms:float64?", "ttft_ms:float64?", "itl_ms:float64?", "error:utf8", "cause:utf8", "run:utf8",
		"fingerprint:utf8", "sample_seq:uint64", "gen_seq:uint64",
	}
)

// columns describes a schema as name:type, with ? for a nullable column.
func columns(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		c := f.Name + ":" + f.Type.String()
		if f.Nullable {
			c += "?"
		}
		out = append(out, c)
	}
	return out
}

// sqlKeywords are words that a query must quote when a column is named
// after them (SQL:2016 reserved words and common engines' keywords).
var sqlKeywords = []string{"at", "time", "timestamp", "date", "order", "group", "select", "from", "where", "user", "table", "key",
	"value", "values", "index", "limit", "offset", "join", "by", "as", "case", "end", "default", "check", "column", "row", "rows",
	"range", "window", "year", "month", "day", "hour", "level", "position", "result", "text", "type", "name", "comment", "all", "any",
	"and", "or", "not", "null", "in", "is", "on", "to", "desc", "asc", "primary", "references", "right", "left", "cross", "union"}

// TestExportSchemas: every file has the documented columns, with the
// documented types, and none is named after a SQL keyword.
func TestExportSchemas(t *testing.T) {
	for _, c := range []struct {
		name   string
		schema *arrow.Schema
		want   []string
	}{
		{"scores.parquet", ScoresSchema([]string{"em", "json_fields", "json_valid"}), documentedScores},
		{"judgments.parquet", JudgmentsSchema(), documentedJudgments},
		{"generations", GenerationsSchema(), documentedGenerations},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := columns(c.schema)
			sameRows(t, "columns", got, c.want)
			for _, f := range c.schema.Fields() {
				if slices.Contains(sqlKeywords, strings.ToLower(f.Name)) {
					t.Errorf("column %s is a SQL keyword", f.Name)
				}
			}
		})
	}
}

// TestWriteScores reads scores.parquet back: one row per score (the dead
// letter's included), the texts of each row's own sample and generation,
// null where the generation failed or there is none.
func TestWriteScores(t *testing.T) {
	c := fixture(t)
	rows := c.Rows()
	defer rows.Release()
	fetch := &textFetcher{}
	var buf bytes.Buffer
	n, err := rows.WriteScores(t.Context(), &buf, fetch)
	if err != nil {
		t.Fatal(err)
	}
	tbl := readParquet(t, buf.Bytes())
	sameRows(t, "columns", columns(tbl.Schema()), documentedScores)
	if tbl.NumRows() != 28 || n.Rows != 28 || n.Missing != 0 {
		t.Fatalf("%d rows, wrote %+v; want 28 rows", tbl.NumRows(), n)
	}
	messages := `[{"role":"system","content":"Answer briefly."},{"role":"user","content":"an earlier turn"},` +
		`{"role":"assistant","content":"ok"},{"role":"user","content":"  Question q03?  "}]`
	for _, c := range []struct {
		name  string
		match map[string]string
		want  map[string]string
	}{
		{"an answer", map[string]string{"variant": "base", "sample_id": "q03"}, map[string]string{
			"run": "r1", "prompt": "Question q03?", "messages": messages, "output": "base answer 3",
			"reference": `{"answers":["answer <q03>"]}`, "gen_seq": "103", "metric_em": "1"}},
		{"no reference", map[string]string{"variant": "ft", "sample_id": "b2"}, map[string]string{
			"prompt": "Question b2?", "output": "ft answer 12", "reference": ""}},
		{"a failed generation", map[string]string{"variant": "ft", "sample_id": "q10"}, map[string]string{
			"prompt": "Question q10?", "output": "null", "bucket": "error", "metric_em": "null"}},
		// The dead letter knows its sample by id: its prompt is found by
		// the baseline's score of it.
		{"a dead letter", map[string]string{"variant": "ft", "sample_id": "b4"}, map[string]string{
			"sample_seq": "0", "gen_seq": "0", "prompt": "Question b4?", "output": "null", "bucket": "error"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			i := rowOf(t, tbl, c.match)
			for col, want := range c.want {
				if got := value(tbl, col, i); got != want {
					t.Errorf("%s = %q, want %q", col, got, want)
				}
			}
		})
	}
	// One batch: every text fetched once, though two variants answer
	// each sample.
	for what, k := range fetch.count {
		if k != 1 {
			t.Errorf("%s fetched %d times", what, k)
		}
	}
	if fetch.count["sample 14"] != 1 || fetch.count["gen 0"] != 0 || fetch.count["sample 0"] != 0 {
		t.Errorf("fetches %v", fetch.count)
	}
	if fetch.peak > fetchParallel {
		t.Errorf("%d fetches in flight, at most %d allowed", fetch.peak, fetchParallel)
	}
}

// TestWriteJudgments reads judgments.parquet back: both answers and both
// models beside every verdict.
func TestWriteJudgments(t *testing.T) {
	c := fixture(t)
	rows := c.Rows()
	defer rows.Release()
	var buf bytes.Buffer
	n, err := rows.WriteJudgments(t.Context(), &buf, &textFetcher{})
	if err != nil {
		t.Fatal(err)
	}
	tbl := readParquet(t, buf.Bytes())
	sameRows(t, "columns", columns(tbl.Schema()), documentedJudgments)
	if tbl.NumRows() != 14 || n.Rows != 14 {
		t.Fatalf("%d rows, wrote %+v; want 14", tbl.NumRows(), n)
	}
	for _, c := range []struct {
		id   string
		want map[string]string
	}{
		{"q07", map[string]string{"run": "r1", "winner": "candidate", "prompt": "Question q07?", "candidate_output": "ft answer 7",
			"baseline_output": "base answer 7", "candidate_model": "m-ft", "baseline_model": "m-base", "reference": `{"answers":["answer <q07>"]}`,
			"round1": "candidate_first:candidate:json"}},
		// ft failed q10 for good: its answer is null, the baseline's is there.
		{"q10", map[string]string{"candidate_output": "null", "baseline_output": "base answer 10", "generation_failed": "true"}},
		// ft's b4 was dead-lettered: no generation to show.
		{"b4", map[string]string{"candidate_output": "null", "baseline_output": "base answer 14", "prompt": "Question b4?"}},
	} {
		i := rowOf(t, tbl, map[string]string{"sample_id": c.id})
		for col, want := range c.want {
			if got := value(tbl, col, i); got != want {
				t.Errorf("%s %s = %q, want %q", c.id, col, got, want)
			}
		}
	}
}

// TestWriteClustersAndChars: scores.parquet shows each sample's cluster
// and each answer's length in characters, judgments.parquet the cluster;
// "" is a sample of its own cluster.
func TestWriteClustersAndChars(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	for _, x := range []struct {
		variant, id, cluster string
		chars                int
	}{{"base", "q01", "doc-1", 120}, {"ft", "q01", "doc-1", 7}, {"base", "q02", "", 33}} {
		sc := mkScore(spec, x.variant, "qa", x.id, 1, eval.BucketOK, em(1))
		sc.Sample.Cluster, sc.OutputChars = x.cluster, x.chars
		mustAdd(t, c, sc)
	}
	j := mkJudgment(spec, "qa", "q01", 1, eval.WinCandidate, true)
	j.Sample.Cluster = "doc-1"
	c.AddJudgment(j)
	c.AddJudgment(mkJudgment(spec, "qa", "q02", 2, eval.WinTie, true))
	rows := c.Rows()
	defer rows.Release()

	var scores, judgments bytes.Buffer
	if _, err := rows.WriteScores(t.Context(), &scores, &textFetcher{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rows.WriteJudgments(t.Context(), &judgments, &textFetcher{}); err != nil {
		t.Fatal(err)
	}
	st, jt := readParquet(t, scores.Bytes()), readParquet(t, judgments.Bytes())
	for _, w := range []struct{ variant, id, cluster, chars string }{
		{"base", "q01", "doc-1", "120"}, {"ft", "q01", "doc-1", "7"}, {"base", "q02", "", "33"},
	} {
		i := rowOf(t, st, map[string]string{"variant": w.variant, "sample_id": w.id})
		if got := value(st, "cluster", i) + " " + value(st, "output_chars", i); got != w.cluster+" "+w.chars {
			t.Errorf("scores.parquet %s %s: cluster and output_chars %q, want %q", w.variant, w.id, got, w.cluster+" "+w.chars)
		}
	}
	for id, want := range map[string]string{"q01": "doc-1", "q02": ""} {
		if got := value(jt, "cluster", rowOf(t, jt, map[string]string{"sample_id": id})); got != want {
			t.Errorf("judgments.parquet %s: cluster %q, want %q", id, got, want)
		}
	}
}

// TestWriteWithTextsGone: a text that is gone is null and counted; any
// other failure to read one fails the file, which is then tried again.
func TestWriteWithTextsGone(t *testing.T) {
	c := fixture(t)
	rows := c.Rows()
	defer rows.Release()
	fetch := &textFetcher{gone: map[string]bool{"sample 3": true, "gen 201": true}}
	var buf bytes.Buffer
	n, err := rows.WriteScores(t.Context(), &buf, fetch)
	if err != nil {
		t.Fatal(err)
	}
	if n.Missing != 2 {
		t.Errorf("%d texts missing, want 2", n.Missing)
	}
	tbl := readParquet(t, buf.Bytes())
	i := rowOf(t, tbl, map[string]string{"variant": "ft", "sample_id": "q01"})
	if got := value(tbl, "output", i); got != "null" {
		t.Errorf("output of a purged generation %q", got)
	}
	for _, v := range []string{"base", "ft"} {
		i := rowOf(t, tbl, map[string]string{"variant": v, "sample_id": "q03"})
		if p, m := value(tbl, "prompt", i), value(tbl, "messages", i); p != "null" || m != "null" {
			t.Errorf("%s: prompt %q, messages %q of a purged sample", v, p, m)
		}
	}

	fetch = &textFetcher{fail: map[string]bool{"gen 105": true}}
	if _, err := rows.WriteJudgments(t.Context(), &bytes.Buffer{}, fetch); err == nil || !strings.Contains(err.Error(), "nats: timeout") {
		t.Errorf("a failed fetch gave %v", err)
	}
}

// TestRowsAreASnapshot: rows taken from a collector stay as they were
// while results keep arriving, and outlive it.
func TestRowsAreASnapshot(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	mustAdd(t, c, mkScore(spec, "base", "qa", "q01", 1, eval.BucketOK, em(1)))
	rows := c.Rows()
	defer rows.Release()
	for i := range batchRows + 10 {
		mustAdd(t, c, mkScore(spec, "ft", "qa", fmt.Sprintf("q%05d", i), uint64(i+1), eval.BucketOK, em(0)))
	}
	c.Release()
	var buf bytes.Buffer
	n, err := rows.WriteScores(t.Context(), &buf, &textFetcher{})
	if err != nil || n.Rows != 1 {
		t.Fatalf("wrote %+v, %v; want the one row there was", n, err)
	}
}

// manyRows is n scores of base, of seven samples in turn.
func manyRows(t *testing.T, n int) *Rows {
	t.Helper()
	spec := testSpec()
	c := New(spec)
	t.Cleanup(c.Release)
	for i := range n {
		mustAdd(t, c, mkScore(spec, "base", "qa", fmt.Sprintf("q%05d", i), uint64(i%7+1), eval.BucketOK, em(1)))
	}
	rows := c.Rows()
	t.Cleanup(rows.Release)
	return rows
}

// TestWriteManyBatches writes more rows than a batch holds: a row group
// per batch, each batch's texts fetched on their own.
func TestWriteManyBatches(t *testing.T) {
	n := 2*batchRows + 5
	rows := manyRows(t, n)
	fetch := &textFetcher{}
	var buf bytes.Buffer
	w, err := rows.WriteScores(t.Context(), &buf, fetch)
	if err != nil || w.Rows != n {
		t.Fatalf("wrote %+v, %v", w, err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if pf.NumRowGroups() != 3 || pf.NumRows() != int64(n) {
		t.Errorf("%d row groups, %d rows", pf.NumRowGroups(), pf.NumRows())
	}
	// Seven samples, fetched once in each of the three batches.
	if got := fetch.count["sample 3"]; got != 3 {
		t.Errorf("sample 3 fetched %d times, want once per batch", got)
	}
	tbl := readParquet(t, buf.Bytes())
	if got := value(tbl, "prompt", n-1); got != fmt.Sprintf("Question q%02d?", (n-1)%7+1) {
		t.Errorf("last row's prompt %q", got)
	}
}

// TestWriteFails: a write that fails half-way — the writer refuses, or
// a later batch's texts cannot be fetched while an earlier one is being
// written — returns the failure, with the batches written before it
// counted, and leaves no batch behind.
func TestWriteFails(t *testing.T) {
	n := 3*batchRows + 5
	rows := manyRows(t, n)
	t.Run("writer", func(t *testing.T) {
		w := &limitedWriter{left: 4 << 10}
		got, err := rows.WriteScores(t.Context(), w, &textFetcher{})
		if !errors.Is(err, errFull) {
			t.Fatalf("wrote %+v, error %v; want the writer's", got, err)
		}
		if got.Rows >= n {
			t.Errorf("%d rows counted as written", got.Rows)
		}
	})
	t.Run("texts", func(t *testing.T) {
		// Sample 1 is in each of the four batches: its fourth fetch is
		// the last batch's.
		f := &countedFailure{textFetcher: &textFetcher{}, what: "sample 1", after: 3}
		got, err := rows.WriteScores(t.Context(), io.Discard, f)
		if err == nil || !strings.Contains(err.Error(), "nats: timeout") {
			t.Fatalf("wrote %+v, error %v; want the fetch's", got, err)
		}
		if got.Rows != 3*batchRows {
			t.Errorf("%d rows written before the failure, want %d", got.Rows, 3*batchRows)
		}
	})
}

var errFull = errors.New("disk full")

// limitedWriter takes left bytes, then fails.
type limitedWriter struct{ left int }

func (w *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		return 0, errFull
	}
	w.left -= len(p)
	return len(p), nil
}

// countedFailure fails the fetch of what after it has succeeded after
// times.
type countedFailure struct {
	*textFetcher
	what  string
	after int
	mu    sync.Mutex
	seen  int
}

func (f *countedFailure) Sample(ctx context.Context, seq uint64) (*eval.Sample, error) {
	if fmt.Sprint("sample ", seq) == f.what {
		f.mu.Lock()
		f.seen++
		fail := f.seen > f.after
		f.mu.Unlock()
		if fail {
			return nil, fmt.Errorf("reading %s: nats: timeout", f.what)
		}
	}
	return f.textFetcher.Sample(ctx, seq)
}

// TestFetchTexts: each sequence once, 0 skipped, a gone text counted, the
// first other failure returned.
func TestFetchTexts(t *testing.T) {
	for _, c := range []struct {
		name          string
		samples, gens []uint64
		gone, fail    map[string]bool
		fetches       int
		missing       int
		wantErr       string
	}{
		{name: "repeats and zeros", samples: []uint64{3, 0, 3, 1}, gens: []uint64{101, 101, 0}, fetches: 3},
		{name: "gone", samples: []uint64{1, 2}, gens: []uint64{201}, gone: map[string]bool{"sample 2": true, "gen 201": true}, fetches: 3, missing: 2},
		{name: "failed", samples: []uint64{1, 2, 3}, fail: map[string]bool{"sample 2": true}, wantErr: "fetching texts: reading sample 2: nats: timeout"},
		{name: "nothing", samples: []uint64{0}},
	} {
		for _, batched := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/batched=%v", c.name, batched), func(t *testing.T) {
				f := &textFetcher{gone: c.gone, fail: c.fail}
				var fetch Fetcher = f
				if batched {
					fetch = &batchFetcher{f}
				}
				got, err := FetchTexts(t.Context(), fetch, c.samples, c.gens)
				if c.wantErr != "" {
					if err == nil || err.Error() != c.wantErr {
						t.Fatalf("error %v, want %s", err, c.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				total := 0
				for _, k := range f.count {
					total += k
				}
				if total != c.fetches || got.Missing != c.missing {
					t.Errorf("%d fetches (%v), %d missing; want %d, %d", total, f.count, got.Missing, c.fetches, c.missing)
				}
				for _, seq := range c.samples {
					if s := got.Sample(seq); seq != 0 && !c.gone[fmt.Sprint("sample ", seq)] && s == nil {
						t.Errorf("sample %d: got %+v", seq, s)
					}
				}
				for _, seq := range c.gens {
					if g := got.Generation(seq); seq != 0 && !c.gone[fmt.Sprint("gen ", seq)] && g == nil {
						t.Errorf("generation %d missing", seq)
					}
				}
			})
		}
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := FetchTexts(ctx, &textFetcher{}, []uint64{1, 2}, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v", err)
		}
		if _, err := FetchTexts(ctx, &batchFetcher{&textFetcher{}}, []uint64{1, 2}, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("batched: error %v", err)
		}
	})
}

// TestLines: the JSON lines carry the message's own fields and the texts
// beside them, null where there is no text.
func TestLines(t *testing.T) {
	ctx := t.Context()
	f := &textFetcher{}
	s, _ := f.Sample(ctx, 1)
	g, _ := f.Generation(ctx, 101)
	g.Sample, g.Model, g.Params, g.LatencyMS, g.Usage = eval.SampleRef{ID: "q01", Suite: "qa", Seq: 1}, "m-base", "p1", 12.5, eval.Usage{PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5}
	failed, _ := f.Generation(ctx, 210)
	failed.Sample = eval.SampleRef{ID: "q10", Suite: "qa", Seq: 10}
	encode := func(v any) map[string]any {
		t.Helper()
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name string
		line any
		want map[string]any
	}{
		{"generation", NewGenerationLine(g, 101, s), map[string]any{"id": "q01", "prompt": "Question q01?", "output": "base answer 1",
			"model": "m-base", "params": "p1", "latency_ms": 12.5, "ttft_ms": nil, "gen_seq": 101.0, "sample_seq": 1.0,
			"reference": map[string]any{"answers": []any{"answer <q01>"}}, "usage": map[string]any{"prompt_tokens": 3.0, "completion_tokens": 2.0, "total_tokens": 5.0}}},
		{"failed generation, sample gone", NewGenerationLine(failed, 210, nil), map[string]any{"id": "q10", "prompt": nil, "messages": nil,
			"output": nil, "error": "HTTP 500", "reference": nil}},
		{"score", NewScoreLine(&eval.Score{Run: "r1", Variant: "base", GenSeq: 101, Sample: eval.SampleRef{ID: "q01", Suite: "qa", Seq: 1}}, s, g),
			map[string]any{"run": "r1", "variant": "base", "gen_seq": 101.0, "prompt": "Question q01?", "output": "base answer 1",
				"sample": map[string]any{"id": "q01", "suite": "qa", "seq": 1.0}}},
		{"score without its texts", NewScoreLine(&eval.Score{Run: "r1"}, nil, nil), map[string]any{"prompt": nil, "output": nil, "messages": nil}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := encode(c.line)
			for k, want := range c.want {
				if g, w := fmt.Sprint(got[k]), fmt.Sprint(want); g != w {
					t.Errorf("%s = %s, want %s", k, g, w)
				}
				if _, ok := got[k]; !ok {
					t.Errorf("no %s", k)
				}
			}
		})
	}

	t.Run("judgment", func(t *testing.T) {
		spec := testSpec()
		x := NewSideIndex(spec)
		x.AddScore(&eval.Score{Variant: "base", Sample: eval.SampleRef{ID: "q10", Suite: "qa", Seq: 10}, GenSeq: 110, Model: "m-base-served", Params: "pb"})
		x.AddScore(&eval.Score{Variant: "ft", Sample: eval.SampleRef{ID: "q10", Suite: "qa", Seq: 10}, GenSeq: 210, Params: "pf"})
		j := mkJudgment(spec, "qa", "q10", 10, eval.WinBaseline, true)
		j.Rounds[0].Reason = "B is right"
		samples, gens := JudgmentSides(x, []*eval.Judgment{j})
		texts, err := FetchTexts(ctx, f, samples, gens)
		if err != nil {
			t.Fatal(err)
		}
		got := encode(NewJudgmentLine(j, x, texts))
		for k, want := range map[string]string{"candidate_output": "<nil>", "baseline_output": "base answer 10", "candidate_model": "m-ft",
			"baseline_model": "m-base-served", "candidate_params": "pf", "prompt": "Question q10?", "winner": "baseline"} {
			if g := fmt.Sprint(got[k]); g != want {
				t.Errorf("%s = %s, want %s", k, g, want)
			}
		}
		if r := got["rounds"].([]any)[0].(map[string]any)["reason"]; r != "B is right" {
			t.Errorf("round reason %v", r)
		}
	})
}

// TestGenerationWriter writes generation lines as Parquet and reads them
// back.
func TestGenerationWriter(t *testing.T) {
	var buf bytes.Buffer
	gw, err := NewGenerationWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	f := &textFetcher{}
	s, _ := f.Sample(t.Context(), 1)
	n := batchRows + 3
	for i := range n {
		g := &eval.Generation{Run: "r1", Sample: eval.SampleRef{ID: fmt.Sprintf("q%d", i), Suite: "qa", Seq: 1}, Variant: "ft",
			Output: fmt.Sprintf("answer %d", i), Turns: []string{"first"}}
		if i == 1 {
			g.Error, g.Output, g.Turns = "HTTP 500", "", nil
		}
		l := NewGenerationLine(g, uint64(1000+i), s)
		if err := gw.Write(&l); err != nil {
			t.Fatal(err)
		}
	}
	if rows, err := gw.Close(); err != nil || rows != n {
		t.Fatalf("closed with %d rows, %v", rows, err)
	}
	tbl := readParquet(t, buf.Bytes())
	sameRows(t, "columns", columns(tbl.Schema()), documentedGenerations)
	if tbl.NumRows() != int64(n) {
		t.Fatalf("%d rows", tbl.NumRows())
	}
	for _, c := range []struct {
		row       int
		col, want string
	}{
		{0, "output", "answer 0"}, {0, "turns", `["first"]`}, {0, "prompt", "Question q01?"}, {0, "latency_ms", "null"},
		{0, "reference", `{"answers":["answer <q01>"]}`},
		{1, "output", "null"}, {1, "error", "HTTP 500"}, {1, "turns", "null"},
		{n - 1, "id", fmt.Sprintf("q%d", n-1)}, {n - 1, "gen_seq", fmt.Sprint(1000 + n - 1)},
	} {
		if got := value(tbl, c.col, c.row); got != c.want {
			t.Errorf("row %d %s = %q, want %q", c.row, c.col, got, c.want)
		}
	}
}
