package metric

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The reference values in testdata/reference were produced by sacreBLEU
// 2.6.0, rouge-score 0.1.2 and the SQuAD v1.1 evaluation functions on pairs
// written for this project; its README says exactly how.

type referencePair struct {
	ID     string   `json:"id"`
	Output string   `json:"output"`
	Refs   []string `json:"refs"`
}

type corpusValues struct {
	BLEU          float64 `json:"bleu"`
	BLEUSignature string  `json:"bleu_signature"`
	CHRF          float64 `json:"chrf"`
	CHRFSignature string  `json:"chrf_signature"`
	BLEUDetail    struct {
		Counts []int `json:"counts"`
		Totals []int `json:"totals"`
		SysLen int   `json:"sys_len"`
		RefLen int   `json:"ref_len"`
	} `json:"bleu_detail"`
}

func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readReference(t *testing.T, lang string) ([]referencePair, []map[string]any, corpusValues) {
	t.Helper()
	dir := filepath.Join("testdata", "reference")
	pairs := readJSONL[referencePair](t, filepath.Join(dir, "pairs_"+lang+".jsonl"))
	values := readJSONL[map[string]any](t, filepath.Join(dir, "values_"+lang+".jsonl"))
	if len(pairs) < 200 || len(pairs) != len(values) {
		t.Fatalf("%s: %d pairs and %d values; want the same number, at least 200", lang, len(pairs), len(values))
	}
	data, err := os.ReadFile(filepath.Join(dir, "corpus_"+lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var corpus corpusValues
	if err := json.Unmarshal(data, &corpus); err != nil {
		t.Fatal(err)
	}
	return pairs, values, corpus
}

// Tolerances of the issue: the references' own floating-point noise is far
// below them (identical algorithms agree to ~1e-13).
const (
	tolFraction = 1e-6 // ROUGE, EM, F1 (0–1)
	tolPercent  = 0.01 // BLEU, chrF (0–100)
)

func TestReferenceValues(t *testing.T) {
	for _, lang := range []Lang{LangEN, LangZH} {
		t.Run(string(lang), func(t *testing.T) {
			pairs, values, corpus := readReference(t, string(lang))
			tok := Tokenizer13a
			if lang == LangZH {
				tok = TokenizerZh
			}
			var bleu BLEUStats
			var chrf CHRFStats
			for i, p := range pairs {
				want := values[i]
				if want["id"] != p.ID {
					t.Fatalf("values line %d is %v, pairs line is %s", i+1, want["id"], p.ID)
				}
				bs := BLEUSegment(p.Output, p.Refs, tok)
				bleu.Add(bs)
				cs := CHRFSegment(p.Output, p.Refs)
				chrf.Add(cs)
				r := Rouge(p.Output, p.Refs, RougeOptions{Lang: lang})
				got := map[string]float64{
					"bleu": bs.Score(true), "chrf": cs.Score(),
					"rouge1": r.Rouge1, "rouge2": r.Rouge2, "rougeL": r.RougeL, "rougeLsum": r.RougeLsum,
					"em": ExactMatch(p.Output, p.Refs, lang), "f1": F1(p.Output, p.Refs, lang),
				}
				if lang == LangEN {
					s := Rouge(p.Output, p.Refs, RougeOptions{Lang: lang, Stem: true})
					got["rouge1_stem"], got["rouge2_stem"], got["rougeL_stem"], got["rougeLsum_stem"] = s.Rouge1, s.Rouge2, s.RougeL, s.RougeLsum
				}
				if l := RougeL(p.Output, p.Refs, RougeOptions{Lang: lang}); l != r.RougeL {
					t.Errorf("%s: RougeL %v, Rouge(…).RougeL %v", p.ID, l, r.RougeL)
				}
				for k, g := range got {
					w, ok := want[k].(float64)
					if !ok {
						t.Fatalf("%s: no reference value for %s", p.ID, k)
					}
					tol := tolFraction
					if k == "bleu" || k == "chrf" {
						tol = tolPercent
					}
					if math.Abs(g-w) > tol {
						t.Errorf("%s %s = %.9g, reference %.9g (output %q, refs %q)", p.ID, k, g, w, p.Output, p.Refs)
					}
				}
			}
			if got := bleu.Score(false); math.Abs(got-corpus.BLEU) > tolPercent {
				t.Errorf("corpus BLEU = %.9g, reference %.9g (stats %+v)", got, corpus.BLEU, bleu)
			}
			d := corpus.BLEUDetail
			if bleu.HypLen != d.SysLen || bleu.RefLen != d.RefLen {
				t.Errorf("corpus lengths hyp %d ref %d, reference %d %d", bleu.HypLen, bleu.RefLen, d.SysLen, d.RefLen)
			}
			for n := range bleuOrder {
				if bleu.Correct[n] != d.Counts[n] || bleu.Total[n] != d.Totals[n] {
					t.Errorf("corpus %d-grams %d/%d, reference %d/%d", n+1, bleu.Correct[n], bleu.Total[n], d.Counts[n], d.Totals[n])
				}
			}
			if got := chrf.Score(); math.Abs(got-corpus.CHRF) > tolPercent {
				t.Errorf("corpus chrF = %.9g, reference %.9g", got, corpus.CHRF)
			}
			if got := BLEUSignature(-1, tok, false); got != corpus.BLEUSignature {
				t.Errorf("BLEU signature %q, sacreBLEU's %q", got, corpus.BLEUSignature)
			}
			if got := CHRFSignature(-1); got != corpus.CHRFSignature {
				t.Errorf("chrF signature %q, sacreBLEU's %q", got, corpus.CHRFSignature)
			}
		})
	}
}
