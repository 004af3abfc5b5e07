package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// PutDataset uploads a dataset to the assay_datasets object store and
// returns its name there, derived from its content: the same file is stored
// once, and a changed file never reuses an old name. Suites travel to ingest
// this way, so ingest can run on another machine. desc (the file's path)
// is kept as the object's description.
func (b *Bus) PutDataset(ctx context.Context, desc string, r io.ReadSeeker) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("reading dataset %s: %w", desc, err)
	}
	sum := h.Sum(nil)
	name := "sha256/" + hex.EncodeToString(sum)
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("reading dataset %s: %w", desc, err)
	}
	if err := putContent(ctx, b.Datasets, jetstream.ObjectMeta{Name: name, Description: desc}, sum, r); err != nil {
		return "", fmt.Errorf("uploading dataset %s: %w", desc, err)
	}
	return name, nil
}

// OpenDataset copies a dataset from the object store into a temporary
// file and returns it, read from its start; closing it removes the file.
// A copy whose content is not what the name says is refused with
// [ErrIntegrity].
//
// A dataset is not streamed from the store while it is parsed: a streamed
// read must be given its deadline when it starts, and the time a suite
// takes to parse and publish has nothing to do with its size on the wire
// (given none, the client's default of 5 seconds failed every suite of
// more than some tens of thousands of samples). The copy takes the time
// its size calls for, with a deadline from that size and another attempt
// when it stalls (see [ReadObject]); parsing then reads a local file, as
// slowly as it needs.
func (b *Bus) OpenDataset(ctx context.Context, name string) (io.ReadCloser, error) {
	return spoolObject(ctx, b.Datasets, name, objectStall)
}

func spoolObject(ctx context.Context, store objectGetter, name string, stall time.Duration) (io.ReadCloser, error) {
	f, err := os.CreateTemp("", "assay-dataset-*")
	if err != nil {
		return nil, fmt.Errorf("fetching dataset %s: %w", name, err)
	}
	spool := &spooled{f}
	err = copyObject(ctx, store, name, stall, func() (io.Writer, error) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return f, f.Truncate(0)
	})
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		spool.Close()
		return nil, fmt.Errorf("fetching dataset %s: %w", name, err)
	}
	return spool, nil
}

// spooled is a dataset's local copy, removed when it is closed.
type spooled struct{ *os.File }

func (s *spooled) Close() error {
	err := s.File.Close()
	if rerr := os.Remove(s.Name()); err == nil {
		err = rerr
	}
	return err
}

// IngestProgress is how far ingest has published a run's suites. It is
// recorded as ingest goes, so that an ingest retried after a failure
// resumes where it stopped: it reads its suites again (cheap), but
// publishes only what the stream does not hold yet (each sample published
// again would be answered again once out of the duplicate window).
type IngestProgress struct {
	// Published counts each suite's samples published and acknowledged,
	// in the order ingest reads them; a sample's robustness copies go
	// with it.
	Published map[string]int `json:"published"`
	// Seq is the samples stream's last sequence when Published was
	// counted: what was published after the record is in the stream
	// after Seq (see [Bus.SamplesSince]).
	Seq uint64 `json:"seq"`
}
