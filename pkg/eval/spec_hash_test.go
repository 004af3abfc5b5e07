package eval

import (
	"encoding/json"
	"os"
	"testing"
)

// TestSpecHashesPinned pins the hashes of fixed specs. They are stamped on
// stored samples, generations, scores and judgments: a change to any of
// them makes every resumed run refuse itself, so it must be deliberate
// (bump MetricsVersion or the like) and never a side effect of a refactor.
// The values were computed from the spec code as it stood before it was
// split into files.
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
		{"validSpec", validSpec, "162811e91cbabfb1", "589db95d7168", []string{"judge-v1@d101265efe13"}},
		{"testdata/spec/pinned.yaml", string(pinned), "5b31a975423056c4", "ee9f5463e090", []string{"judge-v1@d101265efe13", "strict@22014d5bb8ac"}},
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
