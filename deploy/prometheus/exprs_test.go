package prometheus_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/dns" // dns_sd_configs
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// root is the checkout's root, which holds go.work.
var root = func() string {
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return r
}()

var (
	dashboardsDir = filepath.Join(root, "deploy", "grafana", "dashboards")
	rulesFile     = filepath.Join(root, "deploy", "prometheus", "rules", "assay.rules.yml")
	configFile    = filepath.Join(root, "deploy", "prometheus", "prometheus.yml")
)

// promql parses as Prometheus does.
var promql = parser.NewParser(parser.Options{})

// expr is one PromQL expression and where it was found.
type expr struct {
	where, text string
}

// dashboard is what the tests read of a Grafana dashboard.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource *datasource     `json:"datasource"`
	GridPos    *map[string]int `json:"gridPos"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
}

// query is a query variable's query: a string, or an object holding it.
func (v variable) query() (string, error) {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s, nil
	}
	var o struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &o); err != nil {
		return "", fmt.Errorf("variable %s: query is neither a string nor an object with one: %w", v.Name, err)
	}
	return o.Query, nil
}

func readDashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(files) < 4 {
		t.Fatalf("deploy/grafana/dashboards: %d dashboards (%v), want one per concern", len(files), err)
	}
	out := map[string]dashboard{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		var d dashboard
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatalf("%s: more than one JSON value", f)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

// builtins are Grafana's interval variables, with values they may take.
var builtins = map[string]string{"__rate_interval": "1m", "__interval": "30s", "__range": "6h", "__range_s": "21600", "__interval_ms": "30000"}

// varRef matches a variable's use: $name, ${name}, ${name:format} or
// [[name]].
var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z_][A-Za-z0-9_]*)\]\]`)

// expand returns text with Grafana's variables replaced, once for each
// combination of the values of the variables it uses that take part in
// metric names (custom variables); the others (queried, or data sources)
// take a placeholder. A variable the dashboard does not define is an
// error.
func expand(text string, vars []variable) ([]string, error) {
	values := map[string][]string{}
	for k, v := range builtins {
		values[k] = []string{v}
	}
	for _, v := range vars {
		switch v.Type {
		case "custom":
			q, err := v.query()
			if err != nil {
				return nil, err
			}
			for _, o := range strings.Split(q, ",") {
				values[v.Name] = append(values[v.Name], strings.TrimSpace(o))
			}
		default:
			values[v.Name] = []string{"x"}
		}
	}
	var used []string
	for _, m := range varRef.FindAllStringSubmatch(text, -1) {
		name := m[1] + m[2] + m[3]
		if _, ok := values[name]; !ok {
			return nil, fmt.Errorf("uses $%s, which the dashboard does not define", name)
		}
		if !slices.Contains(used, name) {
			used = append(used, name)
		}
	}
	outs := []map[string]string{{}}
	for _, name := range used {
		var next []map[string]string
		for _, o := range outs {
			for _, v := range values[name] {
				n := maps.Clone(o)
				n[name] = v
				next = append(next, n)
			}
		}
		outs = next
	}
	var texts []string
	for _, o := range outs {
		texts = append(texts, varRef.ReplaceAllStringFunc(text, func(s string) string {
			m := varRef.FindStringSubmatch(s)
			return o[m[1]+m[2]+m[3]]
		}))
	}
	return texts, nil
}

// labelValues matches Grafana's label_values(selector, label) and
// label_values(label) variable queries.
var labelValues = regexp.MustCompile(`^\s*label_values\(\s*(?:(.*),\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

// dashboardExprs returns every PromQL expression of the dashboards:
// panels' targets and query variables' selectors, with their variables
// expanded.
func dashboardExprs(t *testing.T) []expr {
	t.Helper()
	var out []expr
	for file, d := range readDashboards(t) {
		add := func(where, text string) {
			texts, err := expand(text, d.Templating.List)
			if err != nil {
				t.Errorf("%s: %s: %v", file, where, err)
				return
			}
			for _, x := range texts {
				out = append(out, expr{file + ": " + where, x})
			}
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, err := v.query()
			if err != nil {
				t.Errorf("%s: %v", file, err)
				continue
			}
			switch m := labelValues.FindStringSubmatch(q); {
			case m == nil:
				t.Errorf("%s: variable %s: query %q is not label_values(selector, label)", file, v.Name, q)
			case m[1] != "":
				add("variable "+v.Name, m[1])
			}
		}
		for _, p := range allPanels(d.Panels) {
			for _, tg := range p.Targets {
				add(fmt.Sprintf("panel %q, target %s", p.Title, tg.RefID), tg.Expr)
			}
		}
	}
	return out
}

// allPanels lists panels, and those inside collapsed rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

func readRules(t *testing.T) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.LegacyValidation, promql, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return groups
}

func ruleExprs(t *testing.T) []expr {
	t.Helper()
	var out []expr
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			out = append(out, expr{fmt.Sprintf("rule %s%s", r.Alert, r.Record), r.Expr})
		}
	}
	return out
}

// metricNames returns the metric names e selects, and an error for a
// selector whose name is not a plain string (a regular expression over
// names cannot be checked against what assay exports).
func metricNames(e parser.Expr) ([]string, error) {
	var names []string
	var err error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name != "" {
			names = append(names, vs.Name)
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				err = fmt.Errorf("selector %s picks metrics by %s: name them", vs, m)
			}
		}
		return nil
	})
	return names, err
}

// usedMetrics parses every expression of the dashboards and rules and
// returns the metric names they use, each with where; the rules' own
// recorded names are left out, since the rules make them.
func usedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	recorded := map[string]bool{}
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	used := map[string][]string{}
	for _, x := range append(dashboardExprs(t), ruleExprs(t)...) {
		e, err := promql.ParseExpr(x.text)
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", x.where, x.text, err)
			continue
		}
		names, err := metricNames(e)
		if err != nil {
			t.Errorf("%s: %v", x.where, err)
		}
		for _, n := range names {
			if !recorded[n] && !slices.Contains(used[n], x.where) {
				used[n] = append(used[n], x.where)
			}
		}
	}
	return used
}

// TestExpressionsParse: every expression of the dashboards (their
// variables expanded) and of the rules parses, names its metrics plainly,
// and names metrics of assay's (assay_…, the Go and process collectors'
// go_… and process_…, or Prometheus's own up).
func TestExpressionsParse(t *testing.T) {
	used := usedMetrics(t)
	if len(used) < 40 {
		t.Errorf("the dashboards and rules use %d metrics: fewer than read", len(used))
	}
	for name, where := range used {
		if !strings.HasPrefix(name, "assay_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") && name != "up" {
			t.Errorf("%s uses %s, which is not assay's", where[0], name)
		}
	}
}

// TestDashboards: each dashboard is provisioned JSON a Grafana loads: a
// unique uid and title, a data source variable that every panel and
// target uses (no data source uid written in), panels with unique ids,
// titles and places, and a target's query in every panel but a row.
func TestDashboards(t *testing.T) {
	uids, titles := map[string]string{}, map[string]string{}
	for file, d := range readDashboards(t) {
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: uid %q, title %q: a provisioned dashboard needs both", file, d.UID, d.Title)
		}
		if other, ok := uids[d.UID]; ok {
			t.Errorf("%s and %s share uid %q", file, other, d.UID)
		}
		if other, ok := titles[d.Title]; ok {
			t.Errorf("%s and %s share title %q", file, other, d.Title)
		}
		uids[d.UID], titles[d.Title] = file, file
		dsVar := ""
		for _, v := range d.Templating.List {
			if v.Type == "datasource" && string(v.Query) == `"prometheus"` {
				dsVar = v.Name
			}
			if v.Type == "query" && !usesVariable(v.Datasource, dsVar) {
				t.Errorf("%s: variable %s: data source %+v, want the data source variable", file, v.Name, v.Datasource)
			}
		}
		if dsVar == "" {
			t.Errorf("%s: no Prometheus data source variable", file)
			continue
		}
		ids := map[int]bool{}
		for _, p := range allPanels(d.Panels) {
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("%s: panel %q: id %d is missing or not unique", file, p.Title, p.ID)
			}
			ids[p.ID] = true
			if strings.TrimSpace(p.Title) == "" || p.GridPos == nil {
				t.Errorf("%s: panel %d: a panel needs a title and a place (gridPos)", file, p.ID)
			}
			if p.Type == "row" {
				continue
			}
			if !usesVariable(p.Datasource, dsVar) {
				t.Errorf("%s: panel %q: data source %+v, want ${%s}", file, p.Title, p.Datasource, dsVar)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", file, p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.RefID == "" || refs[tg.RefID] || strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: panel %q: target %q: each target needs a unique refId and an expr", file, p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				if tg.Datasource != nil && !usesVariable(tg.Datasource, dsVar) {
					t.Errorf("%s: panel %q: target %s: data source %+v, want ${%s}", file, p.Title, tg.RefID, tg.Datasource, dsVar)
				}
			}
		}
	}
}

// usesVariable reports whether ds is the Prometheus data source chosen by
// the variable name.
func usesVariable(ds *datasource, name string) bool {
	return ds != nil && ds.Type == "prometheus" && (ds.UID == "${"+name+"}" || ds.UID == "$"+name)
}

// TestRules: the rule file loads with Prometheus's loader (expressions
// and templates included), every alert has a severity and says what and
// why, and Debian's promtool (Prometheus 2.42, where installed) takes the
// rules and the example configuration too.
func TestRules(t *testing.T) {
	alerts := 0
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("alert %s: severity %q, want critical, warning or info", r.Alert, s)
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("alert %s has no %s", r.Alert, a)
				}
			}
		}
	}
	if alerts < 5 {
		t.Errorf("%d alerts, want at least lag, endpoint errors, continuous monitors, dead letters and readiness", alerts)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool is not installed (apt-get install prometheus): the rules were checked with the Go loader only")
		return
	}
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"check", "config", configFile}} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestConfig: the example configuration loads, scrapes every stage on the
// port its binary serves metrics on by default (the port its image
// EXPOSEs), and loads the rules.
func TestConfig(t *testing.T) {
	cfg, err := config.LoadFile(configFile, false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "deploy", "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]string{}
	for _, sc := range cfg.ScrapeConfigs {
		data, _ := json.Marshal(sc.ServiceDiscoveryConfigs)
		jobs[sc.JobName] = string(data)
	}
	var want []string
	for bin, addr := range stage.MetricsAddrs {
		_, port, _ := net.SplitHostPort(addr)
		if !regexp.MustCompile(`(?m)^FROM base AS ` + bin + `\n(?:.*\n)*?EXPOSE .*\b` + port + `\b`).Match(dockerfile) {
			t.Errorf("deploy/docker/Dockerfile: image %s does not EXPOSE its metrics port %s", bin, port)
		}
		if bin == "assay" {
			bin = "assay-nats" // assay up --services none on each NATS node
		}
		want = append(want, bin)
		sd, ok := jobs[bin]
		if !ok {
			t.Errorf("prometheus.yml has no job %s", bin)
			continue
		}
		if !strings.Contains(sd, ":"+port+`"`) && !strings.Contains(strings.ToLower(sd), `"port":`+port) {
			t.Errorf("prometheus.yml: job %s scrapes %s, not port %s", bin, sd, port)
		}
	}
	sort.Strings(want)
	if got := slices.Sorted(maps.Keys(jobs)); !slices.Equal(got, want) {
		t.Errorf("prometheus.yml has jobs %v, want %v", got, want)
	}
	if len(cfg.RuleFiles) != 1 {
		t.Errorf("rule files %v", cfg.RuleFiles)
	}
}
