package bus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/natsembed"
)

// TestGetMsgs: a batched read of many sequences gives, for each, what a
// read of that one message gives — its payload (fetched from the object
// store when it travelled by reference), or not found when it was deleted
// or was never stored — across spans, gaps, other runs' messages between
// the wanted ones, batches cut short by the server's byte limit, and the
// end of the stream.
func TestGetMsgs(t *testing.T) {
	s, err := natsembed.Start(natsembed.Options{Dir: t.TempDir(), MaxPayload: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	b := bustest.Open(t, s)
	ctx := t.Context()
	var seqs []uint64
	payload := map[uint64]string{}
	for i := range 3000 {
		run := "a"
		if i%3 == 2 {
			run = "b" // another run's samples between the wanted ones
		}
		text := fmt.Sprintf(`{"i": %d}`, i)
		switch {
		case i%500 == 7:
			// Large: stored by reference in the object store.
			text = fmt.Sprintf(`{"i": %d, "pad": %q}`, i, strings.Repeat("x", 100<<10))
		case i >= 1200 && i < 1300:
			// Together 8 MB and more: the server ends batches early.
			text = fmt.Sprintf(`{"i": %d, "pad": %q}`, i, strings.Repeat("y", 90<<10))
		}
		ack, err := b.PublishData(ctx, bus.SamplesSubject(run, "qa"), bus.SampleMsgID(run, "qa", fmt.Sprint("q", i)), []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
		payload[ack.Sequence] = text
	}
	stream := b.Stream(bus.StreamSamples)
	deleted := map[uint64]bool{}
	for _, i := range []int{0, 10, 11, 12, 400, 1250, 2999} {
		if err := stream.DeleteMsg(ctx, seqs[i]); err != nil {
			t.Fatal(err)
		}
		deleted[seqs[i]] = true
	}
	last := seqs[len(seqs)-1]
	for _, c := range []struct {
		name string
		want []uint64
	}{
		{"every message", seqs},
		{"run a only", filter(seqs, func(i int) bool { return i%3 != 2 })},
		{"sparse", filter(seqs, func(i int) bool { return i%97 == 0 || i%101 == 0 })},
		{"one", []uint64{seqs[1500]}},
		{"deleted only", []uint64{seqs[10], seqs[11], seqs[12]}},
		{"the large ones", filter(seqs, func(i int) bool { return i >= 1150 && i < 1350 })},
		{"past the end", []uint64{seqs[2990], last, last + 1, last + 500}},
		{"none", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []uint64
			err := b.GetMsgs(ctx, bus.StreamSamples, c.want, func(seq uint64, data []byte, err error) {
				got = append(got, seq)
				switch {
				case deleted[seq] || payload[seq] == "":
					if !errors.Is(err, bus.ErrNotFound) {
						t.Errorf("message %d (gone): data %.20q, err %v; want not found", seq, data, err)
					}
				case err != nil:
					t.Errorf("message %d: %v", seq, err)
				case string(data) != payload[seq]:
					t.Errorf("message %d: got %.40q, want %.40q", seq, data, payload[seq])
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("called for %d sequences, want the %d asked for, in order", len(got), len(c.want))
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := b.GetMsgs(cctx, bus.StreamSamples, seqs, func(uint64, []byte, error) {}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func filter(seqs []uint64, keep func(i int) bool) []uint64 {
	var out []uint64
	for i, s := range seqs {
		if keep(i) {
			out = append(out, s)
		}
	}
	return out
}
