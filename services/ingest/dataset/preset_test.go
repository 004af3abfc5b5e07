package dataset

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

func readPreset(t *testing.T, file, preset string, metrics ...string) ([]eval.Sample, Result) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "presets", file))
	if err != nil {
		t.Fatal(err)
	}
	rd := NewReader("run1", eval.Suite{Name: "s", Preset: preset, Metrics: metrics}, file)
	var got []eval.Sample
	res, err := rd.Read(bytes.NewReader(data), func(s eval.Sample) error {
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("problems: %q", problemStrings(res.Problems))
	}
	return got, res
}

func TestPresets(t *testing.T) {
	// Every preset the spec accepts is defined here, and nothing else.
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values(eval.DatasetPresets)); !slices.Equal(names, want) {
		t.Fatalf("presets %q, eval.DatasetPresets %q", names, want)
	}

	for _, c := range []struct {
		file, preset string
		metrics      []string
		want         eval.Sample // ID, Messages, Reference and TurnReferences are compared
	}{
		{"mmlu.csv", "mmlu", []string{"mc_acc"}, eval.Sample{
			Messages:  []eval.Message{{Role: "user", Content: "Which gas do plants take in for photosynthesis?\nA. Oxygen\nB. Carbon dioxide\nC. Nitrogen\nD. Helium\nAnswer:"}},
			Reference: &eval.Reference{Choices: []string{"Oxygen", "Carbon dioxide", "Nitrogen", "Helium"}, Label: "B"}}},
		{"cmmlu.csv", "cmmlu", []string{"mc_acc"}, eval.Sample{
			Messages:  []eval.Message{{Role: "user", Content: "水在标准大气压下的沸点是多少摄氏度？\nA. 90\nB. 100\nC. 110\nD. 120\n答案："}},
			Reference: &eval.Reference{Choices: []string{"90", "100", "110", "120"}, Label: "B"}}},
		{"ceval.csv", "ceval", []string{"mc_acc"}, eval.Sample{ID: "0",
			Messages:  []eval.Message{{Role: "user", Content: "下列哪一项是可再生能源？\nA. 煤炭\nB. 石油\nC. 太阳能\nD. 天然气\n答案："}},
			Reference: &eval.Reference{Choices: []string{"煤炭", "石油", "太阳能", "天然气"}, Label: "C"}}},
		{"gsm8k.jsonl", "gsm8k", []string{"num_strict", "num_flexible"}, eval.Sample{
			Messages:  []eval.Message{{Role: "user", Content: "A baker makes 12 rolls in the morning and 15 in the afternoon. She sells 20. How many are left?"}},
			Reference: &eval.Reference{Answers: []string{"She makes 12 + 15 = 27 rolls.\nAfter selling 20 she has 27 - 20 = 7 left.\n#### 7"}}}},
		{"humaneval.jsonl", "humaneval", []string{"code_pass"}, eval.Sample{ID: "Own/0",
			Messages: []eval.Message{{Role: "user", Content: "def double(x: int) -> int:\n    \"\"\"Return twice x.\"\"\"\n"}},
			Reference: &eval.Reference{Code: &eval.CodeTest{Prompt: "def double(x: int) -> int:\n    \"\"\"Return twice x.\"\"\"\n",
				Test: "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(-3) == -6\n", EntryPoint: "double"}}}},
		{"mbpp.jsonl", "mbpp", []string{"code_pass"}, eval.Sample{ID: "901",
			Messages:  []eval.Message{{Role: "user", Content: "Write a function to count the vowels in a string.\nYour code should pass these tests:\n\nassert count_vowels('hello') == 2\nassert count_vowels('xyz') == 0"}},
			Reference: &eval.Reference{Code: &eval.CodeTest{Test: "assert count_vowels('hello') == 2\nassert count_vowels('xyz') == 0"}}}},
		{"mt-bench.jsonl", "mt-bench", []string{"length"}, eval.Sample{ID: "81",
			Messages: []eval.Message{{Role: "user", Content: "Write a short note inviting a neighbour to a garden party on Saturday."},
				{Role: "user", Content: "Now rewrite it so that every sentence starts with the letter S."}},
			Reference: &eval.Reference{}}},
		{"alpaca.json", "alpaca", []string{"rougeL"}, eval.Sample{
			Messages:  []eval.Message{{Role: "user", Content: "Suggest a name for a bakery that sells sourdough only."}},
			Reference: &eval.Reference{Answers: []string{"Slow Rise Sourdough"}}}},
		{"sharegpt.json", "sharegpt", []string{"rougeL"}, eval.Sample{ID: "conv-1",
			Messages: []eval.Message{{Role: "user", Content: "What is a haiku?"},
				{Role: "assistant", Content: "A short Japanese poem of three lines with five, seven and five syllables."},
				{Role: "user", Content: "Write one about rain."}},
			Reference: &eval.Reference{Answers: []string{"Soft rain on the roof\nthe garden drinks in silence\npuddles hold the sky"}}}},
		{"openai.jsonl", "openai", []string{"em"}, eval.Sample{
			Messages:  []eval.Message{{Role: "system", Content: "You answer in one word."}, {Role: "user", Content: "Colour of a clear daytime sky?"}},
			Reference: &eval.Reference{Answers: []string{"Blue"}}}},
		// The second question's reference is the last turn's, and the
		// judge is shown each turn's.
		{"mt-bench.jsonl", "mt-bench", []string{"length"}, eval.Sample{ID: "82",
			Messages: []eval.Message{{Role: "user", Content: "A shop sells pens at 3 for 2 dollars. How much do 12 pens cost?"},
				{Role: "user", Content: "And how many pens can you buy with 10 dollars?"}},
			Reference:      &eval.Reference{Answers: []string{"15 pens"}},
			TurnReferences: []string{"8 dollars", "15 pens"}}},
	} {
		t.Run(c.preset, func(t *testing.T) {
			got, _ := readPreset(t, c.file, c.preset, c.metrics...)
			if c.want.ID == "82" {
				got = got[1:]
			}
			if len(got) == 0 {
				t.Fatal("no samples")
			}
			g := got[0]
			if c.want.ID != "" && g.ID != c.want.ID {
				t.Errorf("id %q, want %q", g.ID, c.want.ID)
			}
			gm, _ := json.Marshal(g.Messages)
			wm, _ := json.Marshal(c.want.Messages)
			if !bytes.Equal(gm, wm) {
				t.Errorf("messages\n%s\nwant\n%s", gm, wm)
			}
			gr, _ := json.Marshal(g.Reference)
			wr, _ := json.Marshal(c.want.Reference)
			if !bytes.Equal(gr, wr) {
				t.Errorf("reference\n%s\nwant\n%s", gr, wr)
			}
			if !slices.Equal(g.TurnReferences, c.want.TurnReferences) {
				t.Errorf("turn references %q, want %q", g.TurnReferences, c.want.TurnReferences)
			}
		})
	}
}

// TestTurnReferences: MT-Bench's per-turn references are kept only as a
// list of texts, one per user turn, and only where the preset's reference
// field is the suite's.
func TestTurnReferences(t *testing.T) {
	const turns = `"turns": ["How much do 12 pens cost?", "And with 10 dollars?"]`
	for _, c := range []struct {
		name   string
		fields eval.Fields
		line   string
		want   []string
	}{
		{"one per turn", eval.Fields{}, `{"question_id": 1, ` + turns + `, "reference": ["8 dollars", 15]}`, []string{"8 dollars", "15"}},
		{"fewer than the turns", eval.Fields{}, `{"question_id": 1, ` + turns + `, "reference": ["15 pens"]}`, nil},
		{"not texts", eval.Fields{}, `{"question_id": 1, ` + turns + `, "reference": [{"a": 1}, {"a": 2}]}`, nil},
		{"one text", eval.Fields{}, `{"question_id": 1, ` + turns + `, "reference": "15 pens"}`, nil},
		{"one turn", eval.Fields{}, `{"question_id": 1, "turns": ["How much?"], "reference": ["8 dollars"]}`, nil},
		{"the suite's own reference field", eval.Fields{Reference: "answer"}, `{"question_id": 1, ` + turns + `, "answer": "15 pens", "reference": ["8 dollars", "15 pens"]}`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rd := NewReader("run1", eval.Suite{Name: "s", Preset: "mt-bench", Fields: c.fields, Metrics: []string{"length"}}, "q.jsonl")
			var got []eval.Sample
			res, err := rd.Read(strings.NewReader(c.line+"\n"), func(s eval.Sample) error { got = append(got, s); return nil })
			if err != nil || len(res.Problems) > 0 || len(got) != 1 {
				t.Fatalf("Read: %v, problems %q, %d samples", err, problemStrings(res.Problems), len(got))
			}
			if !slices.Equal(got[0].TurnReferences, c.want) {
				t.Errorf("turn references %q, want %q", got[0].TurnReferences, c.want)
			}
		})
	}
}

func TestTurnByTurnDropsRecordedAnswers(t *testing.T) {
	// A recorded conversation answered turn by turn keeps the user's
	// turns; its final answer is the reference.
	got, _ := readPreset(t, "sharegpt.json", "sharegpt", "rougeL")
	rd := NewReader("run1", eval.Suite{Name: "s", Preset: "sharegpt", GenerateTurns: true, Metrics: []string{"rougeL"}}, "sharegpt.json")
	data, _ := os.ReadFile(filepath.Join("testdata", "presets", "sharegpt.json"))
	var turns []eval.Sample
	if _, err := rd.Read(bytes.NewReader(data), func(s eval.Sample) error { turns = append(turns, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got[0].Messages) != 3 || len(turns) != 1 || len(turns[0].Messages) != 2 || turns[0].Messages[1].Role != "user" ||
		turns[0].Reference.Answers[0] != got[0].Reference.Answers[0] {
		t.Fatalf("as recorded %+v, turn by turn %+v", got[0].Messages, turns)
	}
}

func TestPromptTemplate(t *testing.T) {
	suite := eval.Suite{Name: "s", Metrics: []string{"em"}, PromptTemplate: "Q: {q.text} {{literal}}\nTags: {tags}\nN: {n}"}
	rd := NewReader("run1", suite, "t.jsonl")
	var got []eval.Sample
	res, err := rd.Read(strings.NewReader(
		`{"id": 1, "q": {"text": "Why?"}, "tags": ["a", "b"], "n": 3, "reference": "x"}`+"\n"+
			`{"id": 2, "tags": [], "n": 1, "reference": "x"}`+"\n"), func(s eval.Sample) error {
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Messages[0].Content != "Q: Why? {literal}\nTags: a\nb\nN: 3" {
		t.Fatalf("samples %+v", got)
	}
	if p := problemStrings(res.Problems); len(p) != 1 || p[0] != "t.jsonl:2: q.text: missing, but the prompt template uses {q.text}" {
		t.Errorf("problems %q", p)
	}
}

// FuzzPresets reads arbitrary JSONL through every preset: no panic, every
// problem located, and per-turn references (MT-Bench's) one per user turn,
// the last of them the reference scored.
func FuzzPresets(f *testing.F) {
	for _, s := range []string{
		`{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}`,
		`{"turns": ["a", "b"], "question_id": 1}`,
		`{"turns": ["a", "b"], "question_id": 1, "reference": ["x", 2]}`,
		`{"question": "q", "A": "1", "B": "2", "C": "3", "D": "4", "answer": "B"}`,
		`{"text": "t", "test_list": ["assert 1"], "task_id": 2}`,
		`{"from": 1}`, `{"conversations": [{"from": "alien"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range eval.DatasetPresets {
			rd := NewReader("run1", eval.Suite{Name: "s", Preset: p, Metrics: []string{"length"}}, "f.jsonl")
			res, err := rd.Read(bytes.NewReader(data), func(s eval.Sample) error {
				if len(s.TurnReferences) == 0 {
					return nil
				}
				users := 0
				for _, m := range s.Messages {
					if m.Role == "user" {
						users++
					}
				}
				last := s.TurnReferences[len(s.TurnReferences)-1]
				if len(s.TurnReferences) != users || s.Reference == nil || len(s.Reference.Answers) != 1 || s.Reference.Answers[0] != last {
					t.Fatalf("%s: turn references %q for %d user turns, reference %+v", p, s.TurnReferences, users, s.Reference)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range res.Problems {
				if pr.Line < 1 {
					t.Fatalf("%s: problem at line %d", p, pr.Line)
				}
			}
		}
	})
}

// TestPresetMetrics reads every preset's records, in the shape its
// benchmark publishes them, with every metric that shape supports, all at
// once: a record that fits its preset is never rejected.
func TestPresetMetrics(t *testing.T) {
	text := []string{"em", "f1", "bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum"}
	// Metrics that read nothing from a record work with every preset.
	anyShape := []string{"length", "refusal", "json_valid"}
	cases := []struct {
		preset, file string
		metrics      []string
	}{
		{"mmlu", "mmlu.csv", []string{"mc_acc"}},
		{"cmmlu", "cmmlu.csv", []string{"mc_acc"}},
		{"ceval", "ceval.csv", []string{"mc_acc"}},
		{"gsm8k", "gsm8k.jsonl", append([]string{"num_match", "num_strict", "num_flexible"}, text...)},
		{"humaneval", "humaneval.jsonl", []string{"code_pass"}},
		{"mbpp", "mbpp.jsonl", []string{"code_pass"}},
		// MT-Bench is judged: only its math and coding questions have
		// reference answers.
		{"mt-bench", "mt-bench.jsonl", nil},
		{"alpaca", "alpaca.json", text},
		{"sharegpt", "sharegpt.json", text},
		{"openai", "openai.jsonl", text},
	}
	var covered []string
	for _, c := range cases {
		covered = append(covered, c.preset)
	}
	if want := slices.Sorted(slices.Values(eval.DatasetPresets)); !slices.Equal(slices.Sorted(slices.Values(covered)), want) {
		t.Fatalf("presets covered %q, want %q", covered, want)
	}
	for _, c := range cases {
		t.Run(c.preset, func(t *testing.T) {
			all, _ := readPreset(t, c.file, c.preset, anyShape...)
			got, _ := readPreset(t, c.file, c.preset, append(c.metrics, anyShape...)...)
			if len(got) == 0 || len(got) != len(all) {
				t.Fatalf("%d samples with %v, %d without", len(got), c.metrics, len(all))
			}
		})
	}
}

// TestGSM8KReferences reads GSM8K's answers as num_match does: the number
// after "#### ", commas removed.
func TestGSM8KReferences(t *testing.T) {
	got, _ := readPreset(t, "gsm8k.jsonl", "gsm8k", "num_match")
	var nums []float64
	for _, s := range got {
		v, ok := referenceNumber(s.Reference.Answers[0])
		if !ok {
			t.Fatalf("%s: %q has no number", s.Source, s.Reference.Answers[0])
		}
		nums = append(nums, v)
	}
	if want := []float64{7, 1550, -3, 6}; !slices.Equal(nums, want) {
		t.Errorf("numbers %v, want %v", nums, want)
	}
}

func TestReferenceNumber(t *testing.T) {
	for _, c := range []struct {
		ref  string
		want float64
		ok   bool
	}{
		{"18", 18, true},
		{" 18\n", 18, true},
		{"Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18", 18, true},
		{"#### 1,234", 1234, true},
		{"#### -3", -3, true},
		{"#### $5.", 5, true},
		{"#### 0.25", 0.25, true},
		{"−4", -4, true},
		{"1,000,000", 1e6, true},
		// What follows the first marker is the number, alone.
		{"#### 5 #### 6", 0, false},
		{"first #### 5\nthen #### 6", 0, false},
		{"####18", 0, false}, // no space: not the marker, and not a number
		{"#### ", 0, false},
		{"#### eighteen", 0, false},
		{"#### 18 dollars", 0, false},
		{"42 kg", 0, false},
		{"inf", 0, false},
		{"NaN", 0, false},
		{"", 0, false},
	} {
		got, ok := referenceNumber(c.ref)
		if ok != c.ok || got != c.want {
			t.Errorf("referenceNumber(%q) = %v, %v; want %v, %v", c.ref, got, ok, c.want, c.ok)
		}
	}
}
