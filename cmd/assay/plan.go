package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/assay-eval/assay/services/report"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
	"github.com/spf13/cobra"
)

func newPlanCmd() *cobra.Command {
	var file, run string
	var effect float64
	var asJSON bool
	var conn natsFlags
	cmd := &cobra.Command{
		Use:   "plan (--report FILE | --run R)",
		Short: "How many samples a run needs to detect an effect, from a pilot run's report",
		Long: `Reads a pilot run's report (a report.json file with --report, - for stdin,
or a run on NATS with --run) and prints, for every delta (suite, metric,
variant), rate delta and win rate, the number of samples a run needs to
detect an effect with 80% power at a two-sided 5% level, and the minimum
detectable effect (MDE) at the pilot's size.

The effects are --effect when given; otherwise the pilot's observed effect
(|delta|, |win rate − ½|) and, where the gate sets a threshold, the distance
from the observed value to it (|delta_min − delta|, |win_rate_min − win
rate| on the gate's judge, |refusal_rate_delta_max − refusal delta|): what
deciding the check must tell apart.

Sample sizes come from the pilot's spread: the SD of the paired differences
(paired t, noncentral t power), the discordant share ψ = (b + c)/n (McNemar,
Connor 1987), the SD of the per-pair scores 1, ½, 0 (win rate). A clustered
comparison's n is scaled by its design effect, the square of its MDE over
the MDE the same pairs would have unclustered.

Exit status: 0, or 2 for a bad flag or a file that is not a report, 3 when
NATS is unreachable or the run does not exist.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("effect") && !(effect > 0 && effect < math.Inf(1)) {
				return usagef("--effect %v: give a positive number, such as 0.05 for five points", effect)
			}
			var rep *document.Report
			switch {
			case (file == "") == (run == ""):
				return usagef("give the pilot run's report with --report FILE or --run R (one of the two)")
			case file != "":
				var err error
				if rep, err = readReportFile(cmd.InOrStdin(), file); err != nil {
					return usage(err)
				}
			default:
				b, closeConn, err := conn.dial(cmd.Context())
				if err != nil {
					return err
				}
				defer closeConn()
				if rep, _, err = report.Build(cmd.Context(), b, run, nil); err != nil {
					return err
				}
			}
			p := newPlan(rep, effect)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			}
			return p.write(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&file, "report", "", "the pilot run's report.json (- reads stdin)")
	cmd.Flags().StringVar(&run, "run", "", "the pilot run, read from NATS")
	cmd.Flags().Float64Var(&effect, "effect", 0, "the effect to detect, on the comparison's scale (default: the observed effect and the gate's margin)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the plan as JSON")
	conn.register(cmd)
	return cmd
}

// readReportFile reads a report.json from path ("-": in).
func readReportFile(in io.Reader, path string) (*document.Report, error) {
	r := in
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--report: %w", err)
		}
		defer f.Close()
		r = f
	}
	rep, err := decodeReport(r)
	if err != nil {
		return nil, fmt.Errorf("--report %s: %w", path, err)
	}
	return rep, nil
}

// decodeReport reads a report.json: one JSON object naming its run.
func decodeReport(r io.Reader) (*document.Report, error) {
	dec := json.NewDecoder(r)
	var rep document.Report
	if err := dec.Decode(&rep); errors.Is(err, io.EOF) {
		return nil, errors.New("not a report.json: it is empty")
	} else if err != nil {
		return nil, fmt.Errorf("not a report.json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not a report.json: more than one JSON value")
	}
	if rep.Run == "" {
		return nil, errors.New("not a report.json: it names no run")
	}
	return &rep, nil
}

// Plan is what a run needs to detect effects, from a pilot run's report.
type Plan struct {
	Run   string    `json:"run"`
	Power float64   `json:"power"`
	Alpha float64   `json:"alpha"`
	Rows  []PlanRow `json:"rows"`
}

// PlanRow is one comparison of the pilot and the sizes that would detect
// effects on it.
type PlanRow struct {
	// Kind is delta, rate_delta or win_rate.
	Kind string `json:"kind"`
	// Suite is a delta's suite; Judge a win rate's judge.
	Suite string `json:"suite,omitempty"`
	Judge string `json:"judge,omitempty"`
	// Metric is a delta's metric or a rate delta's rate.
	Metric  string `json:"metric,omitempty"`
	Variant string `json:"variant"`
	Test    string `json:"test"`
	// N is the pilot's pairs; Clusters its clusters when clustered.
	N        int `json:"n"`
	Clusters int `json:"clusters,omitempty"`
	// Observed is the pilot's effect: the delta, or the win rate − ½.
	Observed float64 `json:"observed"`
	// SD is the spread a paired t or win rate plans with; Discordance the
	// discordant share ψ McNemar's test plans with.
	SD          *float64 `json:"sd,omitempty"`
	Discordance *float64 `json:"discordance,omitempty"`
	// DesignEffect scales a clustered comparison's sizes.
	DesignEffect *float64 `json:"design_effect,omitempty"`
	// MDE is the smallest effect the pilot's n detects.
	MDE   *float64   `json:"mde"`
	Needs []PlanNeed `json:"needs"`
	// Note says why there is nothing to plan with.
	Note string `json:"note,omitempty"`
}

// PlanNeed is the sample size that detects one effect.
type PlanNeed struct {
	Effect float64 `json:"effect"`
	// Source is observed, gate or --effect.
	Source string `json:"source"`
	// N is the number of pairs needed; null when no size detects the
	// effect (McNemar: an effect above the discordant share).
	N *int `json:"n"`
}

// newPlan plans every delta, rate delta and win rate of rep for effect
// (0: the observed effects and the gate's margins).
func newPlan(rep *document.Report, effect float64) Plan {
	p := Plan{Run: rep.Run, Power: 0.8, Alpha: 0.05, Rows: []PlanRow{}}
	for _, d := range rep.Deltas {
		r := PlanRow{Kind: "delta", Suite: d.Suite, Metric: d.Metric, Variant: d.Variant}
		gate, ok := gateThreshold(rep, d.Suite+"/"+d.Metric+" delta_min", d.Variant, "")
		if !ok {
			// A metric where lower is better is bounded from above.
			gate, ok = gateThreshold(rep, d.Suite+"/"+d.Metric+" delta_max", d.Variant, "")
		}
		p.Rows = append(p.Rows, planDelta(r, d.DeltaEstimate, effect, gate-d.Delta, ok))
	}
	for _, d := range rep.RateDeltas {
		r := PlanRow{Kind: "rate_delta", Metric: d.Rate, Variant: d.Variant}
		var gate float64
		var ok bool
		if d.Rate == "refusal" {
			gate, ok = gateThreshold(rep, "refusal_rate_delta_max", d.Variant, "")
		}
		p.Rows = append(p.Rows, planDelta(r, d.DeltaEstimate, effect, gate-d.Delta, ok))
	}
	for _, w := range rep.Pairwise {
		gate, ok := gateThreshold(rep, "win_rate_min", w.Variant, w.Judge)
		p.Rows = append(p.Rows, planWinRate(w, effect, gate, ok))
	}
	return p
}

// gateThreshold is the threshold of the gate's check name on variant, for
// judge when the check reads one (a report written before checks named
// their judge applies its win_rate_min to the first judge's rows).
func gateThreshold(rep *document.Report, name, variant, judge string) (float64, bool) {
	for _, c := range rep.Gate.Checks {
		if c.Name != name || c.Variant != variant {
			continue
		}
		if judge != "" && c.Judge != judge && (c.Judge != "" || !firstJudge(rep, judge)) {
			continue
		}
		return c.Threshold, true
	}
	return 0, false
}

// firstJudge reports whether judge is the report's first: the gate's
// unless the spec named another.
func firstJudge(rep *document.Report, judge string) bool {
	return len(rep.Pairwise) > 0 && rep.Pairwise[0].Judge == judge
}

// effects are the effects to plan for: --effect, or the observed one and
// the distance from the observed value to the gate's threshold, which is
// what must be told apart to decide the check (each when not 0).
func effects(flag, observed, gate float64, gated bool) []PlanNeed {
	if flag > 0 {
		return []PlanNeed{{Effect: flag, Source: "--effect"}}
	}
	var out []PlanNeed
	if e := math.Abs(observed); e > 0 && finite(e) {
		out = append(out, PlanNeed{Effect: e, Source: "observed"})
	}
	if e := math.Abs(gate); gated && e > 0 && finite(e) {
		out = append(out, PlanNeed{Effect: e, Source: "gate"})
	}
	return out
}

// planDelta plans a paired comparison from its SD (paired t) or its
// discordant pairs (McNemar).
func planDelta(r PlanRow, d document.DeltaEstimate, effect, gate float64, gated bool) PlanRow {
	r.Test, r.N, r.Clusters, r.Observed = d.Test, d.N, d.Clusters, d.Delta
	r.Needs = effects(effect, d.Delta, gate, gated)
	var n func(effect float64) int
	var mde float64
	if d.N == 0 {
		r.Needs, r.Note = []PlanNeed{}, "every pair was left out (a generation failed): nothing to plan with"
		return r
	}
	switch d.Test {
	case "mcnemar":
		if d.Discordant == nil || d.N <= 0 {
			r.Note = "the report gives no discordant pairs to plan with"
			break
		}
		psi := float64(d.Discordant[0]+d.Discordant[1]) / float64(d.N)
		if !(psi > 0 && psi <= 1) {
			r.Note = "no discordant pair: the pilot shows no difference to plan with"
			break
		}
		r.Discordance = &psi
		n = func(e float64) int { return stats.NMcNemar(psi, e) }
		mde = stats.MDEMcNemar(psi, d.N)
	default:
		if d.SD == nil {
			r.Note = "the report gives no SD of the differences to plan with"
			break
		}
		sd := *d.SD
		if !(sd > 0 && finite(sd)) {
			r.Note = "the pilot's differences are all the same: no spread to plan with"
			break
		}
		r.SD = &sd
		n = func(e float64) int { return stats.NPairedT(sd, e) }
		mde = stats.MDEPairedT(sd, d.N)
	}
	return r.fill(n, mde, d.MDE)
}

// planWinRate plans a win rate's t-test of the per-pair scores (1 a win,
// ½ a tie, 0 a loss) against ½, and, when gated, against the gate's
// win_rate_min.
func planWinRate(w document.Pairwise, effect, minRate float64, gated bool) PlanRow {
	r := PlanRow{Kind: "win_rate", Judge: w.Judge, Variant: w.Variant, Test: "paired_t", N: w.N, Clusters: w.Clusters}
	n := w.Wins + w.Losses + w.Ties
	if n < 2 || w.Wins < 0 || w.Losses < 0 || w.Ties < 0 {
		r.Needs, r.Note = []PlanNeed{}, "fewer than 2 judged pairs: nothing to plan with"
		return r
	}
	wr := stats.WinRateOf(w.Wins, w.Losses, w.Ties)
	r.Observed = wr.Rate - 0.5
	r.Needs = effects(effect, r.Observed, minRate-wr.Rate, gated)
	sd := wr.SD
	if !(sd > 1e-12 && finite(sd)) {
		r.Note = "every pair has the same verdict: no spread to plan with"
		return r.fill(nil, math.NaN(), w.MDE)
	}
	r.SD = &sd
	return r.fill(func(e float64) int { return stats.NPairedT(sd, e) }, stats.MDEPairedT(sd, n), w.MDE)
}

// fill sets the row's MDE and sizes from n (nil: none), the MDE the
// pilot's pairs would have unclustered, and the report's own MDE (which
// is clustered when the comparison is): their ratio squared is the design
// effect (Kish 1965) that scales a clustered comparison's sizes.
func (r PlanRow) fill(n func(effect float64) int, mde float64, reported *float64) PlanRow {
	deff := 1.0
	switch {
	case reported != nil && finite(*reported):
		r.MDE = reported
		if r.Clusters > 0 && mde > 0 && finite(mde) {
			deff = max(1, sq(*reported/mde))
			r.DesignEffect = &deff
		}
	case mde > 0 && finite(mde):
		r.MDE = &mde
	}
	if n == nil {
		return r
	}
	for i, need := range r.Needs {
		k := n(need.Effect)
		if k <= 0 {
			continue
		}
		if scaled := math.Ceil(float64(k) * deff); scaled < math.MaxInt64/2 {
			k = int(scaled)
		} else {
			k = math.MaxInt64 / 2
		}
		r.Needs[i].N = &k
	}
	return r
}

// write prints the plan as a table, one line per effect.
func (p Plan) write(w io.Writer) error {
	if len(p.Rows) == 0 {
		_, err := fmt.Fprintf(w, "run %s: no delta or win rate to plan with\n", p.Run)
		return err
	}
	fmt.Fprintf(w, "run %s: pairs needed to detect each effect with 80%% power at a two-sided 5%% level\n\n", p.Run)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSUITE/JUDGE\tMETRIC\tVARIANT\tTEST\tN\tOBSERVED\tSPREAD\tMDE\tEFFECT\tFROM\tNEEDED")
	for _, r := range p.Rows {
		spread := "-"
		switch {
		case r.SD != nil:
			spread = "sd " + num(*r.SD)
		case r.Discordance != nil:
			spread = "ψ " + num(*r.Discordance)
		}
		if r.DesignEffect != nil {
			spread += fmt.Sprintf(" (deff %.2f, %d clusters)", *r.DesignEffect, r.Clusters)
		}
		head := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s", r.Kind, dash(r.Suite+r.Judge), dash(r.Metric), r.Variant, r.Test, r.N,
			signed(r.Observed), spread, optNum(r.MDE))
		if len(r.Needs) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t%s\n", head, dash(r.Note))
			continue
		}
		for _, need := range r.Needs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", head, num(need.Effect), need.Source, needed(need, r))
		}
	}
	return tw.Flush()
}

// needed is a need's n as the table shows it.
func needed(need PlanNeed, r PlanRow) string {
	switch {
	case need.N != nil:
		return strconv.Itoa(*need.N)
	case r.Note != "":
		return r.Note
	case r.Discordance != nil:
		return "none: above the discordant share ψ"
	}
	return "-"
}

func num(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

func signed(x float64) string {
	s := num(x)
	if x > 0 {
		s = "+" + s
	}
	return s
}

func optNum(x *float64) string {
	if x == nil {
		return "-"
	}
	return num(*x)
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func sq(x float64) float64 { return x * x }

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
