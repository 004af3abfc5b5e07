package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

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
	name := "sha256/" + hex.EncodeToString(h.Sum(nil))
	if _, err := b.Datasets.GetInfo(ctx, name); err == nil {
		return name, nil
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("reading dataset %s: %w", desc, err)
	}
	if _, err := b.Datasets.Put(ctx, jetstream.ObjectMeta{Name: name, Description: desc}, r); err != nil {
		return "", fmt.Errorf("uploading dataset %s: %w", desc, err)
	}
	return name, nil
}

// OpenDataset streams a dataset from the object store.
func (b *Bus) OpenDataset(ctx context.Context, name string) (io.ReadCloser, error) {
	r, err := b.Datasets.Get(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("opening dataset %s: %w", name, err)
	}
	return r, nil
}
