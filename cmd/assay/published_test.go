package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/services/report/document"
)

// The published shapes, in records we wrote: GSM8K's {question, answer}
// whose answer is the whole solution ending "#### N"; HumanEval's
// {task_id, prompt, canonical_solution, test, entry_point}; MT-Bench's
// {question_id, category, turns, reference}.
var (
	gsm8kRecords = []map[string]any{
		{"question": "A baker makes 12 loaves a day and sells 9 of them. How many loaves are left after 5 days?",
			"answer": "Each day 12 - 9 = <<12-9=3>>3 loaves are left.\nAfter 5 days 3 * 5 = <<3*5=15>>15 are left.\n#### 15"},
		{"question": "Tom has $1,200 and spends a quarter of it on a bike. How much money does he have left?",
			"answer": "He spends 1200 / 4 = $<<1200/4=300>>300.\nHe has 1200 - 300 = $<<1200-300=900>>900 left.\n#### 900"},
		{"question": "A train travels 60 miles an hour for 3 hours and 40 miles an hour for 2 hours. How far does it go?",
			"answer": "60 * 3 = <<60*3=180>>180 miles, then 40 * 2 = <<40*2=80>>80 miles.\nIn all 180 + 80 = <<180+80=260>>260 miles.\n#### 260"},
		{"question": "Sara reads 25 pages on Monday and twice as many on Tuesday. How many pages did she read?",
			"answer": "On Tuesday she reads 25 * 2 = <<25*2=50>>50 pages.\n25 + 50 = <<25+50=75>>75.\n#### 75"},
	}
	humanEvalRecords = []map[string]any{
		{"task_id": "Own/0", "prompt": "def below_zero(operations: list) -> bool:\n    \"\"\"Return True if the running balance ever falls below zero.\"\"\"\n",
			"canonical_solution": "    balance = 0\n    for op in operations:\n        balance += op\n        if balance < 0:\n            return True\n    return False\n",
			"test":               "def check(candidate):\n    assert candidate([1, 2, -4, 5]) is True\n    assert candidate([1, 2, -3]) is False\n", "entry_point": "below_zero"},
		{"task_id": "Own/1", "prompt": "def correct_bracketing(brackets: str) -> bool:\n    \"\"\"brackets is a string of \"<\" and \">\". Return True if every opening bracket has a closing one.\"\"\"\n",
			"canonical_solution": "    depth = 0\n    for b in brackets:\n        if b == \"<\":\n            depth += 1\n        else:\n            depth -= 1\n        if depth < 0:\n            return False\n    return depth == 0\n",
			"test":               "def check(candidate):\n    assert candidate(\"<>\")\n    assert candidate(\"<<><>>\")\n    assert not candidate(\"><<>\")\n", "entry_point": "correct_bracketing"},
		{"task_id": "Own/2", "prompt": "def correct_bracketing(brackets: str) -> bool:\n    \"\"\"brackets is a string of \"(\" and \")\". Return True if every opening bracket has a closing one.\"\"\"\n",
			"canonical_solution": "    depth = 0\n    for b in brackets:\n        if b == \"(\":\n            depth += 1\n        else:\n            depth -= 1\n        if depth < 0:\n            return False\n    return depth == 0\n",
			"test":               "def check(candidate):\n    assert candidate(\"()\")\n    assert candidate(\"(()())\")\n    assert not candidate(\")(()\")\n", "entry_point": "correct_bracketing"},
	}
	mtBenchRecords = []map[string]any{
		{"question_id": 101, "category": "writing", "turns": []string{"Write a two-line poem about rain on a tin roof.", "Rewrite your previous response so that it rhymes."}},
		{"question_id": 102, "category": "math", "turns": []string{"What is 15% of 80?", "And what is 15% of your previous answer?"},
			"reference": []string{"12", "1.8"}},
	}
)

func writeJSONL(t *testing.T, path string, records []map[string]any, gz bool) {
	t.Helper()
	var b bytes.Buffer
	for _, r := range records {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	data := b.Bytes()
	if gz {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		data = z.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPublishedShapes runs suites in the published shapes through the
// presets, end to end: GSM8K (gzip-compressed, as some benchmarks are
// published) with all three numeric metrics; HumanEval answered with bare
// completions by one model and fenced code by the other; MT-Bench answered
// turn by turn, with the judge shown both turns and both models' answers.
// A third variant streams, and thinks before answering as Qwen3 and
// DeepSeek-R1 do: its answers pass once the trace is set aside (HumanEval's
// bare completion keeps its indentation), the judge never sees the trace,
// and the report gives its time to first token, inter-token latency and
// tokens per second, which only a streamed answer has.
func TestPublishedShapes(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH; install it (apt-get install python3) to run HumanEval's tests")
	}
	t.Setenv("ASSAY_NATS", "")
	dir := t.TempDir()
	writeJSONL(t, filepath.Join(dir, "gsm8k.jsonl.gz"), gsm8kRecords, true)
	writeJSONL(t, filepath.Join(dir, "humaneval.jsonl"), humanEvalRecords, false)
	writeJSONL(t, filepath.Join(dir, "mt.jsonl"), mtBenchRecords, false)

	answers := map[string]string{}
	for _, r := range gsm8kRecords {
		sol := r["answer"].(string)
		_, n, _ := strings.Cut(sol, "#### ")
		// The way models answer GSM8K: reasoning, then the marker.
		answers[r["question"].(string)] = strings.ReplaceAll(sol[:strings.Index(sol, "####")], "<<", "(") + "The answer is " + n + ".\n#### " + n
	}
	const trace = "Let me think about it step by step before I answer."
	ep := newScriptedEndpoint(t, "base", "ft", "think", "judge")
	answer := func(model, q string) string {
		if a, ok := answers[q]; ok {
			return a
		}
		for _, r := range humanEvalRecords {
			if q == r["prompt"] {
				sol := r["canonical_solution"].(string)
				if model == "ft" {
					return "Here is the completed function:\n```python\n" + r["prompt"].(string) + sol + "```\n"
				}
				return sol // a bare completion: its indentation matters
			}
		}
		return fmt.Sprintf("%s's answer to %q", model, q)
	}
	ep.answer = func(model, q string) string {
		if model == "think" {
			// Thinking, then a bare completion for HumanEval.
			return "<think>\n" + trace + "\n</think>\n\n" + answer(model, q)
		}
		return answer(model, q)
	}
	spec := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(spec, []byte(fmt.Sprintf(`run: published
baseline: base
variants:
  - {name: base, base_url: %[1]s, model: base, stream: false}
  - {name: ft, base_url: %[1]s, model: ft, stream: false}
  - {name: think, base_url: %[1]s, model: think, stream: true}
retry: {max_attempts: 2, initial_backoff: 1ms, max_backoff: 2ms}
suites:
  - {name: gsm8k, path: gsm8k.jsonl.gz, preset: gsm8k, metrics: [num_match, num_strict, num_flexible]}
  - {name: humaneval, path: humaneval.jsonl, preset: humaneval, metrics: [code_pass]}
  - {name: mt, path: mt.jsonl, preset: mt-bench, metrics: [length]}
judges:
  - {name: judge, base_url: %[1]s, model: judge}
`, ep.url())), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runLocalCLI(t, "run", "-f", spec)
	if r.code != 0 || r.rep == nil {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	rep := r.rep
	for _, su := range rep.Suites {
		if su.Malformed != 0 || su.Duplicates != 0 {
			t.Errorf("suite %s: %d malformed, %d duplicates: %q", su.Name, su.Malformed, su.Duplicates, su.Problems)
		}
	}
	want := map[string]int{"gsm8k": len(gsm8kRecords), "humaneval": len(humanEvalRecords)}
	for _, m := range rep.Metrics {
		n, scored := want[m.Suite]
		if !scored {
			continue
		}
		if m.N != n || m.Mean == nil || *m.Mean != 1 {
			t.Errorf("%s/%s %s: n %d, mean %v; every answer is right", m.Suite, m.Metric, m.Variant, m.N, m.Mean)
		}
	}
	if got := countMetrics(rep, "gsm8k"); got != 9 {
		t.Errorf("%d gsm8k metric rows, want 3 metrics × 3 variants", got)
	}
	if got := countMetrics(rep, "humaneval"); got != 3 {
		t.Errorf("%d humaneval metric rows, want code_pass × 3 variants", got)
	}
	streamedTiming(t, rep, r.md, "think", "base", "ft")

	// MT-Bench: the judge saw, for each question, both turns and each
	// model's own answers to both, and never a reasoning trace.
	var seen int
	for _, p := range ep.judged {
		if strings.Contains(p, trace) {
			t.Errorf("the judge was shown a reasoning trace:\n%s", p)
		}
		for _, r := range mtBenchRecords {
			turns := r["turns"].([]string)
			if !strings.Contains(p, turns[1]) {
				continue
			}
			seen++
			v := "ft"
			if strings.Contains(p, "think's answer") {
				v = "think"
			}
			for _, want := range []string{turns[0], turns[1],
				fmt.Sprintf("base's answer to %q", turns[0]), fmt.Sprintf("%s's answer to %q", v, turns[0]),
				fmt.Sprintf("base's answer to %q", turns[1]), fmt.Sprintf("%s's answer to %q", v, turns[1])} {
				if !strings.Contains(p, want) {
					t.Errorf("the judge request for question %v lacks %q:\n%s", r["question_id"], want, p)
				}
			}
		}
	}
	if seen != 2*2*len(mtBenchRecords) {
		t.Errorf("%d judge requests for MT-Bench questions, want 2 variants × 2 orders × %d", seen, len(mtBenchRecords))

	}
}

// streamedTiming checks that report.json and report.md give the streamed
// variant's time to first token, inter-token latency and output tokens per
// second, and the unstreamed ones' latency and throughput alone.
func streamedTiming(t *testing.T, rep *document.Report, md, streamed string, unstreamed ...string) {
	t.Helper()
	tm := rep.Timing
	if tm.TTFT[streamed].N == 0 || tm.ITL[streamed].N == 0 || tm.OutputTokensPerS[streamed].N == 0 || tm.Latency[streamed].N == 0 {
		t.Errorf("timing of streamed %s: ttft %+v, itl %+v, tokens/s %+v, latency %+v: want every one measured",
			streamed, tm.TTFT[streamed], tm.ITL[streamed], tm.OutputTokensPerS[streamed], tm.Latency[streamed])
	}
	if l := tm.TTFT[streamed]; !(l.P50 > 0 && l.P50 <= l.P95 && l.P95 <= l.P99) {
		t.Errorf("ttft of %s: %+v", streamed, l)
	}
	for _, v := range unstreamed {
		if tm.TTFT[v].N != 0 || tm.ITL[v].N != 0 || tm.Latency[v].N == 0 || tm.OutputTokensPerS[v].N == 0 {
			t.Errorf("timing of %s, not streamed: ttft %+v, itl %+v, latency %+v, tokens/s %+v: want latency and tokens/s only",
				v, tm.TTFT[v], tm.ITL[v], tm.Latency[v], tm.OutputTokensPerS[v])
		}
	}
	// report.md's Timing table: variant, n, latency, ttft, itl, tokens/s.
	_, timing, ok := strings.Cut(md, "## Timing\n")
	if !ok {
		t.Fatalf("report.md has no Timing section:\n%s", md)
	}
	var row []string
	for line := range strings.Lines(timing) {
		if cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|"); len(cells) == 6 && strings.TrimSpace(cells[0]) == streamed {
			row = cells
		}
	}
	if row == nil {
		t.Fatalf("report.md's Timing table has no row for %s:\n%s", streamed, timing)
	}
	for i, name := range []string{2: "time to first token", 3: "inter-token latency", 4: "output tokens/s"} {
		if cell := strings.TrimSpace(row[i]); name != "" && (cell == "—" || cell == "n/a" || cell == "") {
			t.Errorf("report.md shows no %s for %s: %q", name, streamed, row)
		}
	}
}

func countMetrics(rep *document.Report, suite string) int {
	n := 0
	for _, m := range rep.Metrics {
		if m.Suite == suite {
			n++
		}
	}
	return n
}
