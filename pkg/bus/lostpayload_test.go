package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/natsembed"
)

// TestLostPayloadDeadLetteredAtOnce: a message whose large payload was
// replaced in the object store can never be read; the stage dead-letters
// it on its first delivery, naming the sample from the message id, instead
// of redelivering it until MaxDeliver and writing a letter nobody can tie
// to a sample.
func TestLostPayloadDeadLetteredAtOnce(t *testing.T) {
	s, err := natsembed.Start(natsembed.Options{Dir: t.TempDir(), MaxPayload: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	b := bustest.Open(t, s)
	ctx := t.Context()
	const run = "lost"
	data := []byte(`{"pad": "` + strings.Repeat("a", 100<<10) + `"}`)
	ack, err := b.PublishData(ctx, bus.SamplesSubject(run, "qa"), bus.SampleMsgID(run, "qa", "q7"), data)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := b.Stream(bus.StreamSamples).GetMsg(ctx, ack.Sequence)
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
	c := consumer(t, b, run, jetstream.ConsumerConfig{MaxDeliver: 50})
	var calls atomic.Int32
	consume(t, b, c, func(context.Context, *bus.Msg) error {
		calls.Add(1)
		return nil
	})
	bustest.Eventually(t, 20*time.Second, func() error {
		dl := deadLetters(t, b)
		if len(dl) != 1 {
			return fmt.Errorf("%d dead letters", len(dl))
		}
		if d := dl[0]; d.Run != run || d.Suite != "qa" || d.Sample != "q7" || !strings.Contains(d.Reason, bus.ErrIntegrity.Error()) {
			t.Fatalf("dead letter %+v: want run %s, suite qa, sample q7 and the integrity failure", d, run)
		}
		return nil
	})
	if n := calls.Load(); n != 0 {
		t.Fatalf("the handler ran %d times on a payload that could not be read", n)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 {
		t.Fatalf("%d redeliveries: the lost payload was retried", info.NumRedelivered)
	}
}

func TestMsgIDKeys(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bus.Keys
	}{
		{bus.MsgID(bus.StageInfer, "r", "v", "s", "q"), bus.Keys{Run: "r", Variant: "v", Suite: "s", Sample: "q"}},
		{bus.RetryMsgID(bus.MsgID(bus.StageScore, "r", "exact", "v", "s", "q"), 2), bus.Keys{Run: "r", Variant: "v", Suite: "s", Sample: "q"}},
		{bus.MsgID(bus.StageJudge, "r", "j1", "cand", "s", "q"), bus.Keys{Run: "r", Variant: "cand", Suite: "s", Sample: "q"}},
		{bus.SampleMsgID("r", "s", "q"), bus.Keys{Run: "r", Suite: "s", Sample: "q"}},
		{"dlq|score", bus.Keys{Run: "score"}},
		{"", bus.Keys{}},
	} {
		if got := bus.MsgIDKeys(tc.id); got != tc.want {
			t.Errorf("MsgIDKeys(%q) = %+v, want %+v", tc.id, got, tc.want)
		}
	}
	if !bus.PayloadLost(fmt.Errorf("x: %w", bus.ErrIntegrity)) || !bus.PayloadLost(jetstream.ErrObjectNotFound) || bus.PayloadLost(errors.New("timeout")) {
		t.Fatal("PayloadLost misjudges")
	}
}
