package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/tidwall/gjson"
)

// TestCluster reads records with a suite's cluster path: each sample gets
// the value there as its cluster, "" (its own) where the record has none,
// and a value that names no group is the line's problem.
func TestCluster(t *testing.T) {
	passage := strings.Repeat("A long shared passage. ", 10)
	sum := sha256.Sum256([]byte(passage))
	digest := "sha256:" + hex.EncodeToString(sum[:16])
	tests := []struct {
		name    string
		path    string
		line    string
		want    string
		problem string
	}{
		{"string", "doc", `{"id": "a", "prompt": "p", "doc": "d-7"}`, "d-7", ""},
		{"number", "doc", `{"id": "a", "prompt": "p", "doc": 7}`, "7", ""},
		{"number written as a float", "doc", `{"id": "a", "prompt": "p", "doc": 7.0}`, "7", ""},
		{"nested path", "meta.subject", `{"id": "a", "prompt": "p", "meta": {"subject": "anatomy"}}`, "anatomy", ""},
		{"missing", "doc", `{"id": "a", "prompt": "p"}`, "", ""},
		{"null", "doc", `{"id": "a", "prompt": "p", "doc": null}`, "", ""},
		{"empty", "doc", `{"id": "a", "prompt": "p", "doc": ""}`, "", ""},
		{"long value digested", "context", `{"id": "a", "prompt": "p", "context": "` + passage + `"}`, digest, ""},
		{"no path", "", `{"id": "a", "prompt": "p", "doc": "d-7"}`, "", ""},
		{"boolean", "doc", `{"id": "a", "prompt": "p", "doc": true}`, "",
			"data/suite.jsonl:1: doc: the cluster must be a string or a number, not a boolean"},
		{"list", "doc", `{"id": "a", "prompt": "p", "doc": ["x"]}`, "",
			"data/suite.jsonl:1: doc: the cluster must be a string or a number, not a list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, res := read(t, eval.Suite{Name: "qa", Cluster: tc.path}, tc.line+"\n")
			problems := problemStrings(res.Problems)
			if tc.problem != "" {
				if len(got) != 0 || len(problems) != 1 || problems[0] != tc.problem {
					t.Fatalf("samples %v, problems %q; want the problem %q", got, problems, tc.problem)
				}
				return
			}
			if len(got) != 1 || len(problems) != 0 {
				t.Fatalf("%d samples, problems %q", len(got), problems)
			}
			if got[0].Cluster != tc.want {
				t.Errorf("cluster %q, want %q", got[0].Cluster, tc.want)
			}
			if ref := got[0].Ref(1); ref.Cluster != tc.want {
				t.Errorf("ref's cluster %q, want %q", ref.Cluster, tc.want)
			}
		})
	}
}

// TestClusterCSV: a CSV column is a cluster like a JSON field.
func TestClusterCSV(t *testing.T) {
	rd := NewReader("run1", eval.Suite{Name: "qa", Cluster: "passage"}, "qa.csv")
	var got []string
	_, err := rd.Read(strings.NewReader("id,prompt,passage\nq1,first?,p1\nq2,second?,p1\nq3,third?,\n"), func(s eval.Sample) error {
		got = append(got, s.ID+"="+s.Cluster)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "q1=p1 q2=p1 q3="; strings.Join(got, " ") != want {
		t.Errorf("clusters %v, want %s", got, want)
	}
}

// FuzzClusterOf: whatever a record holds at the cluster path, ClusterOf
// does not panic; it gives "" exactly for an absent, null or empty value,
// keeps a short string or number as it is, and never gives more than
// MaxCluster bytes.
func FuzzClusterOf(f *testing.F) {
	for _, s := range []string{`"d-7"`, `7`, `7.0`, `-1e3`, `null`, `""`, `true`, `[1]`, `{"a":1}`, `"` + strings.Repeat("x", 200) + `"`, ``, `"\u00e9\ud83d\ude00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !gjson.ValidBytes(data) {
			return
		}
		v := gjson.ParseBytes(data)
		c, err := ClusterOf(v)
		if err != nil {
			if v.Type == gjson.String || v.Type == gjson.Number || !Present(v) {
				t.Fatalf("%s: %v", data, err)
			}
			return
		}
		if (c == "") != (!Present(v) || v.String() == "") {
			t.Fatalf("%s: cluster %q", data, c)
		}
		if len(c) > MaxCluster {
			t.Fatalf("%s: cluster of %d bytes", data, len(c))
		}
		if s := v.String(); len(s) <= MaxCluster && c != s {
			t.Fatalf("%s: cluster %q, want %q", data, c, s)
		}
		if again, _ := ClusterOf(gjson.ParseBytes(bytes.Clone(data))); again != c {
			t.Fatalf("%s: %q then %q", data, c, again)
		}
	})
}
