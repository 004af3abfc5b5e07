package bus

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
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
// reads: they get the first cut bytes of it, then wait for chunks that
// never come, as the real client does, until their deadline.
type stallingStore struct {
	stalls, reads int
	cut           int
	data          []byte
	// infoStalls is how many info requests go unanswered first.
	infoStalls, infos int
}

func (s *stallingStore) GetInfo(ctx context.Context, name string, _ ...jetstream.GetObjectInfoOpt) (*jetstream.ObjectInfo, error) {
	if name != "r" {
		return nil, jetstream.ErrObjectNotFound
	}
	if s.infos++; s.infos <= s.infoStalls {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &jetstream.ObjectInfo{Size: uint64(len(s.data))}, nil
}

func (s *stallingStore) Get(ctx context.Context, name string, _ ...jetstream.GetObjectOpt) (jetstream.ObjectResult, error) {
	s.reads++
	r := &stallingResult{ctx: ctx, data: s.data}
	if s.reads <= s.stalls {
		r.data, r.stall = s.data[:s.cut], true
	}
	return r, nil
}

type stallingResult struct {
	jetstream.ObjectResult
	ctx   context.Context
	data  []byte
	stall bool
}

func (r *stallingResult) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	if r.stall {
		<-r.ctx.Done()
		return 0, errors.New("nats: timeout")
	}
	return 0, io.EOF
}

func (r *stallingResult) Close() error { return nil }

func TestReadObjectRetriesAStalledRead(t *testing.T) {
	s := &stallingStore{stalls: 2, cut: 3, data: []byte("report")}
	start := time.Now()
	got, err := readObject(t.Context(), s, "r", 50*time.Millisecond)
	if err != nil || string(got) != "report" || s.reads != 3 {
		t.Fatalf("got %q, %v after %d reads", got, err, s.reads)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestReadObjectRetriesAnUnansweredInfo: an info request nobody answers
// (the connection's server cut off, the client not yet moved to another)
// is retried as a stalled read is.
func TestReadObjectRetriesAnUnansweredInfo(t *testing.T) {
	s := &stallingStore{infoStalls: 2, data: []byte("report")}
	got, err := readObject(t.Context(), s, "r", 50*time.Millisecond)
	if err != nil || string(got) != "report" || s.infos != 3 {
		t.Fatalf("got %q, %v after %d info requests", got, err, s.infos)
	}
}

func TestReadObjectGivesUp(t *testing.T) {
	s := &stallingStore{stalls: 100, data: []byte("report")}
	_, err := readObject(t.Context(), s, "r", 10*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "replaced while being read, or the connection stalled") || s.reads != objectAttempts {
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

// TestSpoolRestartsAStalledCopy: a copy that stalls half way starts again
// from an empty file, and the spool holds the object once, whole.
func TestSpoolRestartsAStalledCopy(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	data := []byte(strings.Repeat("0123456789", 1000))
	s := &stallingStore{stalls: 2, cut: len(data) / 2, data: data}
	r, err := spoolObject(t.Context(), s, "r", 50*time.Millisecond)
	if err != nil || s.reads != 3 {
		t.Fatalf("spool: %v after %d reads", err, s.reads)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (%v), want the %d of the object", len(got), err, len(data))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(os.TempDir()); len(left) != 0 {
		t.Errorf("closing left %v", left)
	}
}

func TestSpoolFailures(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	s := &stallingStore{stalls: 100, cut: 3, data: []byte("dataset")}
	if _, err := spoolObject(t.Context(), s, "r", 10*time.Millisecond); err == nil || !strings.Contains(err.Error(), "fetching dataset r: reading r: it stopped arriving") ||
		s.reads != objectAttempts {
		t.Errorf("stalling: %v after %d reads", err, s.reads)
	}
	if _, err := spoolObject(t.Context(), s, "missing", time.Second); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Errorf("missing: %v", err)
	}
	if left, _ := os.ReadDir(os.TempDir()); len(left) != 0 {
		t.Errorf("failures left %v", left)
	}
}

// TestOpenDatasetTakesTheTimeItsSizeNeeds: the client's default timeout
// bounds a read given no deadline of its own, however large the object.
// Here it is a millisecond, far less than the object takes to arrive,
// and the dataset is read whole.
func TestOpenDatasetTakesTheTimeItsSizeNeeds(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	b := openBus(t)
	data := bytes.Repeat([]byte(`{"prompt": "a question", "reference": "an answer"}`+"\n"), 1<<16)
	name, err := b.PutDataset(t.Context(), "big.jsonl", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(b.NC, jetstream.WithDefaultTimeout(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if b.Datasets, err = js.ObjectStore(ctx, StoreDatasets); err != nil {
		t.Fatal(err)
	}
	// A streamed read fails, as it did.
	if r, err := b.Datasets.Get(context.Background(), name); err == nil {
		_, err = io.Copy(io.Discard, r)
		r.Close()
		if err == nil {
			t.Log("a streamed read beat the 1 ms default: the machine is fast, the test proves less")
		}
	}
	r, err := b.OpenDataset(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d of %d bytes: %v", len(got), len(data), err)
	}
}
