package bus

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseRetryMsgID: a message id read from a stream (anyone who may
// publish on a subject chooses it) never panics the parser, and an id
// built by RetryMsgID is read back as built.
func FuzzParseRetryMsgID(f *testing.F) {
	for _, s := range []string{"infer|r|ft|qa|q1", "infer|r|ft|qa|q1|retry2", "judge|r|j|ft|qa|q1|retry0.1.3", "x|retry", "x|retry-1", "|retry1.", "a|retry9999999999999999999999"} {
		f.Add(s, 1, 0)
	}
	f.Fuzz(func(t *testing.T, id string, a, b int) {
		base, attempts := ParseRetryMsgID(id)
		if !strings.HasPrefix(id, base) || slices.ContainsFunc(attempts, func(n int) bool { return n < 0 }) {
			t.Fatalf("ParseRetryMsgID(%q) = %q, %v", id, base, attempts)
		}
		if strings.Contains(id, "|retry") || a < 0 || b < 0 {
			return
		}
		got, n := ParseRetryMsgID(RetryMsgID(id, a, b))
		if a == 0 && b == 0 {
			if got != id || n != nil {
				t.Fatalf("an id without retries read back as %q, %v", got, n)
			}
			return
		}
		if got != id || !slices.Equal(n, []int{a, b}) {
			t.Fatalf("RetryMsgID(%q, %d, %d) read back as %q, %v", id, a, b, got, n)
		}
	})
}

// FuzzParseSampleMsgID: a sample's message id is read back as built, and
// no other id parses as one of another run's or suite's.
func FuzzParseSampleMsgID(f *testing.F) {
	f.Add("r", "qa", "q1", "ingest|r|qa|q1")
	f.Add("r", "qa", "", "ingest|r|qa|")
	f.Fuzz(func(t *testing.T, run, suite, id, msgID string) {
		got, ok := ParseSampleMsgID(run, suite, msgID)
		if ok && (got == "" || SampleMsgID(run, suite, got) != msgID) {
			t.Fatalf("ParseSampleMsgID(%q, %q, %q) = %q", run, suite, msgID, got)
		}
		if id == "" {
			return
		}
		if got, ok := ParseSampleMsgID(run, suite, SampleMsgID(run, suite, id)); !ok || got != id {
			t.Fatalf("sample id %q read back as %q, %v", id, got, ok)
		}
	})
}
