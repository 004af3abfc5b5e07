package report

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/report/aggregate"
	"github.com/prometheus/client_golang/prometheus"
)

// storedRun is a run published by hand on a test server: its samples,
// generations, scores and judgments, and where each is stored.
type storedRun struct {
	b       *bus.Bus
	spec    *eval.RunSpec
	samples map[string]*eval.Sample     // by id
	gens    map[string]*eval.Generation // by variant/id
	genSeq  map[string]uint64           // by variant/id
	// purged is the generation deleted from its stream.
	purged string
}

// bigOutput is more than a message may carry: it travels by reference
// through the object store.
var bigOutput = strings.Repeat("long answer ", 100_000)

// newStoredRun publishes run x1: base and ft answer q1..q4 of suite qa.
// ft's q2 failed for good, ft's q3 is too large for a message, q4 is a
// conversation without a reference, and base's q4 was deleted from its
// stream after it was scored. j1 judged ft against base on every sample.
func newStoredRun(t *testing.T, b *bus.Bus, spec *eval.RunSpec) *storedRun {
	t.Helper()
	ctx := t.Context()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	r := &storedRun{b: b, spec: spec, samples: map[string]*eval.Sample{}, gens: map[string]*eval.Generation{}, genSeq: map[string]uint64{}, purged: "base/q4"}
	publish := func(subject string, v any) uint64 {
		t.Helper()
		ack, err := b.Publish(ctx, subject, "", v)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("q%d", i)
		s := &eval.Sample{V: 1, Run: spec.Run, ID: id, Suite: "qa", Role: eval.RoleBenchmark, Fingerprint: spec.Fingerprint(), Index: i,
			Messages:  []eval.Message{{Role: "user", Content: fmt.Sprintf("  What is %d + %d? <answer> & nothing else ", i, i)}},
			Reference: &eval.Reference{Answers: []string{fmt.Sprint(2 * i)}}}
		if id == "q4" {
			s.Reference = nil
			s.Messages = []eval.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Say hi."},
				{Role: "assistant", Content: "Hi."}, {Role: "user", Content: "Now say 「さようなら」."}}
		}
		r.samples[id] = s
		seq := publishSample(t, b, s)
		for _, v := range spec.Variants {
			g := &eval.Generation{V: 1, Run: spec.Run, Sample: s.Ref(seq), Variant: v.Name, Model: v.Model + "-served", Fingerprint: spec.Fingerprint(),
				Params: "p-" + v.Name, Output: fmt.Sprintf("%s says %d", v.Name, 2*i), FinishReason: "stop", LatencyMS: float64(10 * i), At: time.Now().UTC()}
			sc := &eval.Score{V: 1, Run: spec.Run, Sample: s.Ref(seq), Variant: v.Name, Fingerprint: spec.Fingerprint(), Scoring: spec.Scoring(),
				Metrics: map[string]float64{"em": 1}, Bucket: eval.BucketOK, Checks: eval.Checks{Benign: true}, Model: g.Model, Params: g.Params, LatencyMS: g.LatencyMS}
			switch v.Name + "/" + id {
			case "ft/q2":
				g.Output, g.FinishReason, g.Error, g.Cause = "", "", "calling the endpoint: HTTP 500 (after 3 attempts)", "HTTP 500"
				sc.Metrics, sc.Bucket, sc.Reason, sc.Cause, sc.Checks = map[string]float64{}, eval.BucketError, g.Error, g.Cause, eval.Checks{}
			case "ft/q3":
				g.Output = bigOutput
			}
			key := v.Name + "/" + id
			r.gens[key], r.genSeq[key] = g, publish(bus.GensSubject(spec.Run, v.Name), g)
			sc.GenSeq = r.genSeq[key]
			publish(bus.ScoresSubject(spec.Run, v.Name), sc)
		}
		j := spec.Judges[0]
		jm := &eval.Judgment{V: 1, Run: spec.Run, Sample: s.Ref(seq), Judge: j.Name, JudgeID: j.ID(), Candidate: "ft", Baseline: "base",
			Fingerprint: spec.Fingerprint(), Winner: eval.WinCandidate, Consistent: true,
			Rounds: []eval.Round{{Order: eval.OrderCandidateFirst, Winner: eval.WinCandidate, Parse: "json", Reason: "A is right"},
				{Order: eval.OrderBaselineFirst, Winner: eval.WinCandidate, Parse: "json", Reason: "B is right"}}}
		if id == "q2" {
			jm.Rounds, jm.Winner, jm.Consistent, jm.Error, jm.GenerationFailed = nil, "", false, "candidate generation failed: HTTP 500", true
		}
		publish(bus.JudgmentsSubject(spec.Run, j.Name), jm)
	}
	if err := b.Stream(bus.StreamGens).DeleteMsg(ctx, r.genSeq[r.purged]); err != nil {
		t.Fatal(err)
	}
	return r
}

// publishSample publishes s as ingest does, under its message id: the
// report counts results only for samples it finds so.
func publishSample(t testing.TB, b *bus.Bus, s *eval.Sample) uint64 {
	t.Helper()
	ack, err := b.Publish(t.Context(), bus.SamplesSubject(s.Run, s.Suite), bus.MsgID(bus.StageIngest, s.Run, s.Suite, s.ID), s)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

func testSpec(run string) *eval.RunSpec {
	return &eval.RunSpec{
		Run: run, Baseline: "base",
		Variants: []eval.Variant{{Name: "base", BaseURL: "http://base/v1", Model: "m-base"}, {Name: "ft", BaseURL: "http://ft/v1", Model: "m-ft"}},
		Suites:   []eval.Suite{{Name: "qa", Role: eval.RoleBenchmark, Path: "qa.jsonl", Metrics: []string{"em"}}},
		Judges:   []eval.Judge{{Name: "j1", BaseURL: "http://judge/v1", Model: "m-judge", Mode: "pairwise"}},
	}
}

// output is what a file should show as the answer of variant to id: null
// (nil) when the generation failed or is gone.
func (r *storedRun) output(variant, id string) *string {
	key := variant + "/" + id
	if g := r.gens[key]; key != r.purged && g.Error == "" {
		return &g.Output
	}
	return nil
}

func readParquet(t *testing.T, data []byte) arrow.Table {
	t.Helper()
	tbl, err := aggregate.ReadParquet(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tbl.Release)
	return tbl
}

// column is the named column of a table read back, as Go values: nil for
// a null, else the value.
func column(t *testing.T, tbl arrow.Table, name string) []any {
	t.Helper()
	is := tbl.Schema().FieldIndices(name)
	if len(is) != 1 {
		t.Fatalf("no column %s", name)
	}
	var out []any
	for _, chunk := range tbl.Column(is[0]).Data().Chunks() {
		for i := range chunk.Len() {
			switch {
			case chunk.IsNull(i):
				out = append(out, nil)
			case chunk.DataType().ID() == arrow.STRING:
				out = append(out, chunk.(*array.String).Value(i))
			case chunk.DataType().ID() == arrow.UINT64:
				out = append(out, chunk.(*array.Uint64).Value(i))
			default:
				out = append(out, chunk.ValueStr(i))
			}
		}
	}
	return out
}

// fields describes a schema's columns, names, types and nullability (the
// Parquet reader adds field ids as metadata).
func fields(s *arrow.Schema) string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, fmt.Sprintf("%s:%s:%v", f.Name, f.Type, f.Nullable))
	}
	return strings.Join(out, " ")
}

// strOrNil is a text as a column shows it.
func strOrNil(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// checkTexts checks a file's texts against what was published: the
// sample's last user message, its conversation and reference as JSON, and
// the answers, null where the generation failed or was deleted.
func checkTexts(t *testing.T, r *storedRun, tbl arrow.Table, outputs map[string]func(row int) string) {
	t.Helper()
	ids := column(t, tbl, "sample_id")
	prompts, messages, refs, runs := column(t, tbl, "prompt"), column(t, tbl, "messages"), column(t, tbl, "reference"), column(t, tbl, "run")
	for i, id := range ids {
		s := r.samples[id.(string)]
		if runs[i] != r.spec.Run {
			t.Errorf("row %d: run %v", i, runs[i])
		}
		if want := eval.LastUserMessage(s.Messages); prompts[i] != want {
			t.Errorf("row %d: prompt %q, want %q", i, prompts[i], want)
		}
		var msgs []eval.Message
		if err := json.Unmarshal([]byte(messages[i].(string)), &msgs); err != nil || fmt.Sprint(msgs) != fmt.Sprint(s.Messages) {
			t.Errorf("row %d: messages %v (%v)", i, messages[i], err)
		}
		if strings.Contains(messages[i].(string), `\u003c`) {
			t.Errorf("row %d: messages escaped for HTML: %s", i, messages[i])
		}
		wantRef := ""
		if s.Reference != nil {
			data, _ := json.Marshal(s.Reference)
			wantRef = string(data)
		}
		if refs[i] != wantRef {
			t.Errorf("row %d: reference %v, want %s", i, refs[i], wantRef)
		}
		for col, variant := range outputs {
			got := column(t, tbl, col)[i]
			if want := strOrNil(r.output(variant(i), id.(string))); got != want {
				t.Errorf("row %d (%s): %s %.40v, want %.40v", i, id, col, got, want)
			}
		}
	}
}

// TestParquetFiles: the report's Parquet files, read back, have the
// documented columns, one row per score and per judgment, and every row's
// texts as they were published.
func TestParquetFiles(t *testing.T) {
	b := bustest.New(t)
	r := newStoredRun(t, b, testSpec("x1"))
	_, files, err := Build(t.Context(), b, "x1", []string{"parquet"})
	if err != nil {
		t.Fatal(err)
	}
	scores := readParquet(t, files["scores.parquet"])
	if got, want := fields(scores.Schema()), fields(aggregate.ScoresSchema([]string{"em"})); got != want {
		t.Errorf("scores columns\n%s\nwant\n%s", got, want)
	}
	if scores.NumRows() != 8 {
		t.Fatalf("%d score rows, want 8", scores.NumRows())
	}
	variants := column(t, scores, "variant")
	checkTexts(t, r, scores, map[string]func(int) string{"output": func(i int) string { return variants[i].(string) }})
	genSeqs, models, params := column(t, scores, "gen_seq"), column(t, scores, "model"), column(t, scores, "params")
	for i, id := range column(t, scores, "sample_id") {
		key := variants[i].(string) + "/" + id.(string)
		if genSeqs[i] != r.genSeq[key] || models[i] != r.gens[key].Model || params[i] != r.gens[key].Params {
			t.Errorf("row %d (%s): gen_seq %v, model %v, params %v", i, key, genSeqs[i], models[i], params[i])
		}
	}

	judgments := readParquet(t, files["judgments.parquet"])
	if got, want := fields(judgments.Schema()), fields(aggregate.JudgmentsSchema()); got != want {
		t.Errorf("judgments columns\n%s\nwant\n%s", got, want)
	}
	if judgments.NumRows() != 4 {
		t.Fatalf("%d judgment rows, want 4", judgments.NumRows())
	}
	checkTexts(t, r, judgments, map[string]func(int) string{
		"candidate_output": func(int) string { return "ft" }, "baseline_output": func(int) string { return "base" }})
	for col, want := range map[string]string{"candidate_model": "m-ft-served", "baseline_model": "m-base-served", "candidate_params": "p-ft", "baseline_params": "p-base"} {
		for i, v := range column(t, judgments, col) {
			if v != want {
				t.Errorf("judgment row %d: %s %v, want %s", i, col, v, want)
			}
		}
	}
}

// TestStoreParquet: the report stage streams the Parquet files into the
// object store, and they read back as the ones written in memory.
func TestStoreParquet(t *testing.T) {
	b := bustest.New(t)
	newStoredRun(t, b, testSpec("x2"))
	s := New(Config{}, &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	c, err := Collect(t.Context(), b, "x2")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	rows := c.Rows()
	defer rows.Release()
	if err := s.storeParquet(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	_, files, err := Build(t.Context(), b, "x2", []string{"parquet"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range ParquetFiles {
		data, err := bus.ReadObject(t.Context(), b.Reports, ReportObject("x2", name))
		if err != nil {
			t.Fatal(err)
		}
		stored, built := readParquet(t, data), readParquet(t, files[name])
		if !array.TableEqual(stored, built) {
			t.Errorf("%s as stored differs from the one built", name)
		}
	}
}
