package natsembed_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestStoreSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := natsembed.Start(natsembed.Options{Dir: dir, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := js.Publish(ctx, "t.x", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	nc.Close()
	s.Shutdown()

	s, err = natsembed.Start(natsembed.Options{Dir: dir, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err = s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ = jetstream.New(nc)
	st, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 10 {
		t.Fatalf("%d messages after a restart, want 10", n)
	}
}

func TestTemporaryStoreIsRemoved(t *testing.T) {
	s, err := natsembed.Start(natsembed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatalf("a server with Port 0 must listen: %v", err)
	}
	nc.Close()
	dir := s.Dir()
	s.Shutdown()
	if _, err := natsembed.Start(natsembed.Options{Dir: dir + "/x", Port: -1}); err != nil {
		t.Fatal(err)
	}
}

// TestClusterLosesNothingWithOneNodeDown checks the promise behind R3
// streams: with one node of three gone, every stored message is still
// readable and new ones are accepted.
func TestClusterLosesNothingWithOneNodeDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	c, err := natsembed.StartCluster("assay-test", 3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatalf("creating an R3 stream: %v", err)
	}
	for i := range 100 {
		if _, err := js.Publish(ctx, "r3.x", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	// Stop the stream's leader: the worst node to lose.
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Servers {
		if s.Name() == info.Cluster.Leader {
			s.Shutdown()
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = js.Publish(pctx, "r3.x", []byte("after"))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publishing with a node down: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	info, err = st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 101 {
		t.Fatalf("%d messages with a node down, want 101", info.State.Msgs)
	}
	for seq := uint64(1); seq <= 100; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil || string(m.Data) != fmt.Sprint(seq-1) {
			t.Fatalf("message %d: %v", seq, err)
		}
	}
}

// TestDataDirectoryIsLocked: a second server on a data directory in use is
// refused, naming the holder, and the directory is free again once the
// first server stops.
func TestDataDirectoryIsLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := natsembed.Start(natsembed.Options{Dir: dir, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = natsembed.Start(natsembed.Options{Dir: dir, Port: -1})
	var le *natsembed.LockedError
	if !errors.As(err, &le) || !errors.Is(err, natsembed.ErrLocked) || le.PID != os.Getpid() || le.Dir != dir {
		t.Fatalf("a second server on %s: %v (%+v), want it refused naming process %d", dir, err, le, os.Getpid())
	}
	s.Shutdown()
	s, err = natsembed.Start(natsembed.Options{Dir: dir, Port: -1})
	if err != nil {
		t.Fatalf("after the first server stopped: %v", err)
	}
	s.Shutdown()
}

// TestFreshStartsEmpty: Fresh removes what the store held.
func TestFreshStartsEmpty(t *testing.T) {
	dir := t.TempDir()
	streams := func(o natsembed.Options, create bool) int {
		t.Helper()
		s, err := natsembed.Start(o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Shutdown()
		nc, err := s.Connect()
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		if create {
			if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage}); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		for range js.StreamNames(t.Context()).Name() {
			n++
		}
		return n
	}
	streams(natsembed.Options{Dir: dir, Port: -1}, true)
	if n := streams(natsembed.Options{Dir: dir, Port: -1}, false); n != 1 {
		t.Fatalf("%d streams after a restart, want 1", n)
	}
	if n := streams(natsembed.Options{Dir: dir, Port: -1, Fresh: true}, false); n != 0 {
		t.Fatalf("%d streams after a fresh start, want 0", n)
	}
}

// TestBusyPortIsReported: a port in use is named as such at once, rather
// than a server that never becomes ready.
func TestBusyPortIsReported(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = natsembed.Start(natsembed.Options{Dir: t.TempDir(), Port: port})
	if want := fmt.Sprintf("listen tcp 127.0.0.1:%d: bind: address already in use", port); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}
