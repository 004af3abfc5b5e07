package ab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

func experiment() Experiment {
	return Experiment{
		Name: "support-ft", Unit: "user",
		Arms: []Arm{
			{Name: "control", Variant: "base", Weight: 50},
			{Name: "treatment", Variant: "ft", Weight: 50},
		},
		Primary:    Metric{Metric: "success"},
		Guardrails: []Metric{{Metric: "ticket", Margin: 0.01}, {Metric: "latency_ms", Margin: 100}},
		MinUnits:   1000,
	}
}

// chi2 is the chi-square statistic of two arms' counts against their
// weights; above chi2Crit (1 degree of freedom, p = 0.001) they do not
// follow the weights.
const chi2Crit = 10.828

func chi2(obs []int, weights []float64) float64 {
	var n, w float64
	for i := range obs {
		n += float64(obs[i])
		w += weights[i]
	}
	var chi float64
	for i, o := range obs {
		e := n * weights[i] / w
		chi += (float64(o) - e) * (float64(o) - e) / e
	}
	return chi
}

func TestAssignmentFollowsTheWeightsAndSticks(t *testing.T) {
	ctx := context.Background()
	e := experiment()
	e.Arms[0].Weight, e.Arms[1].Weight = 20, 80
	as := &Assigner{Store: &MemoryStore{}}
	first := map[string]string{}
	counts := make([]int, 2)
	const n = 20000
	for i := range n {
		unit := fmt.Sprintf("user-%d", i)
		a, err := as.Assign(ctx, e, unit)
		if err != nil || !a.New {
			t.Fatalf("assign %s: %+v %v", unit, a, err)
		}
		first[unit] = a.Arm
		if a.Arm == "control" {
			counts[0]++
			if a.Variant != "base" {
				t.Fatalf("control served by %q", a.Variant)
			}
		} else {
			counts[1]++
		}
	}
	if c := chi2(counts, []float64{20, 80}); c > chi2Crit {
		t.Errorf("20/80 weights gave %v (chi-square %g)", counts, c)
	}
	// A restart: a new assigner over an empty store (a product's
	// in-process assigner restarted) gives every unit the same arm, since
	// the hash decides under unchanged weights.
	again := &Assigner{Store: &MemoryStore{}}
	for unit, arm := range first {
		if a, _ := again.Assign(ctx, e, unit); a.Arm != arm {
			t.Fatalf("unit %s: %s after a restart, %s before", unit, a.Arm, arm)
		}
	}
	// The weights change to 50/50: units seen before keep their arm (and
	// are not new exposures); new units follow the new weights.
	e.Arms[0].Weight, e.Arms[1].Weight = 50, 50
	epoch := e.Epoch()
	for unit, arm := range first {
		a, err := as.Assign(ctx, e, unit)
		if err != nil || a.Arm != arm || a.New {
			t.Fatalf("unit %s after the weights changed: %+v %v, had %s", unit, a, err, arm)
		}
		if a.Epoch == epoch {
			t.Fatalf("unit %s: recorded under the new weights' epoch", unit)
		}
	}
	counts = make([]int, 2)
	for i := range n {
		a, _ := as.Assign(ctx, e, fmt.Sprintf("new-user-%d", i))
		if !a.New || a.Epoch != epoch {
			t.Fatalf("new unit: %+v", a)
		}
		if a.Arm == "control" {
			counts[0]++
		} else {
			counts[1]++
		}
	}
	if c := chi2(counts, []float64{50, 50}); c > chi2Crit {
		t.Errorf("50/50 weights gave %v (chi-square %g)", counts, c)
	}
}

func TestAssignmentDependsOnTheSaltOnly(t *testing.T) {
	e := experiment()
	f := experiment()
	f.Salt = "another"
	var same int
	for i := range 4000 {
		u := fmt.Sprintf("u%d", i)
		if e.Pick(Bucket(e.SaltOf(), u)).Name == f.Pick(Bucket(f.SaltOf(), u)).Name {
			same++
		}
	}
	// Independent splits agree about half the time.
	if math.Abs(float64(same)/4000-0.5) > 0.04 {
		t.Errorf("salted splits agree on %d of 4000 units", same)
	}
	if b := Bucket("s", "u"); b < 0 || b >= 1 || b != Bucket("s", "u") {
		t.Errorf("bucket %v", b)
	}
	// An arm of weight 0 gets no new unit.
	e.Arms = append(e.Arms, Arm{Name: "off", Variant: "x", Weight: 0})
	for i := range 2000 {
		if a := e.Pick(Bucket("s", fmt.Sprint(i))); a.Name == "off" {
			t.Fatal("an arm of weight 0 was picked")
		}
	}
	if a := e.Pick(math.Nextafter(1, 0)); a.Name != "treatment" {
		t.Errorf("u just under 1 picked %q", a.Name)
	}
}

func TestAStoppedOrRemovedArmsUnitsAreServedTheControl(t *testing.T) {
	ctx := context.Background()
	e := experiment()
	as := &Assigner{Store: &MemoryStore{}}
	treated := map[string]bool{}
	for i := range 400 {
		u := fmt.Sprintf("u%d", i)
		a, err := as.Assign(ctx, e, u)
		if err != nil {
			t.Fatal(err)
		}
		treated[u] = a.Arm == "treatment"
	}
	// A rollback: the treatment is stopped (and a third arm keeps the
	// experiment comparing something).
	e.Arms = append(e.Arms, Arm{Name: "t2", Variant: "ft2", Weight: 50})
	e.Arms[1].Stopped = true
	for u, was := range treated {
		a, err := as.Assign(ctx, e, u)
		switch {
		case err != nil:
			t.Fatal(err)
		case was && (a.Arm != "control" || a.Variant != "base" || a.Recorded != "treatment"):
			t.Fatalf("unit %s of the stopped arm: %+v", u, a)
		case !was && a.Recorded != "":
			t.Fatalf("unit %s of the control: %+v", u, a)
		}
	}
	for i := range 400 {
		if a, _ := as.Assign(ctx, e, fmt.Sprintf("new%d", i)); a.Arm == "treatment" {
			t.Fatal("a stopped arm took a new unit")
		}
	}
	// The arm removed altogether: the same.
	e.Arms = []Arm{e.Arms[0], e.Arms[2]}
	for u, was := range treated {
		if a, _ := as.Assign(ctx, e, u); was && (a.Arm != "control" || a.Recorded != "treatment") {
			t.Fatalf("unit %s of the removed arm: %+v", u, a)
		}
	}
}

func TestEpochNamesWhatDecidesTheSplit(t *testing.T) {
	e := experiment()
	base := e.Epoch()
	for name, change := range map[string]func(*Experiment){
		"salt":    func(e *Experiment) { e.Salt = "other" },
		"variant": func(e *Experiment) { e.Arms[1].Variant = "ft2" },
		"weight":  func(e *Experiment) { e.Arms[1].Weight = 60 },
		"stopped": func(e *Experiment) { e.Arms[1].Stopped = true },
	} {
		f := experiment()
		f.Arms = append([]Arm(nil), f.Arms...)
		change(&f)
		if f.Epoch() == base {
			t.Errorf("changing the %s keeps the epoch", name)
		}
	}
	if e.Epoch() != base {
		t.Error("the epoch is not a function of the experiment")
	}
}

func TestAssignRefusesBadUnits(t *testing.T) {
	as := &Assigner{Store: &MemoryStore{}}
	for _, u := range []string{"", "  ", strings.Repeat("x", MaxUnitBytes+1), "a\x00b", "\xff", "user\u202e1"} {
		if _, err := as.Assign(context.Background(), experiment(), u); !errors.Is(err, ErrUnit) {
			t.Errorf("unit %q: %v", u, err)
		}
	}
}

func TestExperimentValidation(t *testing.T) {
	if err := experiment().Validate([]string{"base", "ft"}); err != nil {
		t.Fatalf("a sound experiment: %v", err)
	}
	for _, c := range []struct {
		change func(*Experiment)
		want   string
	}{
		{func(e *Experiment) { e.Name = "Has Space" }, "name: \"Has Space\" must be"},
		{func(e *Experiment) { e.Arms = e.Arms[:1] }, "arms: needs at least 2 arms"},
		{func(e *Experiment) { e.Arms[1].Name = "control" }, "used by another arm"},
		{func(e *Experiment) { e.Arms[1].Variant = "nope" }, `arms[1].variant: "nope" is not one of the run's variants`},
		{func(e *Experiment) { e.Arms[1].Weight = -1 }, "arms[1].weight: -1 must be"},
		{func(e *Experiment) { e.Arms[1].Weight = 0 }, "at least 2 arms that are not stopped need a weight"},
		{func(e *Experiment) { e.Arms[1].Stopped = true }, "at least 2 arms that are not stopped"},
		{func(e *Experiment) {
			e.Arms[0].Weight = 0
			e.Arms = append(e.Arms, Arm{Name: "t2", Variant: "ft", Weight: 1})
		}, "arms[0]: the first arm is the control"},
		{func(e *Experiment) { e.Guardrails[0].Margin = 0 }, "guardrails[0].margin: 0 must be a number above 0"},
		{func(e *Experiment) { e.Guardrails[1].Metric = "ticket" }, "ticket is guarded twice"},
		{func(e *Experiment) { e.Primary.Margin = 0.1 }, "a margin applies to guardrails only"},
		{func(e *Experiment) { e.MinUnits = 0 }, "min_units: 0 must be at least 1"},
		{func(e *Experiment) { e.Window = -1 }, "window: cannot be negative"},
		{func(e *Experiment) { e.MaxDuration = eval.Duration(100 * 24 * time.Hour) }, "max_duration: 2400h0m0s is longer than 2160h0m0s"},
		{func(e *Experiment) { e.Primary.Metric = "happiness" }, `primary.metric: "happiness" is not one of`},
		{func(e *Experiment) { e.Guardrails[0].Margin = math.NaN() }, "guardrails[0].margin: NaN must be"},
		{func(e *Experiment) { e.Guardrails[0].Metric = "success" }, "is the primary metric"},
		{func(e *Experiment) { e.MinUnits = -5 }, "min_units: -5 must be"},
	} {
		e := experiment()
		e.Arms = append([]Arm(nil), e.Arms...)
		e.Guardrails = append([]Metric(nil), e.Guardrails...)
		c.change(&e)
		if err := e.Validate([]string{"base", "ft"}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, err)
		}
	}
}

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func TestParseEvent(t *testing.T) {
	for _, ok := range []string{
		`{"id": "e1", "kind": "exposure", "unit": "u1", "arm": "treatment"}`,
		`{"id": "e2", "kind": "turn", "unit": "u1", "conversation": "c1", "model": "qwen3-8b-ft", "query": "hi", "answer": "Hello!", "prompt_tokens": 12, "completion_tokens": 3, "latency_ms": 840.5, "ttft_ms": 120, "at": "2026-12-07T11:59:00Z"}`,
		`{"id": "e3", "kind": "outcome", "unit": "u1", "conversation": "c1", "success": true, "satisfaction": 4, "ticket": false, "ended": true, "turns": 3}`,
		`{"id": "e4", "kind": "outcome", "unit": "u1", "conversation": "c1", "ticket": true, "at": "2026-12-07T12:04:00Z"}`,
	} {
		e, err := ParseEvent([]byte(ok), now)
		if err != nil {
			t.Errorf("%s: %v", ok, err)
			continue
		}
		if e.At.IsZero() {
			t.Errorf("%s: no time given", ok)
		}
	}
	e, _ := ParseEvent([]byte(`{"id": "e1", "kind": "exposure", "unit": "u1"}`), now)
	if !e.At.Equal(now) {
		t.Errorf("an event without a time: at %v, want now", e.At)
	}
	for _, c := range []struct{ data, want string }{
		{`{"id": "e", "kind": "outcome", "unit": "u", "conversation": "c", "sucess": true}`, `unknown field "sucess"`},
		{`{"kind": "exposure", "unit": "u"}`, "id is missing"},
		{`{"id": "e", "unit": "u"}`, "kind is missing"},
		{`{"id": "e", "kind": "click", "unit": "u"}`, `kind "click"`},
		{`{"id": "e", "kind": "exposure"}`, "the unit is empty"},
		{`{"id": "e", "kind": "turn", "unit": "u", "answer": "x"}`, "conversation is missing"},
		{`{"id": "e", "kind": "outcome", "unit": "u", "conversation": "c"}`, "needs at least one of"},
		{`{"id": "e", "kind": "outcome", "unit": "u", "conversation": "c", "satisfaction": 9}`, "satisfaction 9 is outside 1–5"},
		{`{"id": "e", "kind": "outcome", "unit": "u", "conversation": "c", "turns": -1}`, "turns -1"},
		{`{"id": "e", "kind": "outcome", "unit": "u", "conversation": "c", "success": true, "answer": "x"}`, "belong to an event of kind turn"},
		{`{"id": "e", "kind": "turn", "unit": "u", "conversation": "c", "ticket": true}`, "belong to an event of kind outcome"},
		{`{"id": "e", "kind": "exposure", "unit": "u", "success": true}`, "an exposure carries no"},
		{`{"id": "e", "kind": "outcome", "unit": "u", "conversation": "c", "success": true, "epoch": "ab12"}`, "epoch belongs to an exposure"},
		{`{"id": "e", "kind": "turn", "unit": "u", "conversation": "c", "answer": "no", "refused": true}`, "json_valid, format_ok and chars are assay's readings"},
		{`{"id": "e", "kind": "score", "unit": "u", "conversation": "c"}`, "a score needs refused"},
		{`{"id": "e", "kind": "outcome", "unit": "u", "conversation": "c", "ended": true, "format_ok": true}`, "format_ok and chars are assay's readings"},
		{`{"id": "e", "kind": "score", "unit": "u", "conversation": "c", "refused": false, "chars": -1}`, "chars -1 is outside"},
		{`{"id": "e", "kind": "score", "unit": "u", "refused": true}`, "a score carries its turn's unit and conversation"},
		{`{"id": "e", "kind": "turn", "unit": "u", "conversation": "c", "latency_ms": -3}`, "latency_ms -3"},
		{`{"id": "e", "kind": "turn", "unit": "u", "conversation": "c", "latency_ms": 100, "ttft_ms": 300}`, "ttft_ms 300 is after"},
		{`{"id": "e", "kind": "turn", "unit": "u", "conversation": "c", "completion_tokens": -1}`, "completion_tokens -1"},
		{`{"id": "e", "kind": "exposure", "unit": "u", "at": "2027-01-01T00:00:00Z"}`, "ahead of this server's clock"},
		{`{"id": "e", "kind": "exposure", "unit": "u", "at": "1970-01-01T00:00:00Z"}`, "before 2000"},
		{`{"id": "e", "kind": "exposure", "unit": "u", "arm": "Treatment!"}`, "not an arm name"},
		{`{"id": "e", "kind": "exposure", "unit": "u"} {"id": "f"}`, "more than one JSON value"},
		{`[1, 2]`, "not an event object"},
		{`{"ID": "e", "kind": "exposure", "unit": "u"}`, `unknown field "ID"`},
		{`{"id": "e", "kind": "outcome", "unit": "u", "conversation": "c", "success": true, "success": false}`, `field "success" is given twice`},
		{`{"id": "e", "kind": "exposure", "kind": "outcome", "unit": "u"}`, `field "kind" is given twice`},
		{`{"id": "e", "kind": "exposure", "unit": "u", "at": "0001-01-01T00:00:00Z"}`, "at is the zero time"},
		{`{"id": "e", "kind": "exposure", "unit": "u", "at": "yesterday"}`, `at "yesterday" is not a time`},
		{`{"id": "e", "kind": "outcome", "unit": "u", "conversation": "c", "turns": 3.5}`, "turns must be a whole number"},
		{`{"id": "e", "kind": "outcome", "unit": "u", "conversation": "c", "success": "yes"}`, "success must be true or false, not a JSON string"},
		{`{"id": "e", "kind": "turn", "unit": "u", "conversation": "c", "latency_ms": "fast"}`, "latency_ms must be a number"},
		{"{\"id\": \"e\xff\", \"kind\": \"exposure\", \"unit\": \"u\"}", "not valid UTF-8"},
		{`{"id": "` + strings.Repeat("x", MaxIDBytes+1) + `", "kind": "exposure", "unit": "u"}`, "id is 129 bytes"},
		{`{"id": "e", "kind": "turn", "unit": "u", "conversation": "c", "answer": "` + strings.Repeat("x", MaxAnswerBytes+1) + `"}`, "answer is 65537 bytes"},
	} {
		_, err := ParseEvent([]byte(c.data), now)
		if !errors.Is(err, ErrEvent) || !strings.Contains(err.Error(), c.want) {
			short := c.data
			if len(short) > 80 {
				short = short[:80]
			}
			t.Errorf("%s: want an error with %q, got %v", short, c.want, err)
		}
	}
	big := `{"id": "e", "kind": "turn", "unit": "u", "conversation": "c", "answer": "` + strings.Repeat("x", MaxEventBytes) + `"}`
	if _, err := ParseEvent([]byte(big), now); err == nil || !strings.Contains(err.Error(), "more than 262144") {
		t.Errorf("an oversized event: %v", err)
	}
	// An event built in Go is checked the same way; a NaN is out of range.
	nan := math.NaN()
	ev := Event{ID: "e", Kind: KindOutcome, Unit: "u", Conversation: "c", Satisfaction: &nan}
	if err := ev.Check(now); !errors.Is(err, ErrEvent) {
		t.Errorf("NaN satisfaction: %v", err)
	}
}

// FuzzParseEvent: no input panics, and an accepted event written back
// out reads back the same.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"id": "e2", "kind": "turn", "unit": "u1", "conversation": "c1", "answer": "Hello!", "latency_ms": 840.5, "ttft_ms": 120}`))
	f.Add([]byte(`{"id": "e3", "kind": "outcome", "unit": "u1", "conversation": "c1", "success": true, "satisfaction": 4, "turns": 3}`))
	f.Add([]byte(`{"id": "e1", "kind": "exposure", "unit": "u1", "at": "2026-12-07T11:00:00+01:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEvent(data, now)
		if err != nil {
			if !errors.Is(err, ErrEvent) {
				t.Fatalf("an error that is not ErrEvent: %v", err)
			}
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseEvent(out, now)
		if err != nil {
			t.Fatalf("%s does not read back: %v", out, err)
		}
		again, _ := json.Marshal(back)
		if string(again) != string(out) {
			t.Fatalf("read back differently:\n%s\n%s", out, again)
		}
	})
}
