package bus_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats.go"
)

// blackhole forwards TCP connections to target until cut, then keeps
// them open but forwards nothing, as a server cut off from the network
// looks to its clients.
type blackhole struct {
	ln  net.Listener
	cut atomic.Bool
	mu  sync.Mutex
	all []net.Conn
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &blackhole{ln: ln}
	t.Cleanup(func() {
		ln.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, c := range h.all {
			c.Close()
		}
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			if h.cut.Load() {
				// Accepted, never answered.
				h.keep(in)
				continue
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			h.keep(in, out)
			go h.pipe(in, out)
			go h.pipe(out, in)
		}
	}()
	return h
}

func (h *blackhole) keep(cs ...net.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.all = append(h.all, cs...)
}

// pipe copies from src to dst until the hole is cut; then it reads and
// drops what src sends.
func (h *blackhole) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if h.cut.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (h *blackhole) url() string { return "nats://" + h.ln.Addr().String() }

// TestConnectLeavesAServerThatStopsAnswering: a connection whose server
// stops answering without closing it (a node cut off from the network) is
// given up for another server of the URL list within about half a minute,
// not the four to six minutes of nats.go's default pings.
func TestConnectLeavesAServerThatStopsAnswering(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for unanswered pings")
	}
	a, b := bustest.Server(t), bustest.Server(t)
	hole := newBlackhole(t, strings.TrimPrefix(a.ClientURL(), "nats://"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The hole first, in order, so that the client connects through it.
	nc, err := bus.Connect(ctx, bus.ClientConfig{URL: hole.url() + "," + b.ClientURL(), Wait: 10 * time.Second}, nil, nats.DontRandomize())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if u := nc.ConnectedUrl(); u != hole.url() {
		t.Fatalf("connected to %s, want %s", u, hole.url())
	}
	hole.cut.Store(true)
	cut := time.Now()
	// Deadline well under nats.go's default (2 minutes × 2 pings out).
	bustest.Eventually(t, 75*time.Second, func() error {
		if u := nc.ConnectedUrl(); u != b.ClientURL() || !nc.IsConnected() {
			return fmt.Errorf("still on %s (connected %v) %v after the cut", u, nc.IsConnected(), time.Since(cut).Round(time.Second))
		}
		return nil
	})
	t.Logf("reconnected to the other server %v after the cut", time.Since(cut).Round(time.Second))
}
