package stage

import "testing"

// TestHandedOut: concurrency and an eighth more by default, as many more
// as asked, none when ahead is negative, and at least one message.
func TestHandedOut(t *testing.T) {
	for _, c := range []struct{ concurrency, ahead, want int }{
		{64, 0, 72}, {4, 0, 5}, {1, 0, 2}, {9, 0, 11},
		{64, 3, 67}, {64, -1, 64}, {0, -1, 1}, {0, 0, 2},
	} {
		if got := HandedOut(c.concurrency, c.ahead); got != c.want {
			t.Errorf("HandedOut(%d, %d) = %d, want %d", c.concurrency, c.ahead, got, c.want)
		}
	}
}
