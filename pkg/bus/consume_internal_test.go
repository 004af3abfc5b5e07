package bus

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// beatCounter is a message that counts its InProgress calls, slowly.
type beatCounter struct {
	jetstream.Msg
	n atomic.Int32
}

func (m *beatCounter) InProgress() error {
	m.n.Add(1)
	time.Sleep(20 * time.Millisecond) // a slow server round trip
	return nil
}

// TestHeartbeatStopsForGood stops a heartbeat while a beat is in flight: no
// beat may follow, or a nak'ed message would be kept from redelivery.
func TestHeartbeatStopsForGood(t *testing.T) {
	m := &beatCounter{}
	stop := heartbeat(m, 30*time.Millisecond) // beats every 10ms
	time.Sleep(15 * time.Millisecond)         // the first beat is running
	stop()
	after := m.n.Load()
	time.Sleep(200 * time.Millisecond)
	if n := m.n.Load(); n != after {
		t.Fatalf("%d beats after stop", n-after)
	}
}
