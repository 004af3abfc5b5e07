package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats.go/jetstream"
)

// TestClaimSeenExpires: a query's claim is refused again while it lives
// and gone once its TTL has passed, on a new bucket and on one an older
// version created without per-key TTLs.
func TestClaimSeenExpires(t *testing.T) {
	for _, older := range []bool{false, true} {
		t.Run(map[bool]string{false: "new bucket", true: "older bucket"}[older], func(t *testing.T) {
			s := bustest.Server(t)
			b := bustest.Open(t, s)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if older {
				if err := b.JS.DeleteKeyValue(ctx, bus.BucketSeen); err != nil {
					t.Fatal(err)
				}
				if _, err := b.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bus.BucketSeen, History: 1, TTL: 8 * 24 * time.Hour}); err != nil {
					t.Fatal(err)
				}
				b = bustest.Open(t, s)
			}
			if err := b.ClaimSeen(ctx, "run.1.kept", []byte("1"), time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := b.ClaimSeen(ctx, "run.1.kept", []byte("2"), time.Hour); !errors.Is(err, jetstream.ErrKeyExists) {
				t.Fatalf("a repeat within the TTL: %v, want ErrKeyExists", err)
			}
			if err := b.ClaimSeen(ctx, "run.1.short", []byte("3"), time.Second); err != nil {
				t.Fatal(err)
			}
			bustest.Eventually(t, 30*time.Second, func() error {
				if _, err := b.Seen.Get(ctx, "run.1.short"); !errors.Is(err, jetstream.ErrKeyNotFound) {
					return errors.New("a key past its TTL is still there")
				}
				return nil
			})
			if err := b.ClaimSeen(ctx, "run.1.short", []byte("4"), time.Hour); err != nil {
				t.Fatalf("claiming again after the TTL: %v", err)
			}
			if e, err := b.Seen.Get(ctx, "run.1.kept"); err != nil || string(e.Value()) != "1" {
				t.Fatalf("the long-lived key: %v", err)
			}
		})
	}
}
