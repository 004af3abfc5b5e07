package eval

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestSpecHashesPinned pins the hashes of fixed specs. They are stamped on
// stored samples, generations, scores and judgments: a change to any of
// them makes every resumed run refuse itself, so it must be deliberate
// (bump MetricsVersion or the like) and never a side effect of a refactor.
// The values were computed from the spec code as it stood before it was
// split into files; the judges' ids changed deliberately with judge
// contract 2 and its default dimensions (JudgeContract).
func TestSpecHashesPinned(t *testing.T) {
	pinned, err := os.ReadFile("testdata/spec/pinned.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		src         string
		fingerprint string
		scoring     string
		judges      []string
	}{
		{"validSpec", validSpec, "162811e91cbabfb1", "589db95d7168", []string{"judge-v1@872a734ad5c3"}},
		{"testdata/spec/pinned.yaml", string(pinned), "5b31a975423056c4", "ee9f5463e090", []string{"judge-v1@872a734ad5c3", "strict@a0d4eb3e5f09"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.src)
			if got := s.Fingerprint(); got != tc.fingerprint {
				t.Errorf("Fingerprint() = %s, pinned %s", got, tc.fingerprint)
			}
			if got := s.Scoring(); got != tc.scoring {
				t.Errorf("Scoring() = %s, pinned %s", got, tc.scoring)
			}
			if len(s.Judges) != len(tc.judges) {
				t.Fatalf("%d judges, want %d", len(s.Judges), len(tc.judges))
			}
			for i, j := range s.Judges {
				if got := j.ID(); got != tc.judges[i] {
					t.Errorf("judges[%d].ID() = %s, pinned %s", i, got, tc.judges[i])
				}
			}
		})
	}
}

// TestSpecJSONPinned checks that a parsed spec travels on the bus exactly
// as before: same keys, same defaults, same encoding.
func TestSpecJSONPinned(t *testing.T) {
	src, err := os.ReadFile("testdata/spec/pinned.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/spec/pinned.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, string(src))
	s.Source = ""
	got, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(got)+"\n" != string(want) {
		t.Errorf("the spec's JSON changed:\n%s\nwant\n%s", got, want)
	}
}

func TestFingerprint(t *testing.T) {
	base := mustParse(t, validSpec).Fingerprint()
	if len(base) != 16 {
		t.Fatalf("fingerprint %q is not 16 hex digits", base)
	}
	if again := mustParse(t, validSpec).Fingerprint(); again != base {
		t.Fatalf("fingerprint not stable across parses: %s, %s", base, again)
	}
	for _, tc := range []struct {
		name     string
		old, new string
		same     bool
	}{
		{"a variant added", "decoding:", "  - {name: ft2, base_url: http://x/v1, model: m2}\ndecoding:", true},
		{"a variant's endpoint", "http://vllm-base:8000/v1", "http://elsewhere:8000/v1", true},
		{"the run's name", "run: qwen3-sft-vs-base", "run: other", true},
		{"retry", "decoding:", "retry: {max_attempts: 2}\ndecoding:", true},
		{"default written out", "seed: 7}", "seed: 7, top_p: 1, max_tokens: 1024}", true},
		{"gate", "win_rate_min: 0.5", "win_rate_min: 0.6", true},
		{"temperature", "temperature: 0,", "temperature: 0.7,", false},
		{"seed", "seed: 7", "seed: 8", false},
		{"max_tokens", "seed: 7}", "seed: 7, max_tokens: 2048}", false},
		{"top_k", "seed: 7}", "seed: 7, top_k: 20}", false},
		{"system prompt", "You are a helpful assistant.", "You are terse.", false},
		{"thinking", "thinking: false", "thinking: true", false},
		{"chat template", "thinking: false}", "thinking: false, chat_template: x}", false},
		{"template kwargs", "thinking: false}", "thinking: false, kwargs: {a: 1}}", false},
		// Judges carry their own ids and scores their scoring: adding a
		// judge or re-scoring keeps the generations comparable.
		{"judge prompt", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    prompt: Judge harshly.\n", true},
		{"judge model", "Qwen/Qwen3-32B", "Qwen/Qwen3-235B", true},
		{"metrics", "[json_schema, em, f1]", "[json_schema, em]", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := mustParse(t, edit(t, validSpec, tc.old, tc.new)).Fingerprint()
			if tc.same && fp != base {
				t.Errorf("fingerprint changed: %s -> %s", base, fp)
			}
			if !tc.same && fp == base {
				t.Errorf("fingerprint unchanged: %s", fp)
			}
		})
	}
}

func TestScoring(t *testing.T) {
	base := mustParse(t, validSpec).Scoring()
	if again := mustParse(t, validSpec).Scoring(); again != base {
		t.Fatalf("scoring not stable: %s, %s", base, again)
	}
	for _, tc := range []struct {
		name, old, new string
		same           bool
	}{
		{"decoding", "seed: 7", "seed: 8", true},
		{"a variant added", "decoding:", "  - {name: ft2, base_url: http://x/v1, model: m2}\ndecoding:", true},
		{"a judge's prompt", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    prompt: Judge harshly.\n", true},
		{"metrics", "[json_schema, em, f1]", "[json_schema, em]", false},
		{"a suite added", "judges:", "  - {name: reg, path: r.jsonl, metrics: [em]}\njudges:", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := mustParse(t, edit(t, validSpec, tc.old, tc.new)).Scoring()
			if (sc == base) != tc.same {
				t.Errorf("scoring %s, base %s, want same=%v", sc, base, tc.same)
			}
		})
	}
}

// TestFingerprintSurvivesTheBus checks that a spec read from YAML and the
// same spec carried as JSON on the bus have the same fingerprint: ingest
// stamps samples with one and the report compares with the other.
func TestFingerprintSurvivesTheBus(t *testing.T) {
	for _, tc := range []struct{ name, old, new string }{
		{"valid spec", "", ""},
		{"kwargs", "thinking: false}", "thinking: false, kwargs: {a: 1, b: [x, 2.5], c: {d: true}}}"},
		{"big integer kwarg", "thinking: false}", "thinking: false, kwargs: {n: 9007199254740993}}"},
		{"judge with options", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    response_format: false\n    decoding: {temperature: 0.1, seed: 3}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := validSpec
			if tc.old != "" {
				src = edit(t, src, tc.old, tc.new)
			}
			s := mustParse(t, src)
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatalf("the spec does not encode as JSON: %v", err)
			}
			var back RunSpec
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Fingerprint() != s.Fingerprint() {
				t.Errorf("fingerprint %s after JSON, %s before", back.Fingerprint(), s.Fingerprint())
			}
			for i := range s.Judges {
				if back.Judges[i].ID() != s.Judges[i].ID() {
					t.Errorf("judge id %s after JSON, %s before", back.Judges[i].ID(), s.Judges[i].ID())
				}
			}
		})
	}
}

func TestJudgeID(t *testing.T) {
	judge := func(t *testing.T, extra string) Judge {
		t.Helper()
		return mustParse(t, edit(t, validSpec, "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n"+extra)).Judges[0]
	}
	base := judge(t, "").ID()
	if !strings.HasPrefix(base, "judge-v1@") || len(base) != len("judge-v1@")+12 {
		t.Fatalf("ID() = %q, want judge-v1@ and 12 hex digits", base)
	}
	if again := judge(t, "").ID(); again != base {
		t.Fatalf("ID not stable: %s, %s", base, again)
	}
	for _, tc := range []struct {
		name  string
		extra string
		same  bool
	}{
		{"defaults written out", "    mode: pairwise\n    dimensions: [correctness, completeness, harmlessness, format, grounding]\n    response_format: true\n", true},
		{"concurrency and timeout", "    concurrency: 2\n    timeout: 10s\n", true},
		{"api key env", "    api_key_env: JUDGE_KEY\n", true},
		{"repeat", "    repeat: 2\n    repeat_share: 0.5\n", true},
		{"prompt", "    prompt: Be strict.\n", false},
		{"dimensions", "    dimensions: [correctness]\n", false},
		{"dimension order", "    dimensions: [helpfulness, correctness, format]\n", false},
		{"temperature", "    decoding: {temperature: 0.5}\n", false},
		{"max tokens", "    decoding: {max_tokens: 100}\n", false},
		{"response format", "    response_format: false\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := judge(t, tc.extra).ID()
			if tc.same != (id == base) {
				t.Errorf("ID %s vs %s: same = %v, want %v", id, base, id == base, tc.same)
			}
		})
	}
	t.Run("model", func(t *testing.T) {
		j := judge(t, "")
		j.Model = "other"
		if j.ID() == base {
			t.Error("ID unchanged by the model")
		}
	})
	t.Run("name", func(t *testing.T) {
		j := judge(t, "")
		j.Name = "judge-v2"
		if id := j.ID(); !strings.HasPrefix(id, "judge-v2@") || id[len("judge-v2@"):] != base[len("judge-v1@"):] {
			t.Errorf("renamed ID = %s, want the same hash as %s", id, base)
		}
	})
}

// TestJudgeRepeats: a judge with repeat asks again about the share of
// pairs it names, the same ones every time; one without asks about none.
func TestJudgeRepeats(t *testing.T) {
	j := Judge{Name: "j", Repeat: 2, RepeatShare: 0.3}
	n := 0
	for i := range 10000 {
		id := fmt.Sprint("s", i)
		if j.Repeats("r", "qa", id, "ft") {
			n++
		}
		if j.Repeats("r", "qa", id, "ft") != j.Repeats("r", "qa", id, "ft") {
			t.Fatal("not the same pairs every time")
		}
	}
	if r := float64(n) / 10000; r < 0.28 || r > 0.32 {
		t.Errorf("share %.3f, want about 0.3", r)
	}
	if (Judge{Name: "j"}).Repeats("r", "qa", "s1", "ft") {
		t.Error("a judge without repeat asks again")
	}
	j.RepeatShare = 0
	n = 0
	for i := range 10000 {
		if j.Repeats("r", "qa", fmt.Sprint("s", i), "ft") {
			n++
		}
	}
	if r := float64(n) / 10000; r < 0.09 || r > 0.11 {
		t.Errorf("default share %.3f, want about %.2f", r, DefaultRepeatShare)
	}
}
