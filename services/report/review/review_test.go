package review

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// fixture publishes a run of n samples, answered by base and ft, scored
// and judged: ft's answer to sample i falls in bucket buckets[i%4], the
// baseline's is ok but for every fifth sample, and the judge prefers ft on
// even samples, base on every third odd one, and ties the rest.
func fixture(t *testing.T, b *bus.Bus, run string, n int, more ...string) *eval.RunSpec {
	t.Helper()
	spec := &eval.RunSpec{
		Run: run, Baseline: "base",
		Variants: []eval.Variant{{Name: "base", BaseURL: "http://base/v1", Model: "m-base"}, {Name: "ft", BaseURL: "http://ft/v1", Model: "m-ft"}},
		Suites:   []eval.Suite{{Name: "qa", Role: eval.RoleBenchmark, Path: "qa.jsonl", Metrics: []string{"em"}}},
		Judges:   []eval.Judge{{Name: "j1", BaseURL: "http://judge/v1", Model: "m-judge", Mode: "pairwise"}},
	}
	for _, v := range more {
		spec.Variants = append(spec.Variants, eval.Variant{Name: v, BaseURL: "http://" + v + "/v1", Model: "m-" + v})
	}
	if err := b.SubmitRun(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	buckets := []eval.Bucket{eval.BucketOK, eval.BucketRefusal, eval.BucketFormatError, eval.BucketWrongAnswer}
	for i := range n {
		id := fmt.Sprintf("s%03d", i)
		s := &eval.Sample{V: 1, Run: run, Suite: "qa", ID: id, Messages: []eval.Message{{Role: "user", Content: fmt.Sprintf("question %d <script>alert(1)</script>", i)}},
			Reference: &eval.Reference{Answers: []string{fmt.Sprintf("ref %d", i)}}}
		ack, err := b.Publish(t.Context(), bus.SamplesSubject(run, "qa"), "", s)
		if err != nil {
			t.Fatal(err)
		}
		ref := eval.SampleRef{ID: id, Suite: "qa", Seq: ack.Sequence}
		for _, v := range spec.Variants {
			g := &eval.Generation{V: 1, Run: run, Sample: ref, Variant: v.Name, Output: fmt.Sprintf("%s answers %d <b>&amp;</b>", v.Name, i)}
			if v.Name == "ft" && i == n-1 {
				g.Output, g.Error = "", "HTTP 500" // failed: never drawn
			}
			gack, err := b.Publish(t.Context(), bus.GensSubject(run, v.Name), "", g)
			if err != nil {
				t.Fatal(err)
			}
			bk := eval.BucketOK
			if v.Name != "base" {
				bk = buckets[i%4]
				if g.Error != "" {
					bk = eval.BucketError
				}
			} else if i%5 == 0 {
				bk = eval.BucketWrongAnswer
			}
			sc := &eval.Score{V: 1, Run: run, Sample: ref, Variant: v.Name, GenSeq: gack.Sequence,
				Fingerprint: spec.Fingerprint(), Scoring: spec.Scoring(), Metrics: map[string]float64{"em": 1}, Bucket: bk}
			if _, err := b.Publish(t.Context(), bus.ScoresSubject(run, v.Name), "", sc); err != nil {
				t.Fatal(err)
			}
		}
		w := eval.WinTie
		switch {
		case i%2 == 0:
			w = eval.WinCandidate
		case i%3 == 0:
			w = eval.WinBaseline
		}
		j := spec.Judges[0]
		jd := &eval.Judgment{V: 1, Run: run, Sample: ref, Judge: j.Name, JudgeID: j.ID(), Candidate: "ft", Baseline: "base",
			Fingerprint: spec.Fingerprint(), Winner: w, Consistent: true}
		if _, err := b.Publish(t.Context(), bus.JudgmentsSubject(run, j.Name), "", jd); err != nil {
			t.Fatal(err)
		}
	}
	return spec
}

// texts reads a run's samples and generations from the streams, as the
// report stage's fetcher does.
type texts struct{ b *bus.Bus }

func (f texts) Sample(ctx context.Context, seq uint64) (*eval.Sample, error) {
	var s eval.Sample
	return &s, f.get(ctx, bus.StreamSamples, seq, &s)
}

func (f texts) Generation(ctx context.Context, seq uint64) (*eval.Generation, error) {
	var g eval.Generation
	return &g, f.get(ctx, bus.StreamGens, seq, &g)
}

func (f texts) get(ctx context.Context, stream string, seq uint64, v any) error {
	data, err := f.b.GetMsg(ctx, stream, seq)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// samples are the pairs a queue drew, sorted.
func samples(q *Queue) []string {
	var out []string
	for _, it := range q.Items {
		out = append(out, it.Suite+"/"+it.Sample+"/"+it.Candidate)
	}
	slices.Sort(out)
	return out
}

// TestDrawIsStratifiedAndDeterministic: each bucket gives min(per-bucket,
// what it has), regressions first; the same seed draws the same queue and
// order, another seed another; a failed generation is never drawn.
func TestDrawIsStratifiedAndDeterministic(t *testing.T) {
	b := bustest.New(t)
	fixture(t, b, "r1", 81)
	draw := func(seed uint64) *Queue {
		q, err := Draw(t.Context(), b, DrawOptions{Run: "r1", PerBucket: 7, Seed: seed, Fetch: texts{b}})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := draw(42)
	// ft's buckets: 21 ok (one of them s080 failed: bucket error), 20
	// each of refusal, format_error, wrong_answer.
	want := map[eval.Bucket]int{eval.BucketOK: 7, eval.BucketRefusal: 7, eval.BucketFormatError: 7, eval.BucketWrongAnswer: 7}
	got := map[eval.Bucket]int{}
	for _, it := range q.Items {
		got[it.Bucket]++
		if it.Sample == "s080" {
			t.Fatal("a pair with a failed generation was drawn")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("per bucket %v, want %v", got, want)
	}
	if q.Meta.Available[eval.BucketOK] != 20 || q.Meta.Available[eval.BucketRefusal] != 20 {
		t.Fatalf("available %v", q.Meta.Available)
	}
	// Regressions first: each bucket gives all its regressions, up to
	// the 7, before any other pair. A regression: ft's answer fails where
	// the baseline's (bad on every fifth sample) does not, or the judge
	// preferred base (odd samples divisible by 3).
	regressions := map[eval.Bucket]int{}
	for i := range 80 {
		bk := []eval.Bucket{eval.BucketOK, eval.BucketRefusal, eval.BucketFormatError, eval.BucketWrongAnswer}[i%4]
		if (bk != eval.BucketOK && i%5 != 0) || (i%2 == 1 && i%3 == 0) {
			regressions[bk]++
		}
	}
	drawn := map[eval.Bucket]int{}
	for _, it := range q.Items {
		if it.Regression {
			drawn[it.Bucket]++
		}
	}
	for bk, n := range regressions {
		if drawn[bk] != min(n, 7) {
			t.Errorf("bucket %s: %d regressions drawn of %d", bk, drawn[bk], n)
		}
	}
	// The order shown mixes the buckets, and A is the candidate's answer
	// in half the items.
	if slices.IsSortedFunc(q.Items, func(a, b *Item) int { return strings.Compare(string(a.Bucket), string(b.Bucket)) }) {
		t.Error("the items are shown bucket by bucket")
	}
	if g, w := samples(draw(42)), samples(q); !slices.Equal(g, w) {
		t.Fatalf("the same seed drew other pairs:\n%v\n%v", g, w)
	}
	if g := samples(draw(43)); slices.Equal(g, samples(q)) {
		t.Fatal("another seed drew the same pairs")
	}
	first := 0
	for _, it := range q.Items {
		if it.CandidateFirst {
			first++
		}
	}
	if first != len(q.Items)/2 && first != (len(q.Items)+1)/2 {
		t.Fatalf("the candidate is answer A in %d of %d items, not half", first, len(q.Items))
	}
}

// TestDrawTakesASampleOnce: with two candidates, a sample is drawn for
// one of them only: two items sharing the baseline's answer would say
// which answer is the baseline's.
func TestDrawTakesASampleOnce(t *testing.T) {
	b := bustest.New(t)
	fixture(t, b, "r2", 40, "ft2")
	q, err := Draw(t.Context(), b, DrawOptions{Run: "r2", PerBucket: 8, Seed: 5, Fetch: texts{b}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	cands := map[string]int{}
	for _, it := range q.Items {
		if c, dup := seen[it.Suite+"/"+it.Sample]; dup {
			t.Fatalf("sample %s drawn for %s and %s", it.Sample, c, it.Candidate)
		}
		seen[it.Suite+"/"+it.Sample] = it.Candidate
		cands[it.Candidate]++
	}
	if cands["ft"] == 0 || cands["ft2"] == 0 {
		t.Fatalf("items per candidate %v: both should be drawn", cands)
	}
}

// TestDrawGivesTheReportsBuckets: a queue's buckets are the report's, so
// the judge's off-topic reading and an answer far longer than the
// baseline's have buckets of their own to draw from.
func TestDrawGivesTheReportsBuckets(t *testing.T) {
	b := bustest.New(t)
	spec := fixture(t, b, "r3", 40)
	ref := func(i int) eval.SampleRef {
		id := fmt.Sprintf("s%03d", i)
		return eval.SampleRef{ID: id, Suite: "qa", Seq: sampleSeq(t, b, id)}
	}
	// s003 and s007 (wrong answers) and s004 (ok) read off-topic by the
	// judge in both rounds; s012 (ok) read so in one round of two.
	j := spec.Judges[0]
	for i, rounds := range map[int]int{3: 2, 7: 2, 4: 2, 12: 1} {
		r := ref(i)
		jd := &eval.Judgment{V: 1, Run: "r3", Sample: r, Judge: j.Name, JudgeID: j.ID(), Candidate: "ft", Baseline: "base",
			Fingerprint: spec.Fingerprint(), Winner: eval.WinBaseline, Consistent: true, JudgeRetry: 1} // a judge retry supersedes the fixture's
		for k := range 2 {
			jd.Rounds = append(jd.Rounds, eval.Round{Order: []string{eval.OrderCandidateFirst, eval.OrderBaselineFirst}[k], Winner: eval.WinBaseline,
				OffTopic: map[string]bool{"candidate": k < rounds}})
		}
		if _, err := b.Publish(t.Context(), bus.JudgmentsSubject("r3", j.Name), "", jd); err != nil {
			t.Fatal(err)
		}
	}
	// s008 (ok): 1,000 characters where the baseline wrote 100.
	r := ref(8)
	for v, chars := range map[string]int{"base": 100, "ft": 1000} {
		gseq := genSeq(t, b, v, "s008")
		sc := &eval.Score{V: 1, Run: "r3", Sample: r, Variant: v, GenSeq: gseq, Fingerprint: spec.Fingerprint(), Scoring: spec.Scoring(),
			Metrics: map[string]float64{"em": 1}, Bucket: eval.BucketOK, OutputChars: chars}
		if _, err := b.Publish(t.Context(), bus.ScoresSubject("r3", v), "", sc); err != nil {
			t.Fatal(err)
		}
	}
	q, err := Draw(t.Context(), b, DrawOptions{Run: "r3", PerBucket: 40, Seed: 1, Fetch: texts{b}})
	if err != nil {
		t.Fatal(err)
	}
	if q.Meta.Available[eval.BucketOffTopic] != 3 || q.Meta.Available[eval.BucketVerbose] != 1 {
		t.Fatalf("available %v", q.Meta.Available)
	}
	for _, it := range q.Items {
		switch it.Sample {
		case "s003", "s004", "s007":
			if it.Bucket != eval.BucketOffTopic || !strings.Contains(it.Reason, "does not address") {
				t.Errorf("%s: bucket %s, reason %q", it.Sample, it.Bucket, it.Reason)
			}
		case "s008":
			if it.Bucket != eval.BucketVerbose || !strings.Contains(it.Reason, "1000 characters") {
				t.Errorf("%s: bucket %s, reason %q", it.Sample, it.Bucket, it.Reason)
			}
		case "s012":
			if it.Bucket != eval.BucketOK {
				t.Errorf("s012, off-topic in one round of two, is in %s", it.Bucket)
			}
		}
	}
}

// sampleSeq and genSeq find a fixture's messages by id.
func sampleSeq(t *testing.T, b *bus.Bus, id string) uint64 {
	t.Helper()
	return seqOf(t, b, bus.StreamSamples, bus.SamplesSubject("r3", "qa"), func(data []byte) bool {
		var s eval.Sample
		return json.Unmarshal(data, &s) == nil && s.ID == id
	})
}

func genSeq(t *testing.T, b *bus.Bus, variant, id string) uint64 {
	t.Helper()
	return seqOf(t, b, bus.StreamGens, bus.GensSubject("r3", variant), func(data []byte) bool {
		var g eval.Generation
		return json.Unmarshal(data, &g) == nil && g.Sample.ID == id
	})
}

func seqOf(t *testing.T, b *bus.Bus, stream, subject string, match func([]byte) bool) uint64 {
	t.Helper()
	var found uint64
	err := b.ReadStored(t.Context(), stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}}, func(m jetstream.Msg, seq uint64) error {
		if found == 0 && match(m.Data()) {
			found = seq
		}
		return nil
	}, nil)
	if err != nil || found == 0 {
		t.Fatalf("no message in %s for it (%v)", subject, err)
	}
	return found
}

func TestStoreLoad(t *testing.T) {
	b := bustest.New(t)
	fixture(t, b, "r1", 20)
	q, err := Draw(t.Context(), b, DrawOptions{Run: "r1", Queue: "q1", PerBucket: 3, Seed: 1, Fetch: texts{b}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Store(t.Context(), b, q); err != nil {
		t.Fatal(err)
	}
	got, err := Load(t.Context(), b, "r1", "q1")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(t, got.Items), mustJSON(t, q.Items); g != w {
		t.Fatalf("loaded items differ:\n%s\n%s", g, w)
	}
	if err := Store(t.Context(), b, q); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("storing a queue twice: %v", err)
	}
	if _, err := Load(t.Context(), b, "r1", "nope"); err == nil {
		t.Fatal("a queue never stored loaded")
	}
	// Another draw under a name taken is refused, however it differs.
	other, err := Draw(t.Context(), b, DrawOptions{Run: "r1", Queue: "q1", PerBucket: 1, Seed: 2, Fetch: texts{b}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Store(t.Context(), b, other); !errors.Is(err, ErrQueueExists) {
		t.Fatalf("a second draw stored under a taken name: %v", err)
	}
	// A run with nothing to review gives no queue, and says why.
	if err := b.SubmitRun(t.Context(), &eval.RunSpec{Run: "empty", Baseline: "base",
		Variants: []eval.Variant{{Name: "base", BaseURL: "http://base/v1", Model: "m"}, {Name: "ft", BaseURL: "http://ft/v1", Model: "m"}},
		Suites:   []eval.Suite{{Name: "qa", Role: eval.RoleBenchmark, Path: "qa.jsonl", Metrics: []string{"em"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Draw(t.Context(), b, DrawOptions{Run: "empty", Fetch: texts{b}}); err == nil || !strings.Contains(err.Error(), "no scores yet") {
		t.Fatalf("drawing from a run with no scores: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	aliceToken = "alice-token-0123456789"
	bobToken   = "bob-token-0123456789ab"
)

// served stores a queue of run r1 and serves it.
func served(t *testing.T, perBucket int) (*bus.Bus, *Queue, *httptest.Server) {
	t.Helper()
	b := bustest.New(t)
	fixture(t, b, "r1", 41)
	q, err := Draw(t.Context(), b, DrawOptions{Run: "r1", Queue: "q1", PerBucket: perBucket, Seed: 7, Fetch: texts{b}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Store(t.Context(), b, q); err != nil {
		t.Fatal(err)
	}
	rs, err := ParseReviewers("test", "alice="+aliceToken+"\nbob="+bobToken)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(b, rs, nil).Handler())
	t.Cleanup(srv.Close)
	return b, q, srv
}

func post(t *testing.T, url, token string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
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
	return resp.StatusCode, string(data)
}

func storedLabels(t *testing.T, b *bus.Bus) int {
	t.Helper()
	n := 0
	err := b.ReadStored(t.Context(), bus.StreamLabels, jetstream.OrderedConsumerConfig{FilterSubjects: []string{labelSubject("r1", "q1")}}, func(jetstream.Msg, uint64) error {
		n++
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRefusedRequests: no token, a wrong one, an item not in the queue, a
// malformed label: each a clear 4xx, and nothing stored.
func TestRefusedRequests(t *testing.T) {
	b, q, srv := served(t, 2)
	url := srv.URL + "/v1/review/r1/q1/labels"
	good := fmt.Sprintf(`{"item":%q,"choice":"a","submission":"sub-0000000000000001"}`, q.Items[0].ID)
	for _, c := range []struct {
		name, token, body string
		status            int
		says              string
	}{
		{"no token", "", good, 401, "bearer token"},
		{"a wrong token", "not-a-reviewer-token-at-all", good, 401, "bearer token"},
		{"an item not in the queue", aliceToken, `{"item":"0000000000000000","choice":"a","submission":"sub-0000000000000002"}`, 404, "no such item"},
		{"a bad choice", aliceToken, fmt.Sprintf(`{"item":%q,"choice":"c","submission":"sub-0000000000000003"}`, q.Items[0].ID), 400, "use a, b or tie"},
		{"an unknown error type", aliceToken, fmt.Sprintf(`{"item":%q,"choice":"a","errors_b":["rude"],"submission":"sub-0000000000000004"}`, q.Items[0].ID), 400, "error type"},
		{"no submission", aliceToken, fmt.Sprintf(`{"item":%q,"choice":"a"}`, q.Items[0].ID), 400, "submission"},
		{"an unknown field", aliceToken, fmt.Sprintf(`{"item":%q,"choice":"a","submission":"sub-0000000000000005","winner":"ft"}`, q.Items[0].ID), 400, "unknown field"},
		{"not JSON", aliceToken, `choice=a`, 400, "bad label"},
	} {
		status, body := post(t, url, c.token, []byte(c.body))
		if status != c.status || !strings.Contains(strings.ToLower(body), c.says) {
			t.Errorf("%s: %d %s; want %d saying %q", c.name, status, body, c.status, c.says)
		}
	}
	// A form posted from another site is refused, signed in or not.
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(good))
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a label posted from another site: %d", resp.StatusCode)
	}
	if n := storedLabels(t, b); n != 0 {
		t.Fatalf("%d labels stored from refused requests", n)
	}
	// The blind items say nothing of which answer is whose.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/v1/review/r1/q1/items", nil)
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var blind struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(items, &blind); err != nil || len(blind.Items) != len(q.Items) {
		t.Fatalf("blind items %s: %v", items, err)
	}
	for _, it := range blind.Items {
		for k := range it {
			if !slices.Contains([]string{"id", "messages", "reference", "a", "b"}, k) {
				t.Errorf("a blind item holds %q", k)
			}
		}
	}
	for _, path := range []string{"/v1/review/r1/q1/items", "/v1/review/r1/q1/summary"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("GET %s without a token: %d", path, resp.StatusCode)
		}
	}
	// The page sends anyone without a session to sign in, and a form
	// posted without one is refused.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = client.Get(srv.URL + "/review/r1/q1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/review/login") {
		t.Errorf("the page without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = client.Post(srv.URL+"/review/r1/q1", "application/x-www-form-urlencoded", strings.NewReader("choice=a&item="+q.Items[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("a form posted without a session: %d", resp.StatusCode)
	}
}

// simulated is a reviewer whose choices are known: it prefers the
// candidate on items whose sample number is divisible by 3, the baseline
// on those that leave 1, and ties the rest; it ticks the bucket's error
// type on every other item.
type simulated struct {
	name, token string
}

func sampleNumber(it *Item) int {
	var n int
	fmt.Sscanf(it.Sample, "s%d", &n)
	return n
}

func (s simulated) prefers(it *Item) eval.Winner {
	switch sampleNumber(it) % 3 {
	case 0:
		return eval.WinCandidate
	case 1:
		return eval.WinBaseline
	}
	return eval.WinTie
}

func (s simulated) input(it *Item, sub string) Input {
	in := Input{Item: it.ID, Submission: sub, Choice: ChoiceTie}
	switch s.prefers(it) {
	case eval.WinCandidate:
		in.Choice = ChoiceB
		if it.CandidateFirst {
			in.Choice = ChoiceA
		}
	case eval.WinBaseline:
		in.Choice = ChoiceA
		if it.CandidateFirst {
			in.Choice = ChoiceB
		}
	}
	if e := confirms[it.Bucket]; e != "" && sampleNumber(it)%2 == 0 {
		// Ticked on the candidate's answer, wherever it is shown.
		if it.CandidateFirst {
			in.ErrorsA = []string{e}
		} else {
			in.ErrorsB = []string{e}
		}
	}
	return in
}

// candErrors are the error types the reviewer ticks on the candidate's
// answer.
func (s simulated) candErrors(it *Item) []string {
	in := s.input(it, "")
	if it.CandidateFirst {
		return in.ErrorsA
	}
	return in.ErrorsB
}

// TestLabelsThroughTheAPI: a simulated reviewer labels every item through
// the HTTP API; a form sent twice is one label, a re-label supersedes the
// first by name; the summary equals what the reviewer's choices give.
func TestLabelsThroughTheAPI(t *testing.T) {
	b, q, srv := served(t, 5)
	url := srv.URL + "/v1/review/r1/q1/labels"
	alice := simulated{"alice", aliceToken}
	for i, it := range q.Items {
		body, _ := json.Marshal(alice.input(it, fmt.Sprintf("alice-%016d", i)))
		status, resp := post(t, url, alice.token, body)
		if status != 201 {
			t.Fatalf("label %d: %d %s", i, status, resp)
		}
		if strings.Contains(resp, "preferred") || strings.Contains(resp, `"ft"`) || strings.Contains(resp, `"base"`) {
			t.Fatalf("the answer to a label says whose answers were whose: %s", resp)
		}
		if i == 0 {
			if status, resp := get(t, srv.URL+"/v1/review/r1/q1/reveal", alice.token); status != http.StatusConflict {
				t.Fatalf("the reveal before every item is labelled: %d %s", status, resp)
			}
		}
	}
	// Every item labelled: the reveal says whose answers were whose.
	status, resp := get(t, srv.URL+"/v1/review/r1/q1/reveal", alice.token)
	if status != 200 {
		t.Fatalf("the reveal: %d %s", status, resp)
	}
	var shown struct {
		Items []struct {
			Item, A   string
			Preferred eval.Winner
		}
	}
	if err := json.Unmarshal([]byte(resp), &shown); err != nil || len(shown.Items) != len(q.Items) {
		t.Fatalf("the reveal %s: %v", resp, err)
	}
	for _, r := range shown.Items {
		it := q.Item(r.Item)
		if want := map[bool]string{true: "ft", false: "base"}[it.CandidateFirst]; r.A != want || r.Preferred != alice.prefers(it) {
			t.Fatalf("revealed %+v; want A %s, preferred %s", r, want, alice.prefers(it))
		}
	}
	// The same form again: one label.
	body, _ := json.Marshal(alice.input(q.Items[0], fmt.Sprintf("alice-%016d", 0)))
	if status, resp := post(t, url, alice.token, body); status != 201 {
		t.Fatalf("a form sent again: %d %s", status, resp)
	}
	if n := storedLabels(t, b); n != len(q.Items) {
		t.Fatalf("%d labels stored for %d items", n, len(q.Items))
	}
	// The same form with another choice (a page restored from history):
	// refused, nothing stored.
	changed := alice.input(q.Items[0], fmt.Sprintf("alice-%016d", 0))
	changed.Choice = map[Choice]Choice{ChoiceA: ChoiceB, ChoiceB: ChoiceA, ChoiceTie: ChoiceA}[changed.Choice]
	body, _ = json.Marshal(changed)
	if status, resp := post(t, url, alice.token, body); status != http.StatusConflict {
		t.Fatalf("a form sent again changed: %d %s", status, resp)
	}
	if n := storedLabels(t, b); n != len(q.Items) {
		t.Fatalf("%d labels stored for %d items after a changed resend", n, len(q.Items))
	}
	// Bob labels the first half as alice does, but for one item, and
	// changes his mind on item 1 before he has seen any reveal: the new
	// label supersedes the old and counts.
	bob := simulated{"bob", bobToken}
	half := len(q.Items) / 2
	for i, it := range q.Items[:half] {
		in := bob.input(it, fmt.Sprintf("bob-%016d", i))
		if i == 0 {
			in.Choice = map[Choice]Choice{ChoiceA: ChoiceB, ChoiceB: ChoiceA, ChoiceTie: ChoiceA}[in.Choice]
		}
		body, _ := json.Marshal(in)
		if status, resp := post(t, url, bob.token, body); status != 201 {
			t.Fatalf("bob's label %d: %d %s", i, status, resp)
		}
	}
	bobIn := bob.input(q.Items[1], "bob-relabel-000000001")
	bobIn.Choice = ChoiceTie
	body, _ = json.Marshal(bobIn)
	if status, resp := post(t, url, bob.token, body); status != 201 || !strings.Contains(resp, `"supersedes":"bob-0000000000000001"`) || strings.Contains(resp, `"after_reveal":true`) {
		t.Fatalf("bob's re-label: %d %s", status, resp)
	}
	// Alice changes her mind on item 1 after the reveal: kept, marked,
	// and left out of every figure.
	in := alice.input(q.Items[1], "alice-relabel-00000001")
	in.Choice = ChoiceTie
	body, _ = json.Marshal(in)
	status, resp = post(t, url, alice.token, body)
	if status != 201 || !strings.Contains(resp, `"supersedes":"alice-0000000000000001"`) || !strings.Contains(resp, `"after_reveal":true`) {
		t.Fatalf("a re-label after the reveal: %d %s", status, resp)
	}

	ls, bad, err := LoadLabels(t.Context(), b, "r1", "q1")
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(q, ls, bad)

	// The oracle, from the simulated choices alone.
	var wins, ties, losses int
	confirmed, reviewed := map[eval.Bucket]int{}, map[eval.Bucket]int{}
	var judgePairs [][2]eval.Winner
	for i, it := range q.Items {
		ws := []eval.Winner{alice.prefers(it)}
		errs := [][]string{alice.candErrors(it)}
		if i < half {
			w := bob.prefers(it)
			if i == 0 {
				w = it.preferred(map[Choice]Choice{ChoiceA: ChoiceB, ChoiceB: ChoiceA, ChoiceTie: ChoiceA}[bob.input(it, "x").Choice])
			}
			if i == 1 {
				w = eval.WinTie
			}
			ws = append(ws, w)
			errs = append(errs, bob.candErrors(it))
		}
		for _, w := range ws {
			switch w {
			case eval.WinCandidate:
				wins++
			case eval.WinBaseline:
				losses++
			default:
				ties++
			}
			judgePairs = append(judgePairs, [2]eval.Winner{it.JudgeWinner, w})
		}
		// An item is confirmed when at least half its reviewers confirm
		// it.
		yes := 0
		for _, es := range errs {
			if e := confirms[it.Bucket]; (e != "" && slices.Contains(es, e)) || (it.Bucket == eval.BucketOK && len(es) == 0) {
				yes++
			}
		}
		reviewed[it.Bucket]++
		if 2*yes >= len(errs) {
			confirmed[it.Bucket]++
		}
	}
	if len(s.WinRate) != 1 || s.WinRate[0].Wins != wins || s.WinRate[0].Ties != ties || s.WinRate[0].Losses != losses {
		t.Fatalf("win rate %+v; want %d wins, %d ties, %d losses", s.WinRate, wins, ties, losses)
	}
	// Over the items: an item two reviewers labelled counts its mean.
	var itemSum float64
	for _, it := range q.Items {
		var sum float64
		var n int
		for _, l := range ls.InForce() {
			if l.Item == it.ID {
				sum += map[eval.Winner]float64{eval.WinCandidate: 1, eval.WinTie: 0.5}[l.Preferred]
				n++
			}
		}
		itemSum += sum / float64(n)
	}
	if want := itemSum / float64(len(q.Items)); math.Abs(s.WinRate[0].Value-want) > 1e-12 || s.WinRate[0].Lo > want || s.WinRate[0].Hi < want {
		t.Fatalf("win rate %+v, want %.4f inside its interval", s.WinRate[0].HumanRate, want)
	}
	for _, c := range s.Buckets {
		bk := eval.Bucket(c.Bucket)
		if c.Reviewed != reviewed[bk] || c.Confirmed != confirmed[bk] {
			t.Errorf("bucket %s: %d of %d confirmed; want %d of %d", c.Bucket, c.Confirmed, c.Reviewed, confirmed[bk], reviewed[bk])
		}
	}
	// Cohen's kappa by its textbook formula over the same pairs.
	agree := 0
	var po, pe float64
	for _, p := range judgePairs {
		if p[0] == p[1] {
			agree++
		}
	}
	po = float64(agree) / float64(len(judgePairs))
	for _, v := range []eval.Winner{eval.WinCandidate, eval.WinBaseline, eval.WinTie} {
		var x, y int
		for _, p := range judgePairs {
			if p[0] == v {
				x++
			}
			if p[1] == v {
				y++
			}
		}
		pe += float64(x) * float64(y) / float64(len(judgePairs)*len(judgePairs))
	}
	wantKappa := (po - pe) / (1 - pe)
	if len(s.Judges) != 1 || s.Judges[0].N != len(judgePairs) || math.Abs(s.Judges[0].Kappa-wantKappa) > 1e-12 || math.Abs(s.Judges[0].Percent.Value-po) > 1e-12 {
		t.Fatalf("judge agreement %+v; want kappa %.4f, agreement %.4f over %d", s.Judges, wantKappa, po, len(judgePairs))
	}
	if k := s.Judges[0]; k.KappaLo > k.Kappa || k.KappaHi < k.Kappa {
		t.Fatalf("kappa %.3f outside its interval [%.3f, %.3f]", k.Kappa, k.KappaLo, k.KappaHi)
	}
	// Reviewers agree on every shared item but item 0 and item 1 (alice's
	// re-label to a tie, unless she preferred a tie already).
	if s.Reviewers == nil || s.Reviewers.N != half {
		t.Fatalf("inter-reviewer agreement %+v over %d items", s.Reviewers, half)
	}
	if s.Superseded != 1 || s.AfterReveal != 1 || s.Labels != len(q.Items)+half {
		t.Fatalf("%d labels in force, %d superseded, %d after the reveal", s.Labels, s.Superseded, s.AfterReveal)
	}
	var md bytes.Buffer
	if err := WriteSummary(&md, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "judge j1 vs reviewers") || !strings.Contains(md.String(), "Cohen's kappa") {
		t.Fatalf("summary:\n%s", md.String())
	}
}

func TestParseReviewers(t *testing.T) {
	for _, c := range []struct{ text, err string }{
		{"alice=" + aliceToken + "\n# comment\n\nbob=" + bobToken, ""},
		{"alice", "reviewer=token"},
		{"alice=short", "shorter than"},
		{"al ice=" + aliceToken, "letters"},
		{"alice=" + aliceToken + ",bob=" + aliceToken, "twice"},
	} {
		_, err := ParseReviewers("f", c.text)
		if (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v, want %q", c.text, err, c.err)
		}
		if err != nil && strings.Contains(err.Error(), aliceToken) {
			t.Errorf("an error quotes a token: %v", err)
		}
	}
}

func FuzzDecodeInput(f *testing.F) {
	f.Add([]byte(`{"item":"0123456789abcdef","choice":"a","errors_a":["factual"],"errors_b":["verbose"],"corrected":"x","note":"y","submission":"sub-0000000000000001"}`))
	f.Add([]byte(`{"item":"","choice":"tie"}`))
	f.Add([]byte(`{"choice":"b","errors_a":["refusal","refusal"]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := DecodeInput(data)
		if err != nil {
			return
		}
		// What is accepted is a label Submit can store as it is.
		if in.Check() != nil || (in.Choice != ChoiceA && in.Choice != ChoiceB && in.Choice != ChoiceTie) || len(in.Submission) < 16 {
			t.Fatalf("accepted %+v", in)
		}
		for _, e := range slices.Concat(in.ErrorsA, in.ErrorsB) {
			if !slices.Contains(ErrorTypes, e) {
				t.Fatalf("accepted error type %q", e)
			}
		}
	})
}

// FuzzParseReviewers: the reviewers file is the operator's, read at start:
// whatever it holds, parsing never panics, an error never quotes a token,
// and every reviewer accepted is found by their token alone.
func FuzzParseReviewers(f *testing.F) {
	f.Add("alice=" + aliceToken + "\n# c\nbob=" + bobToken)
	f.Add("alice=" + aliceToken + ",alice=" + bobToken)
	f.Add("=\n,,\nx=y")
	f.Fuzz(func(t *testing.T, text string) {
		rs, err := ParseReviewers("f", text)
		if err != nil {
			for _, line := range strings.Split(text, "\n") {
				for entry := range strings.SplitSeq(line, ",") {
					if _, tok, ok := strings.Cut(entry, "="); ok && len(strings.TrimSpace(tok)) >= minTokenLen && strings.Contains(err.Error(), strings.TrimSpace(tok)) {
						t.Fatalf("an error quotes a token: %v", err)
					}
				}
			}
			return
		}
		for _, line := range strings.Split(text, "\n") {
			for entry := range strings.SplitSeq(line, ",") {
				entry = strings.TrimSpace(entry)
				if entry == "" || strings.HasPrefix(entry, "#") {
					continue
				}
				name, tok, _ := strings.Cut(entry, "=")
				if got := rs.Who(strings.TrimSpace(tok)); got != strings.TrimSpace(name) {
					t.Fatalf("token of %q finds %q", name, got)
				}
			}
		}
	})
}
