package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// checker collects the problems of a decoded spec, each at the line of
// its field in doc.
type checker struct {
	file string
	doc  *yaml.Node
	errs SpecErrors
	// broken are the fields decoding found a problem with (see
	// [specDecoder]): what they hold is not what the spec says, so
	// checks of them, of what is in them and of what holds them are
	// left out.
	broken []string
	// elements are the document's indices of the elements of lists that
	// had empty entries (see [specDecoder]).
	elements map[string][]int
}

// inDoc turns a path into a decoded spec into one into the document:
// where a list had empty entries, an element's index in the document is
// not its index in the list.
func (c *checker) inDoc(path []any) []any {
	if len(c.elements) == 0 {
		return path
	}
	out := make([]any, 0, len(path))
	for _, p := range path {
		if k, ok := p.(int); ok {
			if idx, ok := c.elements[fieldName(out...)]; ok && k >= 0 && k < len(idx) {
				p = idx[k]
			}
		}
		out = append(out, p)
	}
	return out
}

// quiet reports whether a problem at field would only follow from one
// decoding found: the field, a field in it or one holding it did not
// decode.
func (c *checker) quiet(field string) bool {
	for _, b := range c.broken {
		if within(field, b) || within(b, field) {
			return true
		}
	}
	return false
}

// within reports whether field is outer or a field in it.
func within(field, outer string) bool {
	rest, ok := strings.CutPrefix(field, outer)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

// namesUnsure reports whether the names of list's elements (variants,
// suites, judges) may not be those the spec wrote, so that a reference to
// one of them cannot be checked: the list, an element or an element's
// name did not decode.
func (c *checker) namesUnsure(list string) bool {
	for _, b := range c.broken {
		rest, ok := strings.CutPrefix(b, list)
		if !ok {
			continue
		}
		if rest == "" {
			return true
		}
		if i := strings.IndexByte(rest, ']'); rest[0] == '[' && i > 0 && (rest[i+1:] == "" || rest[i+1:] == ".name") {
			return true
		}
	}
	return false
}

// at finds the line of a field path such as "variants", 1, "name"; it falls
// back to the nearest enclosing node that exists.
func (c *checker) at(path ...any) int {
	n := c.doc
	line := n.Line
	for _, p := range path {
		if n = unalias(n); n == nil {
			return line
		}
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return line
			}
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return line
			}
			n = n.Content[k]
			line = n.Line
		}
	}
	return line
}

func fieldName(path ...any) string {
	var b strings.Builder
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		}
	}
	return b.String()
}

func (c *checker) fail(msg string, path ...any) {
	path = c.inDoc(path)
	field := fieldName(path...)
	if c.quiet(field) {
		return
	}
	c.errs = append(c.errs, &SpecError{File: c.file, Line: c.at(path...), Field: field, Msg: msg})
}

func (c *checker) name(v string, path ...any) {
	switch {
	case v == "":
		c.fail("is required", path...)
	case !ValidName(v):
		c.fail(fmt.Sprintf("%q is not a valid name: use 1-64 letters, digits, '-' or '_'", v), path...)
	}
}

func (c *checker) endpoint(u string, path ...any) {
	if err := CheckEndpointURL(u); err != nil {
		c.fail(err.Error(), path...)
	}
}

// keySource checks the API key fields of the variant or judge at path.
func (c *checker) keySource(env, secret string, path ...any) {
	if field, err := CheckKeySource(env, secret); err != nil {
		c.fail(err.Error(), append(slices.Clone(path), field)...)
	}
}

// The range checks below are written !(in range) so that NaN, which
// compares false with everything, fails them: a NaN would otherwise pass,
// and then break the JSON of every request and of the spec on the bus.

func (c *checker) decoding(d Decoding, path ...any) {
	at := func(field string) []any { return append(slices.Clip(path), field) }
	if !(d.Temperature >= 0 && d.Temperature <= 2) {
		c.fail(fmt.Sprintf("temperature %v is outside 0..2", d.Temperature), at("temperature")...)
	}
	if !(d.TopP > 0 && d.TopP <= 1) {
		c.fail(fmt.Sprintf("top_p %v is outside (0, 1]", d.TopP), at("top_p")...)
	}
	if d.MaxTokens < 1 {
		c.fail("max_tokens must be at least 1", at("max_tokens")...)
	}
	if d.TopK != nil && *d.TopK < -1 {
		c.fail(fmt.Sprintf("top_k %d is below -1: use a positive number, or -1 for no limit", *d.TopK), at("top_k")...)
	}
	if d.MinP != nil && !(*d.MinP >= 0 && *d.MinP <= 1) {
		c.fail(fmt.Sprintf("min_p %v is outside 0..1", *d.MinP), at("min_p")...)
	}
	if p := d.RepetitionPenalty; p != nil && !(*p > 0 && !math.IsInf(*p, 0)) {
		c.fail(fmt.Sprintf("repetition_penalty %v must be positive (1 means none)", *p), at("repetition_penalty")...)
	}
	if p := d.PresencePenalty; p != nil && !(*p >= -2 && *p <= 2) {
		c.fail(fmt.Sprintf("presence_penalty %v is outside -2..2", *p), at("presence_penalty")...)
	}
	if p := d.FrequencyPenalty; p != nil && !(*p >= -2 && *p <= 2) {
		c.fail(fmt.Sprintf("frequency_penalty %v is outside -2..2", *p), at("frequency_penalty")...)
	}
}

// judge checks one judge, at path in the document.
func (c *checker) judge(j Judge, path ...any) {
	at := func(field ...any) []any { return append(slices.Clone(path), field...) }
	c.name(j.Name, at("name")...)
	c.endpoint(j.BaseURL, at("base_url")...)
	c.keySource(j.APIKeyEnv, j.APIKeySecret, path...)
	if j.Model == "" {
		c.fail("is required: the judge model's name", at("model")...)
	}
	if !slices.Contains(judgeModes, j.Mode) {
		c.fail(fmt.Sprintf("mode %q is not supported: %s", j.Mode, nearOrElse(j.Mode, judgeModes, "use pairwise or single")), at("mode")...)
	}
	for k, d := range j.Dimensions {
		if !ValidName(d) {
			c.fail(fmt.Sprintf("%q is not a valid dimension name", d), at("dimensions", k)...)
		}
	}
	c.decoding(j.Decoding, at("decoding")...)
	if j.Single() && j.Repeat > 0 {
		c.fail("is for a pairwise judge: a single-mode judge's stability is not measured yet; drop repeat or use mode: pairwise", at("repeat")...)
	} else if j.Repeat < 0 || j.Repeat > MaxRepeat {
		c.fail(fmt.Sprintf("%d is outside 0..%d: how many more times to ask about a pair", j.Repeat, MaxRepeat), at("repeat")...)
	}
	if !(j.RepeatShare >= 0 && j.RepeatShare <= 1) {
		c.fail(fmt.Sprintf("%v is outside 0..1: the share of pairs asked again (default %v)", j.RepeatShare, DefaultRepeatShare), at("repeat_share")...)
	} else if j.RepeatShare > 0 && j.Repeat == 0 {
		c.fail("needs repeat: how many more times to ask about a pair", at("repeat_share")...)
	}
}

// judgeModes are the ways a judge can compare answers.
var judgeModes = []string{JudgePairwise, JudgeSingle}

// roleNames are the roles a suite can have, as a spec writes them.
var roleNames = []string{string(RoleBusiness), string(RoleRegression), string(RoleBenchmark), string(RoleProduction)}

// textLangs are the languages the text metrics tokenize.
var textLangs = []string{"en", "zh"}

// validate checks a decoded spec with defaults applied, into c.
func (s *RunSpec) validate(c *checker) {
	variantNames := elementNames(s.Variants, func(v Variant) string { return v.Name })
	suiteNames := elementNames(s.Suites, func(su Suite) string { return su.Name })
	judgeNames := elementNames(s.Judges, func(j Judge) string { return j.Name })
	c.name(s.Run, "run")
	if len(s.Variants) == 0 {
		c.fail("at least one variant is required", "variants")
	}
	seen := map[string]bool{}
	for i, v := range s.Variants {
		c.name(v.Name, "variants", i, "name")
		if seen[v.Name] && v.Name != "" {
			c.fail(fmt.Sprintf("variant %q is listed twice", v.Name), "variants", i, "name")
		}
		seen[v.Name] = true
		c.endpoint(v.BaseURL, "variants", i, "base_url")
		c.keySource(v.APIKeyEnv, v.APIKeySecret, "variants", i)
		if v.Model == "" {
			c.fail("is required: the model name the endpoint serves", "variants", i, "model")
		}
		if v.Concurrency < 0 {
			c.fail("must be positive", "variants", i, "concurrency")
		}
	}
	switch {
	case len(s.Variants) == 0:
		// Reported above; a baseline cannot be checked against nothing.
	case s.Baseline == "" && len(s.Variants) > 1:
		c.fail("is required: name the variant the others are compared with", "baseline")
	case s.Baseline == "" && len(s.Variants) == 1:
		s.Baseline = s.Variants[0].Name
	case !seen[s.Baseline] && !c.namesUnsure("variants"):
		c.fail(notOneOf(s.Baseline, "variants", variantNames), "baseline")
	}
	for i, p := range s.Compare {
		if len(p) != 2 {
			c.fail(fmt.Sprintf("has %d names: a comparison is two variants, [a, b]", len(p)), "compare", i)
			continue
		}
		for k, name := range p {
			if !seen[name] && !c.namesUnsure("variants") {
				c.fail(notOneOf(name, "variants", variantNames), "compare", i, k)
			}
		}
		if p[0] == p[1] {
			c.fail(fmt.Sprintf("compares %s with itself", p[0]), "compare", i)
		}
		for j := range i {
			if q := s.Compare[j]; len(q) == 2 && (q[0] == p[0] && q[1] == p[1] || q[0] == p[1] && q[1] == p[0]) {
				c.fail(fmt.Sprintf("[%s, %s] is listed twice", p[0], p[1]), "compare", i)
			}
		}
	}
	c.decoding(s.Decoding, "decoding")
	// Kwargs go into every request as JSON, and the spec onto the bus: a
	// nested mapping with non-string keys, or a NaN, cannot.
	if _, err := json.Marshal(s.Template.Kwargs); err != nil {
		c.fail(fmt.Sprintf("cannot be sent as JSON (%v): use string keys and plain values", err), "template", "kwargs")
	}
	if s.Retry.MaxAttempts < 1 {
		c.fail("must be at least 1", "retry", "max_attempts")
	}
	if len(s.Suites) == 0 && s.Continuous == nil && !c.quiet("continuous") {
		c.fail("at least one suite is required (or a continuous section)", "suites")
	}
	suites := map[string]bool{}
	suiteAt := map[string]int{}
	for i, su := range s.Suites {
		c.name(su.Name, "suites", i, "name")
		if suites[su.Name] && su.Name != "" {
			c.fail(fmt.Sprintf("suite %q is listed twice", su.Name), "suites", i, "name")
		}
		suites[su.Name] = true
		if _, dup := suiteAt[su.Name]; !dup {
			suiteAt[su.Name] = i
		}
		if !su.Role.Valid() {
			c.fail(fmt.Sprintf("%q is not a role: %s", su.Role, nearOrElse(string(su.Role), roleNames, "use "+orList(roleNames))), "suites", i, "role")
		}
		if su.Path == "" {
			c.fail("is required: the dataset file (.jsonl, .json, .csv, .tsv or .parquet)", "suites", i, "path")
		} else if _, err := DatasetFormat(su.Path); err != nil && !IsDatasetDir(su.Path) {
			c.fail(err.Error(), "suites", i, "path")
		}
		if len(su.Metrics) == 0 {
			c.fail("at least one metric is required: "+strings.Join(KnownMetrics, ", "), "suites", i, "metrics")
		}
		for k, m := range su.Metrics {
			if !slices.Contains(KnownMetrics, m) {
				c.fail(fmt.Sprintf("unknown metric %q: %s", m, nearOr(m, KnownMetrics)), "suites", i, "metrics", k)
			}
		}
		if su.Lang != "" && !slices.Contains(textLangs, su.Lang) {
			c.fail(fmt.Sprintf("%q is not a language of the text metrics: %s", su.Lang, nearOrElse(su.Lang, textLangs, "use en or zh, or leave it out to decide per sample")), "suites", i, "lang")
		}
		c.format(su.Format, su.Metrics, "suites", i, "format")
		if su.Preset != "" && !slices.Contains(DatasetPresets, su.Preset) {
			c.fail(fmt.Sprintf("unknown preset %q: %s", su.Preset, nearOr(su.Preset, DatasetPresets)), "suites", i, "preset")
		}
		if nd := su.NearDuplicates; nd != nil && (math.IsNaN(*nd) || *nd < 0 || *nd > 1) {
			c.fail(fmt.Sprintf("%v is outside 0..1 (0 turns the check off)", *nd), "suites", i, "near_duplicates")
		}
		for k, p := range su.Perturbations {
			if !slices.Contains(PerturbationKinds, p) {
				c.fail(fmt.Sprintf("unknown perturbation %q: %s", p, nearOr(p, PerturbationKinds)), "suites", i, "perturbations", k)
			}
			if slices.Index(su.Perturbations, p) < k {
				c.fail(fmt.Sprintf("%q is listed twice", p), "suites", i, "perturbations", k)
			}
		}
		if lc := su.LongContext; lc != nil {
			if !slices.Contains(su.Perturbations, "long_context") {
				c.fail("is set, but perturbations does not list long_context: add it, or remove long_context", "suites", i, "long_context")
			}
			if lc.Tokens < 0 || lc.Tokens > MaxLongContextTokens {
				c.fail(fmt.Sprintf("%d is outside 1..%d (omit it for %d)", lc.Tokens, MaxLongContextTokens, DefaultLongContextTokens), "suites", i, "long_context", "tokens")
			}
			if lc.Position != "" && lc.Position != LongContextBefore && lc.Position != LongContextAfter {
				c.fail(fmt.Sprintf("%q is not a position: use before (the default) or after", lc.Position), "suites", i, "long_context", "position")
			}
		}
		if slices.Contains(su.Perturbations, "instruction_conflict") && su.TurnByTurn() {
			c.fail("instruction_conflict adds a recorded earlier turn, which a conversation answered turn by turn would replace: leave it out of this suite",
				"suites", i, "perturbations", slices.Index(su.Perturbations, "instruction_conflict"))
		}
		if err := CheckPromptTemplate(su.PromptTemplate); err != nil {
			c.fail(err.Error(), "suites", i, "prompt_template")
		}
		if err := checkClusterPath(su.Cluster); err != nil {
			c.fail(err.Error(), "suites", i, "cluster")
		}
	}
	if cc := s.Contamination; cc != nil {
		if cc.Train == "" {
			c.fail("is required: the training data (JSONL or .txt, or a directory of them ending in /)", "contamination", "train")
		} else if !IsDatasetDir(cc.Train) && !TrainingFile(cc.Train) {
			c.fail(fmt.Sprintf("%q is neither .jsonl nor .txt (optionally .gz), nor a directory ending in /", cc.Train), "contamination", "train")
		}
		if cc.NGram < 0 {
			c.fail("must not be negative", "contamination", "ngram")
		}
		if math.IsNaN(cc.Threshold) || cc.Threshold < 0 || cc.Threshold > 1 {
			c.fail(fmt.Sprintf("%v is outside 0..1", cc.Threshold), "contamination", "threshold")
		}
	}
	c.embeddings(s)
	experiments := map[string]bool{}
	for i, e := range s.AB {
		if s.Continuous == nil && !c.quiet("continuous") {
			c.fail("a live experiment needs a continuous section: its traffic is evaluated as it arrives", "ab", i)
		}
		if experiments[e.Name] && e.Name != "" {
			c.fail(fmt.Sprintf("experiment %q is listed twice", e.Name), "ab", i, "name")
		}
		experiments[e.Name] = true
		var names []string
		if !c.namesUnsure("variants") {
			names = variantNames
		}
		for _, p := range e.problems(names) {
			c.fail(p.msg, append([]any{"ab", i}, p.path...)...)
		}
	}
	if ct := s.Continuous; ct != nil {
		if len(ct.Sources) == 0 {
			c.fail("at least one intake source is required", "continuous", "sources")
		}
		for i, src := range ct.Sources {
			c.name(src, "continuous", "sources", i)
			if ValidName(src) {
				// A name shaped like personal data would spread into
				// subjects, reports and logs.
				if err := CheckSourceName(src); err != nil {
					c.fail(err.Error(), "continuous", "sources", i)
				} else if strings.HasPrefix(src, ABSourcePrefix) {
					c.fail(fmt.Sprintf("%q: sources starting with %q are live experiments' tokens; name the source otherwise", src, ABSourcePrefix), "continuous", "sources", i)
				}
			}
			if suites[src] {
				c.fail(fmt.Sprintf("%q is also a suite's name", src), "continuous", "sources", i)
			}
		}
		if math.IsNaN(ct.SampleRate) || ct.SampleRate <= 0 || ct.SampleRate > 1 {
			c.fail(fmt.Sprintf("%v is outside (0, 1]", ct.SampleRate), "continuous", "sample_rate")
		}
		switch d := ct.Window.D(); {
		case d < time.Minute:
			c.fail(fmt.Sprintf("%v is shorter than a minute", d), "continuous", "window")
		case d > MaxWindow:
			c.fail(fmt.Sprintf("%v is longer than a week: repeats are remembered for 8 days, so a longer window would count them again", d), "continuous", "window")
		}
		if ct.Horizon < 0 {
			c.fail(fmt.Sprintf("%d is negative: give how many of the latest windows the report keeps every result of, e.g. 30", ct.Horizon), "continuous", "horizon")
		}
		for k, m := range ct.Metrics {
			switch {
			case slices.Contains(referenceFree, m):
			case slices.Contains(KnownMetrics, m):
				c.fail(fmt.Sprintf("%q needs a reference, which production queries do not have: use %s", m, strings.Join(referenceFree, ", ")), "continuous", "metrics", k)
			default:
				c.fail(fmt.Sprintf("unknown metric %q: %s", m, nearOr(m, referenceFree)), "continuous", "metrics", k)
			}
		}
		if err := checkClusterPath(ct.Cluster); err != nil {
			c.fail(err.Error(), "continuous", "cluster")
		}
	}
	judges := map[string]bool{}
	for i, j := range s.Judges {
		if judges[j.Name] && j.Name != "" {
			c.fail(fmt.Sprintf("judge %q is listed twice", j.Name), "judges", i, "name")
		}
		judges[j.Name] = true
		c.judge(j, "judges", i)
	}
	for i, v := range s.Gate.Variants {
		if !seen[v] {
			if !c.namesUnsure("variants") {
				c.fail(notOneOf(v, "variants", variantNames), "gate", "variants", i)
			}
		} else if v == s.Baseline {
			c.fail("the baseline is not gated against itself", "gate", "variants", i)
		}
	}
	if s.Gate.Judge != "" && !judges[s.Gate.Judge] && !c.namesUnsure("judges") {
		c.fail(notOneOf(s.Gate.Judge, "judges", judgeNames), "gate", "judge")
	}
	if p := s.Gate.Policy; p != "" && !slices.Contains(gatePolicies, p) {
		c.fail(fmt.Sprintf("%q is not a gate policy: %s", p, nearOrElse(p, gatePolicies,
			"use interval (decide each check on its 95% interval; the default) or point (on point estimates)")), "gate", "policy")
	}
	if s.Gate.WinRateMin != nil && len(s.Judges) == 0 && !c.namesUnsure("judges") {
		c.fail("needs a judge: add one under judges", "gate", "win_rate_min")
	}
	switch by := s.Gate.RefusalBy; {
	case by != "" && by != RefusalByDetector && by != RefusalByJudge:
		c.fail(fmt.Sprintf("%q is not a reader of refusals: use detector (the refusal patterns and model; the default) or judge (the gate's judge's reading)", by), "gate", "refusal_by")
	case by == RefusalByJudge && len(s.Judges) == 0 && !c.namesUnsure("judges"):
		c.fail("needs a judge: add one under judges", "gate", "refusal_by")
	}
	for _, f := range []struct {
		v      *float64
		name   string
		lo, hi float64
	}{
		{s.Gate.WinRateMin, "win_rate_min", 0, 1},
		{s.Gate.JSONValidMin, "json_valid_min", 0, 1},
		{s.Gate.ErrorRateMax, "error_rate_max", 0, 1},
		// A difference of two rates.
		{s.Gate.RefusalRateDeltaMax, "refusal_rate_delta_max", -1, 1},
	} {
		if f.v != nil && !(*f.v >= f.lo && *f.v <= f.hi) {
			c.fail(fmt.Sprintf("%v is outside %v..%v", *f.v, f.lo, f.hi), "gate", f.name)
		}
	}
	for i, m := range s.Gate.Metrics {
		switch {
		case !suites[m.Suite]:
			if !c.namesUnsure("suites") {
				c.fail(notOneOf(m.Suite, "suites", suiteNames), "gate", "metrics", i, "suite")
			}
		case !slices.Contains(KnownMetrics, m.Metric):
			// The suite's own metrics first: the gate can only use one.
			computed := slices.DeleteFunc(slices.Clone(s.Suites[suiteAt[m.Suite]].Metrics), func(m string) bool { return !slices.Contains(KnownMetrics, m) })
			hint := didYouMean(m.Metric, computed)
			if hint == "" {
				hint = nearOr(m.Metric, KnownMetrics)
			}
			c.fail(fmt.Sprintf("unknown metric %q: %s", m.Metric, hint), "gate", "metrics", i, "metric")
		case c.quiet(fieldName(c.inDoc([]any{"suites", suiteAt[m.Suite], "metrics"})...)):
			// The suite's metrics did not decode: what it computes is
			// not known.
		case !slices.Contains(s.Suites[suiteAt[m.Suite]].Metrics, m.Metric):
			// The gate would find no such metric in the report and fail
			// every run.
			c.fail(fmt.Sprintf("suite %q does not compute %q: add it to the suite's metrics", m.Suite, m.Metric), "gate", "metrics", i, "metric")
		}
		if m.Min == nil && m.DeltaMin == nil && m.Margin == nil && !m.Superiority && m.Max == nil && m.DeltaMax == nil {
			c.fail("give min, delta_min, margin or superiority (max or delta_max for a metric where lower is better)", "gate", "metrics", i)
		}
		if HigherIsBetter(m.Metric) {
			// A bound from above on a metric where higher is better
			// would pass the candidate that got worse.
			for _, b := range []struct {
				set  bool
				name string
			}{{m.Max != nil, "max"}, {m.DeltaMax != nil, "delta_max"}} {
				if b.set {
					c.fail(fmt.Sprintf("%s is better the higher it is: bound it with min, delta_min, margin or superiority, not %s", m.Metric, b.name), "gate", "metrics", i, b.name)
				}
			}
		}
		if LowerIsBetter(m.Metric) {
			// A bound from below on a metric where lower is better would
			// pass the candidate that got worse.
			for _, b := range []struct {
				set  bool
				name string
			}{{m.Min != nil, "min"}, {m.DeltaMin != nil, "delta_min"}, {m.Margin != nil, "margin"}, {m.Superiority, "superiority"}} {
				if b.set {
					c.fail(fmt.Sprintf("%s is better the lower it is: bound it with max or delta_max (delta_max: 0 is \"not worse\"), not %s", m.Metric, b.name), "gate", "metrics", i, b.name)
				}
			}
		}
		for _, b := range []struct {
			v    *float64
			name string
		}{{m.Min, "min"}, {m.DeltaMin, "delta_min"}, {m.Margin, "margin"}, {m.Max, "max"}, {m.DeltaMax, "delta_max"}} {
			if b.v != nil && (math.IsNaN(*b.v) || math.IsInf(*b.v, 0)) {
				c.fail(fmt.Sprintf("%v is not a finite number", *b.v), "gate", "metrics", i, b.name)
			}
		}
		switch mg := m.Margin; {
		case mg == nil || math.IsNaN(*mg) || math.IsInf(*mg, 0):
		case *mg < 0:
			c.fail(fmt.Sprintf("%v is negative: a margin is how much worse than the baseline the candidate may be, written as a positive number (margin: %v)", *mg, -*mg),
				"gate", "metrics", i, "margin")
		case m.DeltaMin != nil:
			c.fail(fmt.Sprintf("margin %v and delta_min %v both bound the delta (margin: %v is delta_min: %v): keep one of them", *mg, *m.DeltaMin, *mg, -*mg),
				"gate", "metrics", i, "margin")
		}
	}
}

// gatePolicies are the values of gate.policy.
var gatePolicies = []string{GatePolicyInterval, GatePolicyPoint}

// checkClusterPath reports what is wrong with a suite's cluster path, a
// gjson path into each record ("" when the suite has none).
func checkClusterPath(p string) error {
	switch t := strings.TrimSpace(p); {
	case p == "":
		return nil
	case t == "":
		return errors.New("is blank: name the record's field that groups samples (e.g. passage_id), or leave cluster out")
	case t != p:
		return fmt.Errorf("%q has leading or trailing spaces, which would be part of the field's name: write %q", p, t)
	case strings.ContainsFunc(p, unicode.IsControl):
		return fmt.Errorf("%q holds a control character (a tab or a line break): write the field's path on one line", p)
	}
	// A path that ends in a separator names nothing after it; a \ escapes
	// the separator into the field's name.
	if last := p[len(p)-1]; (last == '.' || last == '|') && !escaped(p, len(p)-1) {
		return fmt.Errorf("%q ends with %q: name the field after it, or write \\%c for a key that ends with it", p, last, last)
	}
	return nil
}

// escaped reports whether the byte at i of a gjson path follows an odd
// number of backslashes.
func escaped(p string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && p[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// notOneOf says that v names none of a list's elements (the variants, the
// suites, the judges), and which it may have meant.
func notOneOf(v, list string, names []string) string {
	msg := fmt.Sprintf("%q is not one of the %s", v, list)
	if len(names) == 0 {
		return msg
	}
	return msg + ": " + nearOr(v, names)
}

// elementNames are the names of a list's elements, each once, in order.
func elementNames[T any](list []T, name func(T) string) []string {
	var names []string
	for _, e := range list {
		if n := name(e); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}
