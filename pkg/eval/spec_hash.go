package eval

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// MetricsVersion versions the semantics of the automatic metrics. It is part
// of the run fingerprint: bump it when a metric's definition changes so that
// old and new scores are never compared silently. Version 2: ROUGE, BLEU,
// chrF and EM/F1 reproduce rouge-score, sacreBLEU and the SQuAD script
// exactly (an answer sharing no token with the reference has F1 0).
const MetricsVersion = "2"

// JudgeContract versions the judge contract: what the built-in prompts ask
// and the reply's fields. Version 2 asks for a suggested fix and for each
// answer whether it is off-topic and whether it declines.
const JudgeContract = 2

// ID versions the judge: a short hash of everything that shapes its verdicts.
func (j Judge) ID() string { return j.Name + "@" + j.Hash() }

// Hash identifies what shapes the judge's verdicts — model, mode, prompt,
// dimensions, decoding — whatever the judge is called: two judges with the
// same hash answer the same question the same way, so their responses are
// cached as one.
func (j Judge) Hash() string {
	b, _ := json.Marshal(struct {
		Model, Mode, Prompt string
		Dimensions          []string
		Decoding            Decoding
		ResponseFormat      bool
		Contract            int
	}{j.Model, j.Mode, j.Prompt, j.Dimensions, j.Decoding, j.WantsResponseFormat(), JudgeContract})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}

// and the template every variant is called with. It is stamped on every
// sample, generation, score and judgment. It does not change when a variant
// is added (a checkpoint), when a judge is added (each judgment carries its
// judge's id) or when the run is re-scored (each score carries its
// [RunSpec.Scoring]).
func (s *RunSpec) Fingerprint() string {
	t := s.Template
	t.Kwargs = jsonNormal(t.Kwargs)
	b, _ := json.Marshal(struct {
		Decoding Decoding
		Template Template
	}{s.Decoding, t})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// Scoring identifies how the run's answers are scored: the metrics each
// suite asks for and their version. Every score carries it; the report uses
// the scores of the run's current scoring, so a re-scored run is never a
// mix of two.
func (s *RunSpec) Scoring() string {
	type suiteScoring struct {
		Name    string
		Metrics []string
		Lang    string        `json:",omitempty"`
		Stem    bool          `json:",omitempty"`
		Format  *FormatChecks `json:",omitempty"`
	}
	suites := make([]suiteScoring, len(s.Suites))
	for i, su := range s.Suites {
		suites[i] = suiteScoring{su.Name, su.Metrics, su.Lang, su.Stem, su.Format}
	}
	b, _ := json.Marshal(struct {
		Suites         []suiteScoring
		MetricsVersion string
		// Embeddings is left out when the spec has none, so that the
		// scorings of specs before it keep their hashes.
		Embeddings string `json:",omitempty"`
	}{suites, MetricsVersion, s.Embeddings.Hash()})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}

// jsonNormal returns kwargs as they come out of a JSON round trip, so that a
// spec read from YAML and the same spec read from the bus hash alike: YAML
// keeps an integer like 9007199254740993 exact, JSON makes it a float64.
func jsonNormal(kwargs map[string]any) map[string]any {
	if kwargs == nil {
		return nil
	}
	b, err := json.Marshal(kwargs)
	if err != nil {
		return kwargs
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return kwargs
	}
	return out
}
