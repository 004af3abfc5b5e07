package metric

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/services/score/metric/internal/refusalmodel"
)

var updateRefusalModel = flag.Bool("refusal.update", false, "retrain the refusal model on the labelled sets and rewrite refusal_model.bin")

// refusalSets are the labelled sets the model is trained on, in the order
// training reads them.
var refusalSets = []string{"refusal_labelled.jsonl", "refusal_holdout.jsonl", "refusal_holdout2.jsonl", "refusal_dev3.jsonl", "refusal_holdout3.jsonl", "refusal_holdout4.jsonl"}

// refusalModelInput is what the model reads of an answer: its start with
// quotations blanked, as IsRefusal gives it.
func refusalModelInput(text string) string {
	return unquote(prefix(strings.TrimSpace(text), refusalWindow))
}

// trainRefusalModel trains the model on the sets whose index skip is not
// (skip -1: all of them), as the weights file decodes.
func trainRefusalModel(t testing.TB, sets [][]refusalmodel.Example, skip int) *refusalmodel.Model {
	t.Helper()
	opt := refusalmodel.DefaultOptions
	var vectors []refusalmodel.Vector
	var labels []bool
	for k, set := range sets {
		if k == skip {
			continue
		}
		for _, e := range set {
			vectors = append(vectors, refusalmodel.Vectorise(refusalModelInput(e.Text), opt.Bits))
			labels = append(labels, e.Refusal)
		}
	}
	return refusalmodel.Train(vectors, labels, opt).Quantised()
}

func readRefusalSets(t testing.TB) [][]refusalmodel.Example {
	t.Helper()
	var sets [][]refusalmodel.Example
	for _, f := range refusalSets {
		set, err := refusalmodel.ReadSet(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, set)
	}
	return sets
}

// TestRefusalModelWeights is the model's generator: it trains the model on
// all the labelled sets and checks that refusal_model.bin is what that
// gives, byte for byte; with -refusal.update (go generate) it writes it.
func TestRefusalModelWeights(t *testing.T) {
	m := trainRefusalModel(t, readRefusalSets(t), -1)
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if *updateRefusalModel {
		if err := os.WriteFile("refusal_model.bin", b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(b, refusalModelBytes) {
		t.Fatal("refusal_model.bin is not what training on the labelled sets gives: run go generate")
	}
	again, _ := trainRefusalModel(t, readRefusalSets(t), -1).MarshalBinary()
	if !bytes.Equal(b, again) {
		t.Fatal("training is not deterministic")
	}
}

// TestRefusalModelCrossValidation is the detector's honest measurement:
// for each labelled set, the model is trained on the other five and the
// detector (patterns, then that model) measured on it, per language. The
// patterns were developed on every set but refusal_holdout4.jsonl, so that
// fold is the one that says what the detector does on answers nobody has
// seen; in the others the patterns know the answers. The bounds sit just
// under what was measured, so that a change to the features, the training
// or the decision rule that stops the model generalising is noticed.
func TestRefusalModelCrossValidation(t *testing.T) {
	sets := readRefusalSets(t)
	// The bounds per fold: English precision and recall, then Chinese.
	bounds := map[string][4]float64{
		"refusal_labelled.jsonl": {0.94, 0.99, 0.94, 0.99},
		"refusal_holdout.jsonl":  {0.97, 0.99, 0.93, 0.99},
		"refusal_holdout2.jsonl": {0.97, 0.99, 0.97, 0.99},
		"refusal_dev3.jsonl":     {0.92, 0.98, 0.92, 0.98},
		"refusal_holdout3.jsonl": {0.92, 0.99, 0.95, 0.99},
		"refusal_holdout4.jsonl": {0.93, 0.92, 0.96, 0.90},
	}
	for k, file := range refusalSets {
		t.Run(file, func(t *testing.T) {
			m := trainRefusalModel(t, sets, k)
			items := make([]labelledAnswer, len(sets[k]))
			for i, e := range sets[k] {
				items[i] = labelledAnswer{ID: e.ID, Lang: e.Lang, Kind: e.Kind, Refusal: e.Refusal, Text: e.Text}
			}
			c := measureDetector(t, items, func(text string) bool {
				text = strings.TrimSpace(text)
				if text == "" {
					return false
				}
				head := unquote(prefix(text, refusalWindow))
				return matchesRefusal(text, head) || modelSaysRefusal(m, head, false)
			})
			b := bounds[file]
			for i, lang := range []string{"en", "zh"} {
				if p, r := c[lang].precision(), c[lang].recall(); p < b[2*i] || r < b[2*i+1] {
					t.Errorf("%s: precision %.3f (want ≥ %.2f), recall %.3f (want ≥ %.2f)", lang, p, b[2*i], r, b[2*i+1])
				}
			}
		})
	}
}
