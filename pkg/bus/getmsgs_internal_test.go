package bus

import "testing"

// TestBatchGetsByVersion: batched direct gets are asked of nats-server
// 2.11 and later only; an older server, or a version that does not parse,
// is read a message at a time.
func TestBatchGetsByVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"2.15.2": true, "2.11.0": true, "v2.12.1": true, "3.0.0": true, "2.11.0-beta.1": true,
		"2.10.29": false, "2.9.0": false, "1.4.1": false, "": false, "dev": false,
	} {
		if got := batchGets(v); got != want {
			t.Errorf("batchGets(%q) = %v, want %v", v, got, want)
		}
	}
}
