package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/ingest"
	"github.com/assay-eval/assay/services/ingest/dataset"
	"github.com/assay-eval/assay/services/ingest/pii"
	"github.com/assay-eval/assay/services/report"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"
)

const continuousSpec = `run: %[2]s
baseline: base
variants:
  - {name: base, base_url: %[1]s, model: t-base, concurrency: 8}
  - {name: ft,   base_url: %[1]s, model: t-ft,   concurrency: 8}
decoding: {temperature: 0, max_tokens: 128}
retry: {max_attempts: 3, initial_backoff: 5ms, max_backoff: 20ms}
continuous:
  sources: [chat, search]
  sample_rate: 0.5
  window: 1h
  metrics: [refusal, length, json_valid]
judges:
  - {name: judge-a, base_url: %[1]s, model: t-judge-a, concurrency: 8}
`

// The personal data planted in the queries; none may reach a stream.
var planted = []string{
	"alice.wong@example.com", "13812345678", "+86 139 1234 5678", "11010519491231002X",
	"4111 1111 1111 1111", "192.168.10.23", "bob@corp.example.org",
}

// query is one production query as sent, and what the test knows of it.
type query struct {
	source string
	text   string
	at     time.Time
}

func productionQueries() []query {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var qs []query
	for i := range 90 {
		text := fmt.Sprintf("How do I change the delivery address of order %d?", 1000+i)
		switch i % 6 {
		case 1:
			text = fmt.Sprintf("订单%d的发票抬头怎么修改？我的手机是13812345678", 2000+i)
		case 2:
			text = fmt.Sprintf("Please email the invoice for order %d to alice.wong@example.com", 3000+i)
		case 3:
			text = fmt.Sprintf("My card 4111 1111 1111 1111 was charged twice for order %d, and my IP is 192.168.10.23", 4000+i)
		case 4:
			text = fmt.Sprintf("身份证11010519491231002X实名认证失败，订单%d", 5000+i)
		case 5:
			text = fmt.Sprintf("Call me at +86 139 1234 5678 or bob@corp.example.org about ticket %d", 6000+i)
		}
		src := "chat"
		if i%3 == 0 {
			src = "search"
		}
		at := t0.Add(time.Duration(i%3)*time.Hour + time.Duration(i)*17*time.Second)
		qs = append(qs, query{src, text, at})
	}
	// Asked again in the same hour: evaluated once. Asked again an hour
	// later: a new sample of the next window.
	for i := range 12 {
		q := qs[i*7]
		qs = append(qs, query{q.source, q.text, q.at.Add(5 * time.Minute)})
	}
	for i := range 6 {
		q := qs[i*11+1]
		if q.at.Hour() < 12 {
			qs = append(qs, query{q.source, q.text, q.at.Add(time.Hour)})
		}
	}
	return qs
}

func redacted(text string) []eval.Message {
	out, _ := pii.Redact(text)
	return []eval.Message{{Role: "user", Content: out}}
}

// TestContinuousEvaluation sends production queries — half as NATS requests,
// half over HTTP, out of time order, with personal data and repeats — to two
// continuous runs, and checks sampling, deduplication, windows, the per-window
// figures, the gauges, and that no personal data reached any stream.
func TestContinuousEvaluation(t *testing.T) {
	sim := llmsim.New(llmsim.Options{Seed: 42, Personas: testPersonas()})
	hs := httptest.NewServer(sim.Handler())
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: -1, IntakeAddr: "127.0.0.1:0", Intake: ingest.IntakeConfig{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Stop()
	b := sys.Env.Bus
	dir := t.TempDir()
	for _, run := range []string{"prod", "prod-b"} {
		p := filepath.Join(dir, run+".yaml")
		if err := os.WriteFile(p, []byte(fmt.Sprintf(continuousSpec, hs.URL+"/v1", run)), 0o644); err != nil {
			t.Fatal(err)
		}
		spec, err := eval.LoadSpec(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := submit(ctx, b, spec, openFile); err != nil {
			t.Fatal(err)
		}
	}
	// A continuous run never completes: what would wait for it refuses.
	if err := waitable(ctx, b, "prod"); !errors.Is(err, errContinuousWait) {
		t.Errorf("waitable: %v", err)
	}
	if _, _, err := runCLI(t, "run", "-f", filepath.Join(dir, "prod.yaml")); err == nil || !strings.Contains(err.Error(), "needs running services") {
		t.Errorf("a continuous run without services: %v", err)
	}
	if _, _, err := runCLI(t, "run", "-f", filepath.Join(dir, "prod.yaml"), "--nats", "nats://127.0.0.1:1", "--wait"); !errors.Is(err, errContinuousWait) {
		t.Errorf("a continuous run with --wait: %v", err)
	}
	bustest.Eventually(t, 10*time.Second, func() error {
		if sys.Ingest.IntakeAddr() == "" {
			return fmt.Errorf("no intake address yet")
		}
		return nil
	})
	httpURL := "http://" + sys.Ingest.IntakeAddr() + "/v1/intake/"

	qs := productionQueries()
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
	for i, q := range qs {
		body, _ := json.Marshal(eval.IntakeQuery{Query: q.text, Timestamp: q.at, Metadata: map[string]any{"user": "alice.wong@example.com", "n": i}})
		var reply ingest.IntakeReply
		if i%2 == 0 {
			m, err := b.NC.Request(bus.IntakeSubject(q.source), body, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(m.Data, &reply); err != nil {
				t.Fatal(err)
			}
		} else {
			resp, err := http.Post(httpURL+q.source, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("HTTP intake: %s", resp.Status)
			}
			_ = json.NewDecoder(resp.Body).Decode(&reply)
			resp.Body.Close()
		}
		if reply.Error != "" || reply.ID == "" {
			t.Fatalf("intake reply %+v", reply)
		}
	}
	// Bad queries are refused, and nothing of them is stored.
	for _, bad := range []string{`{"query": ""}`, `not json alice.wong@example.com`, `{"messages": [{"role": "assistant", "content": "x"}]}`} {
		m, err := b.NC.Request(bus.IntakeSubject("chat"), []byte(bad), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var reply ingest.IntakeReply
		_ = json.Unmarshal(m.Data, &reply)
		if reply.Error == "" || strings.Contains(reply.Error, "alice") {
			t.Errorf("bad query %q: reply %+v", bad, reply)
		}
	}

	// The expectation: sampled by the redacted text's hash, once per text
	// and window, each window by the queries' own time.
	type key struct {
		window time.Time
		text   string
	}
	want := map[time.Time]map[string]bool{}
	var sampledOut, repeats int
	seen := map[key]bool{}
	for _, q := range qs {
		msgs := redacted(q.text)
		if !ingest.Sampled(msgs, 0.5) {
			sampledOut++
			continue
		}
		w := q.at.Truncate(time.Hour)
		k := key{w, dataset.Normalize(msgs)}
		if seen[k] {
			repeats++
			continue
		}
		seen[k] = true
		if want[w] == nil {
			want[w] = map[string]bool{}
		}
		want[w][msgs[0].Content] = true
	}
	if sampledOut == 0 || repeats == 0 || len(want) != 3 {
		t.Fatalf("the test data does not exercise sampling (%d out), repeats (%d) and three windows (%d)", sampledOut, repeats, len(want))
	}
	total := 0
	for _, w := range want {
		total += len(w)
	}

	var rep document.Report
	bustest.Eventually(t, 90*time.Second, func() error {
		data, err := bus.ReadObject(ctx, b.Reports, report.ReportObject("prod", "report.json"))
		if err != nil {
			var state []string
			for _, s := range []string{bus.StreamIntake, bus.StreamSamples, bus.StreamGens, bus.StreamScores, bus.StreamJudgments, bus.StreamDLQ} {
				if info, err := b.Stream(s).Info(ctx); err == nil {
					state = append(state, fmt.Sprintf("%s %d", s, info.State.Msgs))
				}
			}
			st, _ := b.Status(ctx, "prod")
			return fmt.Errorf("%v: %v, status %+v", err, state, st)
		}
		if err := json.Unmarshal(data, &rep); err != nil {
			return err
		}
		if rep.Progress.Scores != 2*total || rep.Progress.Judgments != total {
			return fmt.Errorf("progress %+v, want %d scores and %d judgments", rep.Progress, 2*total, total)
		}
		return nil
	})

	pb, _ := sim.Persona("t-base")
	pf, _ := sim.Persona("t-ft")
	pj, _ := sim.Persona("t-judge-a")
	if len(rep.Windows) != 3 {
		t.Fatalf("%d windows, want 3", len(rep.Windows))
	}
	for _, w := range rep.Windows {
		texts := want[w.Start]
		if w.Samples != len(texts) || !w.End.Equal(w.Start.Add(time.Hour)) {
			t.Errorf("window %v: %d samples, want %d", w.Start, w.Samples, len(texts))
		}
		// The oracle's figures for this window.
		type acc struct{ refused, answered, wins, losses, ties int }
		exp := map[string]*acc{"base": {}, "ft": {}}
		for text := range texts {
			db, df := sim.Decide(pb, text), sim.Decide(pf, text)
			for v, d := range map[string]llmsim.Decision{"base": db, "ft": df} {
				if d.Down {
					continue
				}
				exp[v].answered++
				if d.Outcome == llmsim.OutcomeRefuse {
					exp[v].refused++
				}
			}
			if db.Down || df.Down {
				continue
			}
			a, c := strings.TrimSpace(df.Answer), strings.TrimSpace(db.Answer)
			r1, r2 := sim.Judge(pj, text, a, c), sim.Judge(pj, text, c, a)
			w1 := map[string]string{"A": "cand", "B": "base", "tie": "tie"}[r1.Winner]
			w2 := map[string]string{"A": "base", "B": "cand", "tie": "tie"}[r2.Winner]
			switch {
			case w1 != w2 || w1 == "tie":
				exp["ft"].ties++
			case w1 == "cand":
				exp["ft"].wins++
			default:
				exp["ft"].losses++
			}
		}
		for _, wv := range w.Variants {
			e := exp[wv.Variant]
			if wv.Refusal == nil || math.Abs(*wv.Refusal-float64(e.refused)/float64(e.answered)) > 1e-12 {
				t.Errorf("window %v %s: refusal %v, want %d/%d", w.Start, wv.Variant, deref(wv.Refusal), e.refused, e.answered)
			}
			if wv.JSONValid == nil || *wv.JSONValid != 0 || wv.LatencyP95 == nil || wv.MeanOutputTokens == nil {
				t.Errorf("window %v %s: %+v", w.Start, wv.Variant, wv)
			}
			if wv.Variant == "ft" {
				n := e.wins + e.losses + e.ties
				wr := (float64(e.wins) + float64(e.ties)/2) / float64(n)
				if wv.Judged != n || wv.WinRate == nil || math.Abs(*wv.WinRate-wr) > 1e-12 {
					t.Errorf("window %v: win rate %v over %d, want %v over %d", w.Start, deref(wv.WinRate), wv.Judged, wr, n)
				}
			}
		}
	}

	// Sampling is the same for every run and every time.
	var other document.Report
	bustest.Eventually(t, 60*time.Second, func() error {
		data, err := bus.ReadObject(ctx, b.Reports, report.ReportObject("prod-b", "report.json"))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &other); err != nil {
			return err
		}
		if other.Progress.Judgments != total {
			return fmt.Errorf("prod-b progress %+v", other.Progress)
		}
		return nil
	})
	for i := range rep.Windows {
		if other.Windows[i].Samples != rep.Windows[i].Samples {
			t.Errorf("window %d: %d samples in one run, %d in the other", i, rep.Windows[i].Samples, other.Windows[i].Samples)
		}
	}

	// The latest window is on the gauges.
	// The service stores the report, then sets the gauges: wait for the
	// gauges of the report read above.
	latest := rep.Windows[len(rep.Windows)-1]
	var gauges map[string]float64
	bustest.Eventually(t, 10*time.Second, func() error {
		gauges = map[string]float64{}
		mfs, err := sys.Env.Registry.Gather()
		if err != nil {
			return err
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if labelOf(m, "run") == "prod" {
					gauges[mf.GetName()+"/"+labelOf(m, "variant")] = m.GetGauge().GetValue()
				}
			}
		}
		if got := gauges["assay_report_window_samples/"]; got != float64(latest.Samples) {
			return fmt.Errorf("samples gauge = %v, want %d", got, latest.Samples)
		}
		return nil
	})
	for _, wv := range latest.Variants {
		if got := gauges["assay_report_window_refusal_rate/"+wv.Variant]; wv.Refusal == nil || got != *wv.Refusal {
			t.Errorf("refusal gauge of %s = %v, want %v", wv.Variant, got, deref(wv.Refusal))
		}
		if wv.Variant == "ft" {
			if got := gauges["assay_report_window_win_rate/ft"]; got != *wv.WinRate {
				t.Errorf("win rate gauge = %v, want %v", got, *wv.WinRate)
			}
		}
	}
	if got := gauges["assay_report_window_samples/"]; got != float64(latest.Samples) {
		t.Errorf("samples gauge = %v, want %d", got, latest.Samples)
	}

	// The readable reports show the windows, and the run as continuous.
	if !rep.Continuous {
		t.Error("report.json does not mark the run continuous")
	}
	if p := rep.Progress; rep.Counts.Samples != total || p.ScoresExpected != 2*total || p.JudgmentsExpected != total {
		t.Errorf("counts %+v, progress %+v: want %d samples, %d scores and %d judgments expected", rep.Counts, p, total, 2*total, total)
	}
	suiteSamples := 0
	for _, su := range rep.Suites {
		suiteSamples += su.Samples
	}
	if suiteSamples != total {
		t.Errorf("suites %+v count %d samples, want %d", rep.Suites, suiteSamples, total)
	}
	md, err := bus.ReadObject(ctx, b.Reports, report.ReportObject("prod", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**Status:** continuous (judged so far)", "## Windows", latest.Start.UTC().Format("2006-01-02 15:04")} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	page, err := bus.ReadObject(ctx, b.Reports, report.ReportObject("prod", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte(`aria-label="win rate against the baseline by window"`)) {
		t.Error("report.html has no win-rate trend chart")
	}

	// No personal data reached any stream: every message of every stream,
	// KV bucket and object store is read.
	names := b.JS.StreamNames(ctx)
	streams := 0
	for name := range names.Name() {
		streams++
		c, err := b.JS.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			m, err := c.Next(jetstream.FetchMaxWait(300 * time.Millisecond))
			if err != nil {
				break
			}
			for _, p := range planted {
				if bytes.Contains(m.Data(), []byte(p)) {
					t.Errorf("%q was stored in %s (subject %s)", p, name, m.Subject())
				}
			}
		}
	}
	if streams < 10 {
		t.Errorf("only %d streams were scanned", streams)
	}
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
