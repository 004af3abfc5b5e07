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
	"time"
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

// Traffic is a live experiment's simulated users: they arrive one after
// another, ask assay's assign endpoint for their arm, hold one to three
// conversations of one to three turns each, and report each
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
	Late   float64
	Seed   uint64
	Client *http.Client
}

// ArmOracle is what an arm's simulated users did, counted as assay's
// report counts it.
type ArmOracle struct {
	Units         int     `json:"units"`
	Conversations int     `json:"conversations"`
	Turns         int     `json:"turns"`
	Successes     int     `json:"successes"`
	Tickets       int     `json:"tickets"`
	Rated         int     `json:"rated"`
	RatingSum     float64 `json:"rating_sum"`
	LatencySum    float64 `json:"latency_sum"`
}

// Rates are the oracle's success and ticket rates (per conversation),
// satisfaction (per rated conversation) and latency (per turn).
func (o ArmOracle) Rates() (success, ticket, satisfaction, latency float64) {
	c := float64(o.Conversations)
	return float64(o.Successes) / c, float64(o.Tickets) / c, o.RatingSum / float64(o.Rated), o.LatencySum / float64(o.Turns)
}

// Run sends the traffic and returns, by arm, what the users did. Requests
// past the experiment's rate are sent again after the time the intake
// asks for; any other refusal ends the run with its reply.
func (t *Traffic) Run(ctx context.Context) (map[string]ArmOracle, error) {
	c := t.Client
	if c == nil {
		c = &http.Client{Timeout: time.Minute}
	}
	rng := rand.New(rand.NewPCG(t.Seed, 0x7aff1c))
	base := strings.TrimRight(t.Intake, "/") + "/v1/ab/" + t.Experiment + "/"
	oracle := map[string]ArmOracle{}
	var late []map[string]any
	for u := range t.Users {
		unit := fmt.Sprintf("sim-user-%d-%d", t.Seed, u)
		var reply struct {
			Arm      string `json:"arm"`
			Recorded string `json:"recorded"`
		}
		if err := t.post(ctx, c, base+"assign", map[string]string{"unit": unit}, &reply); err != nil {
			return oracle, err
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
		o := oracle[counted]
		o.Units++
		var events []map[string]any
		for k := range 1 + rng.IntN(3) {
			conv := fmt.Sprintf("%s-c%d", unit, k)
			o.Conversations++
			for n := range 1 + rng.IntN(3) {
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
		oracle[counted] = o
		if err := t.post(ctx, c, base+"events", events, nil); err != nil {
			return oracle, err
		}
	}
	for batch := range slices.Chunk(late, 500) {
		if err := t.post(ctx, c, base+"events", batch, nil); err != nil {
			return oracle, err
		}
	}
	return oracle, nil
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
