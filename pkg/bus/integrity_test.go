package bus_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/natsembed"
)

// TestReplacedDatasetRefused: a dataset put again with the same content
// is not written again; one replaced under its name by other content is
// refused on read, naming the object; putting the real file again puts it
// back.
func TestReplacedDatasetRefused(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	good := []byte(`{"id": "q1", "prompt": "Gold?", "reference": ["Au"]}` + "\n")
	name, err := b.PutDataset(ctx, "qa.jsonl", bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	before, err := b.Datasets.GetInfo(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := b.PutDataset(ctx, "qa.jsonl", bytes.NewReader(good)); err != nil || again != name {
		t.Fatalf("put again: %q %v", again, err)
	}
	if after, err := b.Datasets.GetInfo(ctx, name); err != nil || after.NUID != before.NUID {
		t.Fatalf("putting the same content again replaced the object (%v)", err)
	}

	if _, err := b.Datasets.PutBytes(ctx, name, []byte(`{"id": "q1", "prompt": "Gold?", "reference": ["Silver"]}`+"\n")); err != nil {
		t.Fatal(err)
	}
	_, err = b.OpenDataset(ctx, name)
	if !errors.Is(err, bus.ErrIntegrity) || !strings.Contains(err.Error(), name) {
		t.Fatalf("reading the replaced dataset: %v, want %v naming %s", err, bus.ErrIntegrity, name)
	}

	if _, err := b.PutDataset(ctx, "qa.jsonl", bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	r, err := b.OpenDataset(ctx, name)
	if err != nil {
		t.Fatalf("after putting the real file again: %v", err)
	}
	defer r.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(r); err != nil || !bytes.Equal(got.Bytes(), good) {
		t.Fatalf("read %q %v", got.Bytes(), err)
	}
}

// TestReplacedBlobRefused: a large payload travels through the blob store
// by its content's name; replaced there by other content, the message's
// payload is refused instead of read.
func TestReplacedBlobRefused(t *testing.T) {
	s, err := natsembed.Start(natsembed.Options{Dir: t.TempDir(), MaxPayload: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	b := bustest.Open(t, s)
	ctx := t.Context()
	data := []byte(`{"pad": "` + strings.Repeat("a", 100<<10) + `"}`)
	ack, err := b.PublishData(ctx, bus.DLQSubject("ingest", "r1"), "big-1", data)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.GetMsg(ctx, bus.StreamDLQ, ack.Sequence); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("reading the large payload: %v", err)
	}
	raw, err := b.JS.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := raw.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	ref := msg.Header.Get(bus.RefHeader)
	if ref == "" {
		t.Fatal("the payload did not travel by reference")
	}
	if _, err := b.Blobs.PutBytes(ctx, ref, []byte(`{"pad": "forged"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetMsg(ctx, bus.StreamDLQ, ack.Sequence); !errors.Is(err, bus.ErrIntegrity) || !strings.Contains(err.Error(), ref) {
		t.Fatalf("reading the replaced payload: %v, want %v naming %s", err, bus.ErrIntegrity, ref)
	}
}
