package review

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromium is Debian's headless browser, which .ci/run installs.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: install Debian's chromium (apt-get install chromium; .ci/run does)")
	return ""
}

// browser starts a headless chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // as root in CI containers
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	ctx, cancelT := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancelT)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// shownItem is the item the page shows now: "" at the end of the queue,
// "-" while a page loads or shows neither.
func shownItem(ctx context.Context) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](`(function(){
  if(document.readyState!=='complete')return '-';
  if(document.getElementById('finished'))return '';
  var e=document.querySelector('input[name=item]');return e?e.value:'-'})()`))
}

// waitForItem waits until the page shows an item other than prev, or the
// end of the queue ("").
func waitForItem(t *testing.T, ctx context.Context, prev string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		id, err := shownItem(ctx)
		if err == nil && id != prev && id != "-" {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page still shows item %q after a minute (%v)", prev, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func screenshot(t *testing.T, ctx context.Context, name string, width, height int64) {
	t.Helper()
	dir := os.Getenv("ASSAY_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	opts := []chromedp.EmulateViewportOption{}
	if width < 600 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height, opts...)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d×%d): %s", name, width, height, path)
}

// TestReviewPageInABrowser: a reviewer signs in with a token, labels items
// with the keyboard alone, reloads mid-queue and resumes where they were,
// and the labels stream then holds exactly the labels given.
func TestReviewPageInABrowser(t *testing.T) {
	b, q, srv := served(t, 2)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/review/r1/q1"), chromedp.WaitVisible(chromedp.ID("token"))); err != nil {
		t.Fatal(err)
	}
	// A wrong token is refused.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), "not-a-reviewer-token-at-all"),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(".error")),
	); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".error")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "not a reviewer") {
		t.Fatalf("a wrong token: %q", msg)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), aliceToken),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.ID("label")),
	); err != nil {
		t.Fatal(err)
	}
	// Model output is shown as text, never run: the fixture's prompts
	// hold a script tag.
	if alerted, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll('.msg script').length>0`)); err != nil || alerted {
		t.Fatalf("a prompt's script tag became an element (%v)", err)
	}
	screenshot(t, ctx, "review-desktop.png", 1280, 900)
	screenshot(t, ctx, "review-phone.png", 390, 844)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}

	alice := simulated{"alice", aliceToken}
	want := map[string]Input{}
	notes := map[string]string{}
	label := func(id string) {
		t.Helper()
		it := q.Item(id)
		if it == nil {
			t.Fatalf("the page shows item %q, not in the queue", id)
		}
		in := alice.input(it, "")
		want[id] = in
		keys := []chromedp.Action[chromedp.Void]{chromedp.KeyEvent(map[Choice]string{ChoiceA: "a", ChoiceB: "b", ChoiceTie: "t"}[in.Choice])}
		key := map[string]string{"factual": "x", "format_error": "f", "refusal": "r", "off_topic": "o", "verbose": "v"}
		for _, e := range in.ErrorsA {
			keys = append(keys, chromedp.KeyEvent(key[e]))
		}
		for _, e := range in.ErrorsB {
			keys = append(keys, chromedp.KeyEvent(strings.ToUpper(key[e]), chromedp.KeyModifiers(chromedp.ModifierShift)))
		}
		if sampleNumber(it)%3 == 0 {
			notes[id] = "checked " + it.Sample
			keys = append(keys, chromedp.KeyEvent("n"), chromedp.KeyEvent(notes[id]), chromedp.KeyEvent(kb.Escape))
		}
		keys = append(keys, chromedp.KeyEvent(kb.Enter))
		if err := chromedp.Do(ctx, keys...); err != nil {
			t.Fatal(err)
		}
	}
	id := waitForItem(t, ctx, "")
	var order []string
	for range 3 {
		order = append(order, id)
		label(id)
		id = waitForItem(t, ctx, id)
	}
	// Saved, and nothing said yet of whose answers were whose.
	saved, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("saved")))
	if err != nil || !strings.Contains(saved, "Label saved") {
		t.Fatalf("after a label: %q (%v)", saved, err)
	}
	if leaked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.innerText.includes('A was')||!!document.getElementById('reveals')`)); err != nil || leaked {
		t.Fatalf("the page reveals answers before every item is labelled (%v)", err)
	}
	// Reloaded mid-queue, the page resumes at the first item not labelled.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/review/r1/q1"), chromedp.WaitVisible(chromedp.ID("label"))); err != nil {
		t.Fatal(err)
	}
	resumed := waitForItem(t, ctx, "")
	count, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("count")))
	if err != nil {
		t.Fatal(err)
	}
	if resumed != id || count != fmt.Sprintf("3 of %d labelled", len(q.Items)) {
		t.Fatalf("after a reload: item %s (%q), want %s (3 labelled)", resumed, count, id)
	}
	for id != "" {
		order = append(order, id)
		label(id)
		id = waitForItem(t, ctx, id)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("finished"))); err != nil {
		t.Fatal(err)
	}
	if len(order) != len(q.Items) {
		t.Fatalf("labelled %d items of %d", len(order), len(q.Items))
	}
	// Every item labelled: the page says whose answers were whose.
	table, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("reveals")))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range order {
		it := q.Item(id)
		a, b := it.Shown()
		row := fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s", it.Position+1, a, b, want[id].Choice, alice.prefers(it), it.Bucket)
		if !strings.Contains(table, row) {
			t.Errorf("the reveal has no row %q:\n%s", row, table)
		}
	}
	screenshot(t, ctx, "review-finished.png", 1280, 900)

	ls, bad, err := LoadLabels(t.Context(), b, "r1", "q1")
	if err != nil {
		t.Fatal(err)
	}
	if bad != 0 || len(ls.All) != len(q.Items) {
		t.Fatalf("%d labels stored (%d bad) for %d items labelled", len(ls.All), bad, len(q.Items))
	}
	for _, l := range ls.All {
		in, it := want[l.Item], q.Item(l.Item)
		if l.Reviewer != "alice" || l.Choice != in.Choice || l.Preferred != alice.prefers(it) || !slices.Equal(l.CandidateErrors, alice.candErrors(it)) ||
			len(l.BaselineErrors) != 0 || l.Note != notes[l.Item] || l.CandidateGen != it.CandidateGen || l.BaselineGen != it.BaselineGen {
			t.Errorf("label of %s: %+v; want choice %s (%s), candidate errors %v, note %q", l.Item, *l, in.Choice, alice.prefers(it), alice.candErrors(it), notes[l.Item])
		}
	}
	s := Summarize(q, ls, bad)
	if s.Labelled != len(q.Items) || s.WinRate[0].Wins+s.WinRate[0].Ties+s.WinRate[0].Losses != len(q.Items) {
		t.Fatalf("summary %+v", s)
	}
	_ = eval.WinTie
}
