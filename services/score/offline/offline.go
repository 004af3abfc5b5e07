// Package offline scores answers that already exist, outside any run:
// `assay score` reads JSONL of {id, output, reference}, writes each line's
// scores in input order, and sums up the corpus (corpus BLEU and chrF with
// their sacreBLEU signatures) and the mean of every metric.
package offline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/schema"
	"github.com/assay-eval/assay/services/score"
	"github.com/assay-eval/assay/services/score/codeexec"
	"github.com/assay-eval/assay/services/score/metric"
)

// Metrics are the metric names [Score] knows, besides pass@<k> (pass@1,
// pass@10, …).
var Metrics = []string{
	"bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum", "em", "f1",
	"mc_acc", "num_strict", "num_flexible", "json_valid", "json_schema",
	"refusal", "length", eval.MetricSemanticSim,
}

// referenceFree are the metrics a line without a reference can be scored
// with.
var referenceFree = []string{"json_valid", "json_schema", "refusal", "length"}

var passAtKRE = regexp.MustCompile(`^pass@([1-9][0-9]{0,3})$`)

// Options configure a scoring.
type Options struct {
	// Metrics to compute, from [Metrics] or pass@k (k ≥ 1).
	Metrics []string
	// Lang is the language of the text metrics: en, as the references
	// do by default, or zh (sacreBLEU's zh tokenizer; ROUGE and F1 over
	// characters).
	Lang metric.Lang
	// Stem Porter-stems English words for ROUGE.
	Stem bool
	// Schema is the JSON Schema for json_schema when a line has none.
	Schema json.RawMessage
	// Code runs programs for pass@k; nil: the codeexec sandbox.
	Code metric.CodeRunner
	// Workers score lines at once (default GOMAXPROCS).
	Workers int
	// Source names the input in errors ("file.jsonl").
	Source string
	// Embeddings is the endpoint of semantic_sim, which needs one. Its
	// requests are at most its endpoint's concurrency at once, and at
	// least as many lines are scored at once unless Workers is set.
	Embeddings *Embeddings
}

// Summary is the whole input's result.
type Summary struct {
	// N is the number of lines scored.
	N int `json:"n"`
	// Failed is the number of lines skipped as malformed.
	Failed int    `json:"failed"`
	Lang   string `json:"lang"`
	// Corpus are corpus-level BLEU and chrF (from summed statistics,
	// sacreBLEU's corpus_bleu and corpus_chrf), when asked for.
	Corpus map[string]float64 `json:"corpus,omitempty"`
	// Signatures are sacreBLEU's signatures of the corpus scores.
	Signatures map[string]string `json:"signatures,omitempty"`
	// Mean is each metric's mean over the lines it was scored on.
	Mean map[string]float64 `json:"mean"`
	// Count is how many lines each mean is over.
	Count map[string]int `json:"count"`
	// ChineseReferences counts lines with Chinese references scored with
	// lang en, whose BLEU, ROUGE and F1 are then near 0.
	ChineseReferences int `json:"chinese_references,omitempty"`
	// Unscored counts, per metric and cause, the lines a metric could not
	// be computed for (semantic_sim whose embeddings call failed: {"semantic_sim":
	// {"HTTP 503": 3}}): their line records why in "failed", and they
	// are in no mean or Count.
	Unscored map[string]map[string]int `json:"unscored,omitempty"`
}

// UnscoredLines is how many lines metric m could not be computed for.
func (sum *Summary) UnscoredLines(m string) int {
	n := 0
	for _, k := range sum.Unscored[m] {
		n += k
	}
	return n
}

// LineError is a malformed line, skipped.
type LineError struct {
	Source string
	Line   int
	Field  string
	Msg    string
}

func (e *LineError) Error() string {
	where := fmt.Sprintf("%s:%d", e.Source, e.Line)
	if e.Field != "" {
		where += ": " + e.Field
	}
	return where + ": " + e.Msg
}

// ErrLinesFailed is returned, wrapped, when any line was skipped.
var ErrLinesFailed = errors.New("lines failed")

// ErrUnscored is returned, wrapped, when a metric could not be computed
// for some line (see [Summary.Unscored]).
var ErrUnscored = errors.New("metrics could not be computed")

// ParseMetrics reads a comma-separated metric list.
func ParseMetrics(list string) ([]string, error) {
	var out []string
	for m := range strings.SplitSeq(list, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		switch {
		case slices.Contains(Metrics, m) || passAtKRE.MatchString(m):
		case strings.HasPrefix(m, "pass@"):
			return nil, fmt.Errorf("metric %q: k is a number of generations from 1 to 9999: pass@<k>, e.g. pass@1 or pass@10", m)
		default:
			return nil, fmt.Errorf("unknown metric %q: use %s or pass@<k>, e.g. pass@1", m, strings.Join(Metrics, " "))
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no metrics: name at least one, e.g. --metrics bleu,chrf,rougeL")
	}
	return out, nil
}

// result is one line's outcome, in input order.
type result struct {
	line   *line
	err    *LineError
	scores map[string]float64
	// failed are the metrics that could not be computed, with why.
	failed map[string]string
	bleu   metric.BLEUStats
	chrf   metric.CHRFStats
	zhRefs bool
}

// Score reads JSONL from r and writes one scores line per input line to w,
// in input order. Malformed lines are passed to onError and skipped; the
// returned error wraps [ErrLinesFailed] when there were any, and is
// otherwise only for failing to read or write.
func Score(ctx context.Context, r io.Reader, w io.Writer, opt Options, onError func(*LineError)) (*Summary, error) {
	if opt.Lang == "" {
		opt.Lang = metric.LangEN
	}
	if slices.Contains(opt.Metrics, eval.MetricSemanticSim) && opt.Embeddings == nil {
		return nil, ErrNoEmbeddings
	}
	if opt.Workers < 1 {
		opt.Workers = runtime.GOMAXPROCS(0)
		if opt.Embeddings != nil {
			// The lines mostly wait for the endpoint.
			opt.Workers = max(opt.Workers, opt.Embeddings.Endpoint.Concurrency)
		}
	}
	if opt.Code == nil {
		opt.Code = score.CodeRunner(opt.Workers, codeexec.Limits{})
	}
	if onError == nil {
		onError = func(*LineError) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sc := &scorer{opt: opt, scorer: metric.NewScorer(opt.Code), schemas: schema.NewCache()}
	if opt.Embeddings != nil {
		sc.embed = opt.Embeddings.embedder()
	}
	if len(opt.Schema) > 0 {
		if _, err := sc.schemas.Compile(opt.Schema); err != nil {
			return nil, fmt.Errorf("the JSON Schema for json_schema is unusable: %w", err)
		}
	}

	// Lines go to the workers, and their futures, in order, to the writer;
	// the futures channel's buffer bounds how many lines are in memory.
	type future chan result
	jobs := make(chan func(), opt.Workers)
	futures := make(chan future, 4*opt.Workers)
	readErr := make(chan error, 1)
	go func() {
		defer close(futures)
		defer close(jobs)
		readErr <- readLines(ctx, r, opt.Source, func(no int, raw []byte) {
			f := make(future, 1)
			select {
			case futures <- f:
			case <-ctx.Done():
				return
			}
			jobs <- func() { f <- sc.score(ctx, no, raw) }
		})
	}()
	for range opt.Workers {
		go func() {
			for job := range jobs {
				job()
			}
		}()
	}

	sum := &Summary{Lang: string(opt.Lang), Mean: map[string]float64{}, Count: map[string]int{}}
	var bleu metric.BLEUStats
	var chrf metric.CHRFStats
	nrefs := map[int]bool{}
	bw := bufio.NewWriter(w)
	var writeErr error
	for f := range futures {
		res := <-f
		if ctx.Err() != nil {
			continue // interrupted: what is left is neither scored nor failed
		}
		if res.err != nil {
			sum.Failed++
			onError(res.err)
			continue
		}
		if writeErr != nil {
			continue
		}
		sum.N++
		nrefs[len(res.line.refs)] = true
		bleu.Add(res.bleu)
		chrf.Add(res.chrf)
		if res.zhRefs {
			sum.ChineseReferences++
		}
		for k, v := range res.scores {
			sum.Mean[k] += v
			sum.Count[k]++
		}
		for m, why := range res.failed {
			if sum.Unscored == nil {
				sum.Unscored = map[string]map[string]int{}
			}
			if sum.Unscored[m] == nil {
				sum.Unscored[m] = map[string]int{}
			}
			sum.Unscored[m][why]++
		}
		if err := writeLine(bw, res); err != nil {
			writeErr = err
			cancel()
		}
	}
	if err := <-readErr; err != nil && writeErr == nil {
		return sum, fmt.Errorf("scoring %s: %w", opt.Source, err)
	}
	if writeErr == nil {
		writeErr = bw.Flush()
	}
	if writeErr != nil {
		return sum, fmt.Errorf("writing scores: %w", writeErr)
	}
	for k, n := range sum.Count {
		sum.Mean[k] /= float64(n)
	}
	sum.corpus(opt, bleu, chrf, nrefs)
	var errs []error
	if sum.Failed > 0 {
		errs = append(errs, fmt.Errorf("%d of %d lines: %w", sum.Failed, sum.Failed+sum.N, ErrLinesFailed))
	}
	for _, m := range slices.Sorted(maps.Keys(sum.Unscored)) {
		errs = append(errs, fmt.Errorf("%s for %d of %d lines: %w", m, sum.UnscoredLines(m), sum.N, ErrUnscored))
	}
	return sum, errors.Join(errs...)
}

func (sum *Summary) corpus(opt Options, bleu metric.BLEUStats, chrf metric.CHRFStats, nrefs map[int]bool) {
	n := -1 // sacreBLEU's "var"
	if len(nrefs) == 1 {
		for k := range nrefs {
			n = k
		}
	}
	tok := metric.Tokenizer13a
	if opt.Lang == metric.LangZH {
		tok = metric.TokenizerZh
	}
	if slices.Contains(opt.Metrics, "bleu") && sum.N > 0 {
		sum.set("bleu", bleu.Score(false), metric.BLEUSignature(n, tok, false))
	}
	if slices.Contains(opt.Metrics, "chrf") && sum.N > 0 {
		sum.set("chrf", chrf.Score(), metric.CHRFSignature(n))
	}
}

func (sum *Summary) set(name string, v float64, sig string) {
	if sum.Corpus == nil {
		sum.Corpus, sum.Signatures = map[string]float64{}, map[string]string{}
	}
	sum.Corpus[name], sum.Signatures[name] = v, sig
}

// maxLine is the longest input line read: a long document with several
// references fits; a runaway file does not exhaust memory.
const maxLine = 64 << 20

// readLines calls fn with each non-blank line and its number.
func readLines(ctx context.Context, r io.Reader, source string, fn func(no int, raw []byte)) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for no := 1; ; no++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, err := readLine(br)
		if len(bytes.TrimSpace(raw)) > 0 || errors.Is(err, errLineTooLong) {
			if errors.Is(err, errLineTooLong) {
				raw = nil // the line's error says why
			}
			fn(no, raw)
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil && !errors.Is(err, errLineTooLong):
			return fmt.Errorf("reading %s: %w", source, err)
		}
	}
}

var errLineTooLong = errors.New("line too long")

func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine {
			// Skip the rest of the line.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF || err == nil {
				return nil, errLineTooLong
			}
			return nil, err
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, err
	}
}

type scorer struct {
	opt     Options
	scorer  *metric.Scorer
	schemas *schema.Cache
	// embed gives semantic_sim its vectors; nil without embeddings.
	embed metric.Embedder
}

// score decodes and scores one line; it never panics on what the line
// holds.
func (s *scorer) score(ctx context.Context, no int, raw []byte) result {
	if raw == nil {
		return result{err: &LineError{s.opt.Source, no, "", fmt.Sprintf("longer than %d MiB: split the record", maxLine>>20)}}
	}
	ln, lerr := s.decode(no, raw)
	if lerr != nil {
		return result{err: lerr}
	}
	res := result{line: ln, scores: map[string]float64{}}
	res.zhRefs = s.opt.Lang == metric.LangEN && slices.ContainsFunc(ln.refs, metric.IsCJK)
	tok := metric.Tokenizer13a
	if s.opt.Lang == metric.LangZH {
		tok = metric.TokenizerZh
	}
	var rest []string
	for _, m := range s.opt.Metrics {
		switch {
		case m == "bleu":
			res.bleu = metric.BLEUSegment(ln.output, ln.refs, tok)
			res.scores[m] = res.bleu.Score(true)
		case m == "chrf":
			res.chrf = metric.CHRFSegment(ln.output, ln.refs)
			res.scores[m] = res.chrf.Score()
		case passAtKRE.MatchString(m):
		default:
			rest = append(rest, m)
		}
	}
	if len(rest) > 0 {
		ref := &eval.Reference{Answers: ln.refs, Label: ln.label, Choices: make([]string, ln.choices)}
		if len(ln.schema) > 0 {
			ref.Schema = ln.schema
		} else {
			ref.Schema = s.opt.Schema
		}
		in := metric.Input{Output: ln.output, Reference: ref, Metrics: rest, Lang: s.opt.Lang, Stem: s.opt.Stem, MetricsOnly: true, Embed: s.embed}
		if e := s.opt.Embeddings; e != nil {
			in.TokenEmbeddings = e.Tokens
		}
		r, err := s.scorer.Score(ctx, in)
		if err != nil {
			return result{err: &LineError{s.opt.Source, no, "", err.Error()}}
		}
		maps.Copy(res.scores, r.Metrics)
		res.failed = r.Failed
	}
	if err := s.passAtK(ctx, ln, res.scores); err != nil {
		return result{err: err}
	}
	return res
}

// passAtK runs every output of a code line against its tests once and
// estimates each pass@k asked for from the passes.
func (s *scorer) passAtK(ctx context.Context, ln *line, scores map[string]float64) *LineError {
	var ks []int
	for _, m := range s.opt.Metrics {
		if sm := passAtKRE.FindStringSubmatch(m); sm != nil {
			k, _ := strconv.Atoi(sm[1])
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		return nil
	}
	fail := func(field, format string, args ...any) *LineError {
		return &LineError{s.opt.Source, ln.no, field, fmt.Sprintf(format, args...)}
	}
	if ln.code == nil {
		return fail("test", "missing: pass@k needs the item's tests (test, and entry_point for HumanEval-style items)")
	}
	outputs := ln.outputs
	if outputs == nil {
		outputs = []string{ln.output}
	}
	for _, k := range ks {
		if k > len(outputs) {
			return fail("outputs", "pass@%d needs at least %d generations, the line has %d", k, k, len(outputs))
		}
	}
	passed := 0
	for _, out := range outputs {
		o, err := s.opt.Code(ctx, out, ln.code)
		if err != nil {
			return fail("", "running the code: %v", err)
		}
		if o.Passed {
			passed++
		}
	}
	for _, k := range ks {
		p, err := codeexec.PassAtK(len(outputs), passed, k)
		if err != nil {
			return fail("", "%v", err)
		}
		scores["pass@"+strconv.Itoa(k)] = p
	}
	return nil
}

// writeLine writes {"id": …, <passed-through fields>, "scores": {…}},
// and "failed": {metric: why} for the metrics that could not be computed.
func writeLine(w *bufio.Writer, res result) error {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	b.Write(compact(res.line.id))
	for _, k := range slices.Sorted(maps.Keys(res.line.extra)) {
		if k == "id" || k == "scores" || k == "failed" {
			continue
		}
		key, _ := json.Marshal(k)
		b.WriteByte(',')
		b.Write(key)
		b.WriteByte(':')
		b.Write(compact(res.line.extra[k]))
	}
	scores, err := json.Marshal(res.scores)
	if err != nil {
		return err
	}
	b.WriteString(`,"scores":`)
	b.Write(scores)
	if len(res.failed) > 0 {
		failed, err := json.Marshal(res.failed)
		if err != nil {
			return err
		}
		b.WriteString(`,"failed":`)
		b.Write(failed)
	}
	b.WriteString("}\n")
	_, err = w.Write(b.Bytes())
	return err
}

func compact(v json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return v
	}
	return b.Bytes()
}
