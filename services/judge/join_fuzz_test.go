package judge

import "testing"

// FuzzGenRecord: a generation record reads back as written, and anything
// else is refused or read as some record, never a panic.
func FuzzGenRecord(f *testing.F) {
	for _, seed := range []string{"12", "12|3", "0|0", "|", "12|", "x|1", "12|-1", "18446744073709551615|2"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rec string) {
		seq, retry, err := parseGenRecord(rec)
		if err != nil {
			return
		}
		if seq2, retry2, err := parseGenRecord(string(genRecord(seq, retry))); err != nil || seq2 != seq || retry2 != retry {
			t.Errorf("%q read as (%d, %d), which reads back as (%d, %d, %v)", rec, seq, retry, seq2, retry2, err)
		}
	})
}
