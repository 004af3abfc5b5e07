package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report"
	"github.com/assay-eval/assay/services/report/review"
)

// TestReviewEndToEnd: a run through the simulator, a queue drawn from it
// (the same for the same seed, per-bucket as asked), a simulated reviewer
// labelling every item through the HTTP API, and a summary whose win rate
// and judge–human kappa equal what the reviewer's choices and the judge's
// stored verdicts give.
func TestReviewEndToEnd(t *testing.T) {
	f := newFixture(t, "rev", testPersonas())
	ctx, b, _ := runFixture(t, f)

	const per = 6
	draw := func(seed uint64, name string) *review.Queue {
		q, err := review.Draw(ctx, b, review.DrawOptions{Run: "rev", Queue: name, PerBucket: per, Variant: "ft", Seed: seed, Fetch: report.Fetcher(b)})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := draw(3, "q3")
	pairs := func(q *review.Queue) []string {
		var out []string
		for _, it := range q.Items {
			out = append(out, it.Suite+"/"+it.Sample)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(pairs(draw(3, "again")), pairs(q)) {
		t.Fatal("the same seed drew other pairs")
	}
	if len(q.Meta.Available) == 0 {
		t.Fatal("nothing to draw from")
	}
	for bk, n := range q.Meta.Available {
		if got := q.Meta.Buckets[bk]; got != min(per, n) {
			t.Errorf("bucket %s: %d drawn of %d, want %d", bk, got, n, min(per, n))
		}
	}
	withVerdict := 0
	for _, it := range q.Items {
		if it.Candidate != "ft" || it.Baseline != f.spec.Baseline || it.CandidateOutput == "" || it.BaselineOutput == "" {
			t.Fatalf("item %+v", it)
		}
		if it.JudgeWinner != "" {
			withVerdict++
		}
	}
	if withVerdict == 0 {
		t.Fatal("no item carries the judge's verdict")
	}
	if err := review.Store(ctx, b, q); err != nil {
		t.Fatal(err)
	}

	const token = "reviewer-token-0123456789"
	rs, err := review.ParseReviewers("test", "carol="+token)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(review.NewServer(b, rs, discardLogger()).Handler())
	defer srv.Close()
	do := func(method, path string, body []byte) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
		return data
	}
	// The reviewer reads the blind items, and prefers answer A, B or
	// neither by a hash of the item's id: choices the test knows.
	var blind struct {
		Items []struct {
			ID   string `json:"id"`
			A, B string
		} `json:"items"`
	}
	if err := json.Unmarshal(do("GET", "/v1/review/rev/q3/items", nil), &blind); err != nil {
		t.Fatal(err)
	}
	if len(blind.Items) != len(q.Items) {
		t.Fatalf("%d blind items of %d", len(blind.Items), len(q.Items))
	}
	choose := func(id string) review.Choice {
		return []review.Choice{review.ChoiceA, review.ChoiceB, review.ChoiceTie}[sha256.Sum256([]byte(id))[0]%3]
	}
	for i, it := range blind.Items {
		body, _ := json.Marshal(review.Input{Item: it.ID, Choice: choose(it.ID), Submission: fmt.Sprintf("carol-%016d", i)})
		do("POST", "/v1/review/rev/q3/labels", body)
	}
	var s review.Summary
	if err := json.Unmarshal(do("GET", "/v1/review/rev/q3/summary", nil), &s); err != nil {
		t.Fatal(err)
	}

	// The oracle: the reviewer's choice mapped through the item's stored
	// order, and the judge's verdict as the judge stage stored it.
	var score float64
	var judged [][2]eval.Winner
	for _, it := range q.Items {
		var w eval.Winner
		switch c := choose(it.ID); {
		case c == review.ChoiceTie:
			w = eval.WinTie
		case (c == review.ChoiceA) == it.CandidateFirst:
			w = eval.WinCandidate
		default:
			w = eval.WinBaseline
		}
		score += map[eval.Winner]float64{eval.WinCandidate: 1, eval.WinTie: 0.5}[w]
		if it.JudgeWinner != "" {
			judged = append(judged, [2]eval.Winner{it.JudgeWinner, w})
		}
	}
	if len(s.WinRate) != 1 || math.Abs(s.WinRate[0].Value-score/float64(len(q.Items))) > 1e-12 {
		t.Fatalf("human win rate %+v, want %.4f", s.WinRate, score/float64(len(q.Items)))
	}
	var po, pe float64
	for _, p := range judged {
		if p[0] == p[1] {
			po++
		}
	}
	po /= float64(len(judged))
	for _, v := range []eval.Winner{eval.WinCandidate, eval.WinBaseline, eval.WinTie} {
		var x, y float64
		for _, p := range judged {
			if p[0] == v {
				x++
			}
			if p[1] == v {
				y++
			}
		}
		pe += x * y / float64(len(judged)*len(judged))
	}
	if len(s.Judges) != 1 || s.Judges[0].N != len(judged) || math.Abs(s.Judges[0].Kappa-(po-pe)/(1-pe)) > 1e-12 {
		t.Fatalf("judge agreement %+v, want kappa %.4f over %d pairs", s.Judges, (po-pe)/(1-pe), len(judged))
	}
	var md bytes.Buffer
	if err := review.WriteSummary(&md, &s); err != nil {
		t.Fatal(err)
	}
	t.Logf("drawn %v of %v\n%s", q.Meta.Buckets, q.Meta.Available, md.String())

	// assay report shows the queue's labels: the same summary, in its
	// JSON, Markdown and HTML.
	rep, files, err := report.Build(ctx, b, "rev", []string{"json", "md", "html"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Reviews) != 1 { // "again" was drawn, not stored
		t.Fatalf("the report holds %d review queues", len(rep.Reviews))
	}
	if !reflect.DeepEqual(rep.Reviews[0], s) {
		t.Fatalf("the report's review of q3 differs from the API's:\n%+v\n%+v", rep.Reviews, s)
	}
	for name, want := range map[string]string{"report.md": "Human review: queue q3", "report.html": "Human review: queue q3"} {
		if !bytes.Contains(files[name], []byte(want)) || !bytes.Contains(files[name], []byte("judge judge-a vs reviewers")) {
			t.Errorf("%s has no human review section", name)
		}
	}
}

// TestReviewCLI: assay review create, report and serve as a user runs
// them, with the CLI's own NATS identity (which may publish labels and
// read the run): a queue drawn and stored once, its name refused a second
// time, a run that does not exist named, the summary as JSON, and
// assay report showing the queue.
func TestReviewCLI(t *testing.T) {
	f := newFixture(t, "revcli", testPersonas())
	sys := runToCompletion(t, f.spec)
	conn := []string{"--nats", sys.URL, "--nats-nkey", sys.clientSeed()}
	out, stderr, err := runCLI(t, append([]string{"review", "create", "--run", "revcli", "--per-bucket", "3", "--variant", "ft"}, conn...)...)
	if err != nil || !strings.Contains(out, "queue seed-1 of run revcli:") || !strings.Contains(out, "/review/revcli/seed-1") {
		t.Fatalf("review create: %v\n%s%s", err, out, stderr)
	}
	if _, _, err := runCLI(t, append([]string{"review", "create", "--run", "revcli", "--per-bucket", "2"}, conn...)...); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a second queue under the name: %v", err)
	}
	if _, _, err := runCLI(t, append([]string{"review", "create", "--run", "nope"}, conn...)...); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("a queue of a run that does not exist: %v", err)
	}
	out, stderr, err = runCLI(t, append([]string{"review", "report", "--run", "revcli", "--queue", "seed-1", "--json"}, conn...)...)
	var s review.Summary
	if err != nil || json.Unmarshal([]byte(out), &s) != nil || s.Items == 0 || s.Labelled != 0 {
		t.Fatalf("review report: %v %+v\n%s%s", err, s, out, stderr)
	}
	if _, _, err := runCLI(t, append([]string{"review", "serve", "--reviewers", filepath.Join(t.TempDir(), "none")}, conn...)...); err == nil || exitCode(err, false) != 2 {
		t.Fatalf("serving without a reviewers file: %v (exit %d)", err, exitCode(err, false))
	}
	md, err := os.ReadFile(filepath.Join(writeReport(t, sys, "revcli", "md"), "report.md"))
	if err != nil || !bytes.Contains(md, []byte("Human review: queue seed-1")) {
		t.Fatalf("assay report shows no review queue: %v", err)
	}
}
