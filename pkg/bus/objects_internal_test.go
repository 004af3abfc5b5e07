package bus

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats.go/jetstream"
)

// openBus is bustest.New, which this package's own tests cannot import.
func openBus(t *testing.T) *Bus {
	t.Helper()
	s, err := natsembed.Start(natsembed.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b, err := Open(t.Context(), nc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stallingStore loses its object to a replacement on the first stalls
// reads: they wait for chunks that never come, as the real client does,
// until their deadline.
type stallingStore struct {
	stalls, reads int
	data          []byte
}

func (s *stallingStore) GetInfo(ctx context.Context, name string, _ ...jetstream.GetObjectInfoOpt) (*jetstream.ObjectInfo, error) {
	if name != "r" {
		return nil, jetstream.ErrObjectNotFound
	}
	return &jetstream.ObjectInfo{Size: uint64(len(s.data))}, nil
}

func (s *stallingStore) GetBytes(ctx context.Context, name string, _ ...jetstream.GetObjectOpt) ([]byte, error) {
	s.reads++
	if s.reads <= s.stalls {
		<-ctx.Done()
		return nil, errors.New("nats: timeout")
	}
	return s.data, nil
}

func TestReadObjectRetriesAStalledRead(t *testing.T) {
	s := &stallingStore{stalls: 2, data: []byte("report")}
	start := time.Now()
	got, err := readObject(t.Context(), s, "r", 50*time.Millisecond)
	if err != nil || string(got) != "report" || s.reads != 3 {
		t.Fatalf("got %q, %v after %d reads", got, err, s.reads)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestReadObjectGivesUp(t *testing.T) {
	s := &stallingStore{stalls: 100, data: []byte("report")}
	_, err := readObject(t.Context(), s, "r", 10*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "replaced while being read") || s.reads != objectAttempts {
		t.Fatalf("err %v after %d reads", err, s.reads)
	}
}

func TestReadObjectKeepsOtherErrors(t *testing.T) {
	s := &stallingStore{data: []byte("x")}
	if _, err := readObject(t.Context(), s, "missing", time.Second); !errors.Is(err, jetstream.ErrObjectNotFound) || s.reads != 0 {
		t.Errorf("missing object: %v after %d reads", err, s.reads)
	}
	// The caller's own deadline is not a stall: no retry.
	s = &stallingStore{stalls: 100, data: []byte("x")}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	if _, err := readObject(ctx, s, "r", time.Hour); err == nil || s.reads != 1 {
		t.Errorf("caller's deadline: %v after %d reads", err, s.reads)
	}
}

// TestReadObjectWhileReplaced reads a report while it is replaced over and
// over, as a continuous run's report is: every read returns one whole
// version. (A plain GetBytes waits out its whole context on some of them.)
func TestReadObjectWhileReplaced(t *testing.T) {
	b := openBus(t)
	ctx := t.Context()
	version := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 1<<20) }
	if _, err := b.Reports.PutBytes(ctx, "r/report.json", version(0)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var writes atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := b.Reports.PutBytes(wctx, "r/report.json", version(i))
			cancel()
			if err != nil {
				t.Error(err)
				return
			}
			writes.Add(1)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(3 * time.Second)
	reads := 0
	for time.Now().Before(deadline) {
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		data, err := readObject(rctx, b.Reports, "r/report.json", time.Second)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(data) != 1<<20 || bytes.Count(data, data[:1]) != len(data) {
			t.Fatalf("read %d bytes, not one whole version", len(data))
		}
		reads++
	}
	close(stop)
	wg.Wait()
	if reads == 0 || writes.Load() < 5 {
		t.Errorf("%d reads during %d replacements", reads, writes.Load())
	}
	t.Logf("%d reads during %d replacements", reads, writes.Load())
}
