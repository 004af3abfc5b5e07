package llmsim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

func TestParseArmRates(t *testing.T) {
	name, r, err := ParseArmRates("treatment:success=0.45, ticket=0.1,satisfaction=4.5,latency_ms=650")
	if err != nil || name != "treatment" || r != (ArmRates{Success: 0.45, Ticket: 0.1, Satisfaction: 4.5, LatencyMS: 650}) {
		t.Errorf("got %q %+v %v", name, r, err)
	}
	if name, r, err := ParseArmRates("control:"); err != nil || name != "control" || r.Success != 0.3 || r.Ticket != 0.05 {
		t.Errorf("defaults: %q %+v %v", name, r, err)
	}
	for _, bad := range []string{":success=0.3", "a:success=1.5", "a:ticket=-0.1", "a:satisfaction=9", "a:speed=3", "a:success", "a:success=NaN", "a:latency_ms=-1"} {
		if _, _, err := ParseArmRates(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseArmRates(f *testing.F) {
	f.Add("treatment:success=0.45,ticket=0.1")
	f.Add("a:satisfaction=3,latency_ms=1e3")
	f.Fuzz(func(t *testing.T, s string) {
		name, r, err := ParseArmRates(s)
		if err != nil {
			return
		}
		if name == "" || strings.Contains(name, ":") && !strings.HasPrefix(s, name+":") {
			t.Fatalf("name %q from %q", name, s)
		}
		for _, v := range []float64{r.Success, r.Ticket, r.Satisfaction, r.LatencyMS} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%q gave %+v", s, r)
			}
		}
		if r.Success < 0 || r.Success > 1 || r.Ticket < 0 || r.Ticket > 1 || r.Satisfaction < 1 || r.Satisfaction > 5 || r.LatencyMS < 0 {
			t.Fatalf("%q gave %+v out of range", s, r)
		}
	})
}

func TestParseLoseExposure(t *testing.T) {
	for s, want := range map[string]float64{"treatment=0.25": 0.25, "control=0": 0, "arm-2=1": 1, "b_1=1e-1": 0.1} {
		arm, p, err := ParseLoseExposure(s)
		if err != nil || arm != strings.Split(s, "=")[0] || p != want {
			t.Errorf("%q: %q %v %v", s, arm, p, err)
		}
	}
	for bad, why := range map[string]string{
		"treatment":       "write ARM=P",
		"=0.1":            "not an arm name",
		"Treatment=0.1":   "not an arm name",
		" treatment=0.1":  "not an arm name",
		"treatment= 0.1":  "not a chance",
		"treatment=1.5":   "not a chance",
		"treatment=-0.1":  "not a chance",
		"treatment=NaN":   "not a chance",
		"treatment=Inf":   "not a chance",
		"treatment=":      "not a chance",
		"treatment=0.1=2": "not a chance",
	} {
		if _, _, err := ParseLoseExposure(bad); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want %q", bad, err, why)
		}
	}
}

func FuzzParseLoseExposure(f *testing.F) {
	f.Add("treatment=0.1")
	f.Add("a=1")
	f.Add("x=0x1p-2")
	f.Fuzz(func(t *testing.T, s string) {
		arm, p, err := ParseLoseExposure(s)
		if err != nil {
			return
		}
		if !eval.ExperimentNameRE.MatchString(arm) || !strings.HasPrefix(s, arm+"=") {
			t.Fatalf("arm %q from %q", arm, s)
		}
		if !(p >= 0 && p <= 1) {
			t.Fatalf("%q gave chance %v", s, p)
		}
	})
}

// fakeIntake stands in for assay's A/B endpoints: it gives a user the arm
// its number's parity picks (odd: treatment) and keeps every request.
type fakeIntake struct {
	mu      sync.Mutex
	assigns []map[string]any
	// events are the events requests, in their order.
	events [][]map[string]any
}

func (f *fakeIntake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch path.Base(r.URL.Path) {
	case "assign":
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.assigns = append(f.assigns, req)
		json.NewEncoder(w).Encode(map[string]any{"experiment": "exp", "arm": fakeArm(req["unit"].(string)), "variant": "v", "new": true})
	case "events":
		var evs []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&evs); err != nil || len(evs) == 0 {
			http.Error(w, fmt.Sprintf("%v: %d events", err, len(evs)), http.StatusBadRequest)
			return
		}
		f.events = append(f.events, evs)
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]any{"accepted": len(evs)})
	default:
		http.NotFound(w, r)
	}
}

func fakeArm(unit string) string {
	if n, _ := strconv.Atoi(unit[strings.LastIndex(unit, "-")+1:]); n%2 == 1 {
		return "treatment"
	}
	return "control"
}

func runTraffic(t *testing.T, tr Traffic) (map[string]ArmOracle, *fakeIntake) {
	t.Helper()
	f := &fakeIntake{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	tr.Intake, tr.Experiment = srv.URL, "exp"
	oracle, err := tr.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return oracle, f
}

// TestTrafficLosesExposures: with exposures to lose, users are assigned
// with log false and send their exposure first; a lost one is not sent,
// and the oracle counts its user and events apart from the arm's. The
// users are the same whatever the workers.
func TestTrafficLosesExposures(t *testing.T) {
	tr := Traffic{Users: 300, Late: 0.2, MaxConversations: 3, MaxTurns: 3, Seed: 3, Workers: 4,
		LoseExposures: map[string]float64{"treatment": 0.5, "control": 0}}
	oracle, f := runTraffic(t, tr)
	for _, a := range f.assigns {
		if a["log"] != false {
			t.Fatalf("assigned without log false: %v", a)
		}
	}
	type user struct {
		arm            string
		exposed        bool
		events, turns  int
		convs, outcome int
	}
	users := map[string]*user{}
	for _, req := range f.events {
		for _, e := range req {
			unit := e["unit"].(string)
			u := users[unit]
			if u == nil {
				u = &user{arm: fakeArm(unit)}
				users[unit] = u
				// The exposure comes first, before any turn.
				u.exposed = e["kind"] == "exposure"
				if u.exposed && (e["id"] != "x" || e["arm"] != nil || e["at"] == nil) {
					t.Errorf("exposure %v", e)
				}
				if u.exposed {
					continue
				}
			}
			switch u.events++; e["kind"] {
			case "turn":
				u.turns++
			case "outcome":
				u.outcome++
			default:
				t.Errorf("%s: event %v after its first", unit, e)
			}
		}
	}
	want := map[string]ArmOracle{}
	for _, u := range users {
		o := want[u.arm]
		if u.exposed {
			o.Units++
			o.Turns += u.turns
			o.Conversations += u.outcome
		} else {
			o.Lost++
			o.LostEvents += u.events
			o.LostTurns += u.turns
		}
		want[u.arm] = o
	}
	for _, arm := range []string{"control", "treatment"} {
		got, w := oracle[arm], want[arm]
		if got.Units != w.Units || got.Turns != w.Turns || got.Conversations != w.Conversations || got.Lost != w.Lost || got.LostEvents != w.LostEvents || got.LostTurns != w.LostTurns {
			t.Errorf("%s: oracle %+v, sent %+v", arm, got, w)
		}
		if got.Units+got.Lost != 150 {
			t.Errorf("%s: %d units and %d lost of 150 users", arm, got.Units, got.Lost)
		}
	}
	if l := oracle["treatment"].Lost; l < 45 || l > 105 {
		t.Errorf("%d of 150 treatment users lost their exposure, want about half", l)
	}
	if oracle["control"].Lost != 0 {
		t.Errorf("control lost %d exposures at chance 0", oracle["control"].Lost)
	}
	tr.Workers = 1
	if again, _ := runTraffic(t, tr); !reflect.DeepEqual(again, oracle) {
		t.Errorf("one worker: %+v, four: %+v", again, oracle)
	}
}

// TestTrafficConversationsAndTurns: users hold 1..MaxConversations
// conversations of 1..MaxTurns turns, none with MaxConversations 0 (then
// only a product that logs exposures itself sends events).
func TestTrafficConversationsAndTurns(t *testing.T) {
	oracle, f := runTraffic(t, Traffic{Users: 100, MaxConversations: 2, MaxTurns: 1, Seed: 1, Workers: 3})
	convs := map[string]bool{}
	perUser := map[string]int{}
	for _, req := range f.events {
		for _, e := range req {
			if e["kind"] == "turn" {
				if e["id"] != "t0" {
					t.Errorf("a second turn with at most 1: %v", e)
				}
				if c := e["conversation"].(string); !convs[c] {
					convs[c] = true
					perUser[e["unit"].(string)]++
				}
			}
		}
	}
	for unit, n := range perUser {
		if n < 1 || n > 2 {
			t.Errorf("%s held %d conversations, at most 2", unit, n)
		}
	}
	if got := oracle["control"].Conversations + oracle["treatment"].Conversations; got != len(convs) || len(perUser) != 100 {
		t.Errorf("oracle %d conversations, sent %d by %d users", got, len(convs), len(perUser))
	}

	oracle, f = runTraffic(t, Traffic{Users: 10, MaxTurns: 3})
	if len(f.assigns) != 10 || len(f.events) != 0 || oracle["control"].Units+oracle["treatment"].Units != 10 {
		t.Errorf("no conversations: %d assigned, %d events requests, oracle %+v", len(f.assigns), len(f.events), oracle)
	}
	oracle, f = runTraffic(t, Traffic{Users: 10, MaxTurns: 3, LoseExposures: map[string]float64{"control": 1}})
	if len(f.events) != 5 || oracle["control"].Lost != 5 || oracle["control"].LostEvents != 0 || oracle["treatment"].Units != 5 {
		t.Errorf("no conversations, control's exposures lost: %d events requests, oracle %+v", len(f.events), oracle)
	}
	for _, req := range f.events {
		if len(req) != 1 || req[0]["kind"] != "exposure" || fakeArm(req[0]["unit"].(string)) != "treatment" {
			t.Errorf("events request %v, want one treatment user's exposure", req)
		}
	}
}

func TestTrafficRefusesWhatCannotRun(t *testing.T) {
	for _, c := range []struct {
		tr   Traffic
		want string
	}{
		{Traffic{Users: 1}, "a conversation has at least 1"},
		{Traffic{Users: 1, MaxTurns: 1, MaxConversations: -1}, "set 0 (none) or more"},
		{Traffic{Users: 1, MaxTurns: 1, LoseExposures: map[string]float64{"a": 2}}, "arm a loses exposures with chance 2, outside 0..1"},
		{Traffic{Users: 1, MaxTurns: 1, Late: math.NaN()}, "late share NaN"},
	} {
		f := &fakeIntake{}
		srv := httptest.NewServer(f)
		c.tr.Intake, c.tr.Experiment = srv.URL, "exp"
		_, err := c.tr.Run(t.Context())
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), c.want) || len(f.assigns) != 0 {
			t.Errorf("%+v: %v after %d requests, want %q and none", c.tr, err, len(f.assigns), c.want)
		}
	}
}
