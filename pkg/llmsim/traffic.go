package llmsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// ArmRates are how the simulated users of one arm behave: the chance that
// a conversation is resolved and that it opens a ticket, the mean
// satisfaction rating (1–5) of the rated ones, and a served turn's latency.
type ArmRates struct {
	Success      float64 `json:"success"`
	Ticket       float64 `json:"ticket"`
	Satisfaction float64 `json:"satisfaction"`
	LatencyMS    float64 `json:"latency_ms"`
}

// ParseArmRates reads an arm's behaviour written
// "name:success=0.3,ticket=0.05,satisfaction=4,latency_ms=900"; fields left
// out take the defaults (success 0.3, ticket 0.05, satisfaction 4,
// latency_ms 800).
func ParseArmRates(s string) (string, ArmRates, error) {
	r := ArmRates{Success: 0.3, Ticket: 0.05, Satisfaction: 4, LatencyMS: 800}
	name, fields, _ := strings.Cut(s, ":")
	if name == "" {
		return "", r, fmt.Errorf("arm %q: write name:success=0.3,ticket=0.05", s)
	}
	for _, f := range strings.Split(fields, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return "", r, fmt.Errorf("arm %s: %q is not field=number", name, f)
		}
		switch k = strings.TrimSpace(k); {
		case (k == "success" || k == "ticket") && (x < 0 || x > 1):
			return "", r, fmt.Errorf("arm %s: %s %v is outside 0..1", name, k, x)
		case k == "success":
			r.Success = x
		case k == "ticket":
			r.Ticket = x
		case k == "satisfaction" && x >= 1 && x <= 5:
			r.Satisfaction = x
		case k == "latency_ms" && x >= 0:
			r.LatencyMS = x
		default:
			return "", r, fmt.Errorf("arm %s: %q: the fields are success and ticket (0..1), satisfaction (1..5) and latency_ms", name, f)
		}
	}
	return name, r, nil
}

// ParseLoseExposure reads a planted exposure-logging bug written
// "arm=P": the users served arm have their exposure lost with chance P
// (0..1).
func ParseLoseExposure(s string) (string, float64, error) {
	arm, v, ok := strings.Cut(s, "=")
	if !ok {
		return "", 0, fmt.Errorf("lose exposures %q: write ARM=P, P the chance (0..1) that a user of the arm has its exposure lost", s)
	}
	if !eval.ExperimentNameRE.MatchString(arm) {
		return "", 0, fmt.Errorf("lose exposures %q: %q is not an arm name (lower-case letters, digits, - or _)", s, arm)
	}
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || !(p >= 0 && p <= 1) {
		return "", 0, fmt.Errorf("lose exposures %q: %q is not a chance from 0 to 1", s, v)
	}
	return arm, p, nil
}

// Traffic is a live experiment's simulated users: they arrive one after
// another (or Workers at a time), ask assay's assign endpoint for their
// arm, hold conversations of a few turns each, and report each
// conversation's outcome — some of them late, after later users' events.
type Traffic struct {
	// Intake is the base URL of assay's HTTP intake (http://host:port);
	// Token, when set, is sent as the experiment's bearer token.
	Intake     string
	Experiment string
	Token      string
	Users      int
	// Arms are the users' behaviour by the arm assay gives them; an arm
	// not listed behaves as the defaults of [ParseArmRates].
	Arms map[string]ArmRates
	// Late is the share of outcomes held back and sent after the others.
	Late float64
	// MaxConversations is the most conversations a user holds: each holds
	// 1 to MaxConversations, or none when it is 0 (users are only
	// assigned, and exposed).
	MaxConversations int
	// MaxTurns is the most turns of a conversation (at least 1): each has
	// 1 to MaxTurns.
	MaxTurns int
	// LoseExposures plants a product's exposure-logging bug, the classic
	// cause of a sample-ratio mismatch. When it lists any arm the product
	// assigns with "log": false and sends each user's exposure itself, as
	// the first event of the user's events; a user served a listed arm
	// has its exposure lost (not sent) with the arm's chance. The report
	// never counts such a user: its events wait for an exposure that
	// never comes (see [ArmOracle.Lost]).
	LoseExposures map[string]float64
	// Workers send users at once (0: one), each user's requests in order.
	// A user's draws come from a generator of its own, seeded by Seed and
	// its index, so the users do the same whatever Workers is.
	Workers int
	Seed    uint64
	Client  *http.Client
}

// ArmOracle is what an arm's simulated users did, counted as assay's
// report counts it: the users whose exposure was lost only in Lost and
// the Lost… fields.
type ArmOracle struct {
	Units         int     `json:"units"`
	Conversations int     `json:"conversations"`
	Turns         int     `json:"turns"`
	Successes     int     `json:"successes"`
	Tickets       int     `json:"tickets"`
	Rated         int     `json:"rated"`
	RatingSum     float64 `json:"rating_sum"`
	LatencySum    float64 `json:"latency_sum"`
	// Lost are the users whose exposure was lost ([Traffic.LoseExposures]),
	// in the arm the report would count them in; LostEvents are their
	// turns and outcomes, held by the report as pending and, past its
	// horizon, counted as orphans (with a score for each of the
	// LostTurns, once the score stage has read it).
	Lost       int `json:"lost"`
	LostEvents int `json:"lost_events"`
	LostTurns  int `json:"lost_turns"`
}

// Rates are the oracle's success and ticket rates (per conversation),
// satisfaction (per rated conversation) and latency (per turn).
func (o ArmOracle) Rates() (success, ticket, satisfaction, latency float64) {
	c := float64(o.Conversations)
	return float64(o.Successes) / c, float64(o.Tickets) / c, o.RatingSum / float64(o.Rated), o.LatencySum / float64(o.Turns)
}

// Plus is what the users of o and p did together.
func (o ArmOracle) Plus(p ArmOracle) ArmOracle {
	return ArmOracle{Units: o.Units + p.Units, Conversations: o.Conversations + p.Conversations, Turns: o.Turns + p.Turns,
		Successes: o.Successes + p.Successes, Tickets: o.Tickets + p.Tickets, Rated: o.Rated + p.Rated,
		RatingSum: o.RatingSum + p.RatingSum, LatencySum: o.LatencySum + p.LatencySum,
		Lost: o.Lost + p.Lost, LostEvents: o.LostEvents + p.LostEvents, LostTurns: o.LostTurns + p.LostTurns}
}

// check says which of t's settings cannot be run.
func (t *Traffic) check() error {
	switch {
	case t.Users < 0:
		return fmt.Errorf("traffic: %d users: send 0 or more", t.Users)
	case t.MaxConversations < 0:
		return fmt.Errorf("traffic: at most %d conversations a user: set 0 (none) or more", t.MaxConversations)
	case t.MaxTurns < 1:
		return fmt.Errorf("traffic: at most %d turns a conversation: a conversation has at least 1", t.MaxTurns)
	case !(t.Late >= 0 && t.Late <= 1):
		return fmt.Errorf("traffic: late share %v is outside 0..1", t.Late)
	}
	for arm, p := range t.LoseExposures {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("traffic: arm %s loses exposures with chance %v, outside 0..1", arm, p)
		}
	}
	return nil
}

// Run sends the traffic and returns, by arm, what the users did. Requests
// past the experiment's rate are sent again after the time the intake
// asks for; any other refusal ends the run with its reply.
func (t *Traffic) Run(ctx context.Context) (map[string]ArmOracle, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	c := t.Client
	if c == nil {
		c = &http.Client{Timeout: time.Minute}
	}
	base := strings.TrimRight(t.Intake, "/") + "/v1/ab/" + t.Experiment + "/"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu     sync.Mutex
		oracle = map[string]ArmOracle{}
		failed error
		next   atomic.Int64
		wg     sync.WaitGroup
	)
	// Each user's late outcomes in its place: sent in the users' order,
	// whichever worker sent the user.
	late := make([][]map[string]any, t.Users)
	for range min(max(t.Workers, 1), t.Users) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := int(next.Add(1) - 1); u < t.Users && ctx.Err() == nil; u = int(next.Add(1) - 1) {
				arm, o, held, err := t.user(ctx, c, base, u)
				mu.Lock()
				if err != nil {
					if failed == nil {
						failed = err
						cancel()
					}
					mu.Unlock()
					return
				}
				oracle[arm] = oracle[arm].Plus(o)
				mu.Unlock()
				late[u] = held
			}
		}()
	}
	wg.Wait()
	if failed == nil {
		// Canceled from outside: not every user was sent.
		failed = ctx.Err()
	}
	if failed != nil {
		return oracle, failed
	}
	for batch := range slices.Chunk(slices.Concat(late...), 500) {
		if err := t.post(ctx, c, base+"events", batch, nil); err != nil {
			return oracle, err
		}
	}
	return oracle, nil
}

// user sends user u: its assignment, then its events but the outcomes it
// holds back to send late, which it returns, with the arm the report
// counts it in and what it did.
func (t *Traffic) user(ctx context.Context, c *http.Client, base string, u int) (string, ArmOracle, []map[string]any, error) {
	rng := rand.New(rand.NewPCG(t.Seed, 0x7aff1c+uint64(u)))
	unit := fmt.Sprintf("sim-user-%d-%d", t.Seed, u)
	// A product that logs exposures itself assigns without logging.
	manual := len(t.LoseExposures) > 0
	assign := map[string]any{"unit": unit}
	if manual {
		assign["log"] = false
	}
	var reply struct {
		Arm      string `json:"arm"`
		Recorded string `json:"recorded"`
	}
	if err := t.post(ctx, c, base+"assign", assign, &reply); err != nil {
		return "", ArmOracle{}, nil, err
	}
	// The user is served reply.Arm and behaves so; the report counts
	// it in the arm of its first exposure (Recorded, when its arm was
	// stopped since).
	rates, ok := t.Arms[reply.Arm]
	if !ok {
		_, rates, _ = ParseArmRates(reply.Arm + ":")
	}
	counted := reply.Arm
	if reply.Recorded != "" {
		counted = reply.Recorded
	}
	o := ArmOracle{Units: 1}
	var events, late []map[string]any
	if manual {
		// Sent when the user sees its arm: before its turns.
		events = append(events, map[string]any{"id": "x", "kind": "exposure", "unit": unit, "at": time.Now().UTC()})
	}
	conversations := 0
	if t.MaxConversations > 0 {
		conversations = 1 + rng.IntN(t.MaxConversations)
	}
	for k := range conversations {
		conv := fmt.Sprintf("%s-c%d", unit, k)
		o.Conversations++
		for n := range 1 + rng.IntN(t.MaxTurns) {
			latency := math.Round(rates.LatencyMS * (0.5 + rng.Float64()))
			o.Turns++
			o.LatencySum += latency
			events = append(events, map[string]any{"id": fmt.Sprintf("t%d", n), "kind": "turn", "unit": unit, "conversation": conv,
				"answer": "simulated answer", "latency_ms": latency, "at": time.Now().UTC()})
		}
		success, ticket := rng.Float64() < rates.Success, rng.Float64() < rates.Ticket
		// Stamped when it happens: one sent late arrives after events
		// of later times, and must still join its conversation.
		outcome := map[string]any{"id": "o", "kind": "outcome", "unit": unit, "conversation": conv, "success": success, "ticket": ticket,
			"at": time.Now().UTC()}
		if success {
			o.Successes++
		}
		if ticket {
			o.Tickets++
		}
		if rng.Float64() < 0.5 {
			// A rating around the arm's mean, on the 1–5 scale.
			r := math.Max(1, math.Min(5, math.Round(rates.Satisfaction+rng.NormFloat64())))
			outcome["satisfaction"] = r
			o.Rated++
			o.RatingSum += r
		}
		if rng.Float64() < t.Late {
			late = append(late, outcome)
		} else {
			events = append(events, outcome)
		}
	}
	// Drawn last, so that a user behaves the same whether or not its
	// exposure may be lost. The bug is in the product's code of the arm
	// it served.
	if p := t.LoseExposures[reply.Arm]; p > 0 && rng.Float64() < p {
		events = events[1:]
		o = ArmOracle{Lost: 1, LostEvents: o.Turns + o.Conversations, LostTurns: o.Turns}
	}
	if len(events) > 0 {
		if err := t.post(ctx, c, base+"events", events, nil); err != nil {
			return "", ArmOracle{}, nil, err
		}
	}
	return counted, o, late, nil
}

// post sends body as JSON, again after a 429's or a 503's Retry-After,
// and decodes the reply into out. Any other status but 200 and 202 — a
// 207 included, some events refused — ends the run: the oracle would
// count what the report never got.
func (t *Traffic) post(ctx context.Context, c *http.Client, url string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if t.Token != "" {
			req.Header.Set("Authorization", "Bearer "+t.Token)
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusServiceUnavailable:
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
			}
			continue
		case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted:
			return fmt.Errorf("%s: %s: %s", url, resp.Status, bytes.TrimSpace(reply))
		}
		if out != nil {
			if err := json.Unmarshal(reply, out); err != nil {
				return fmt.Errorf("%s: the reply does not decode: %w", url, err)
			}
		}
		return nil
	}
}
