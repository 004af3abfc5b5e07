package bus_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// lockedBuffer is a log destination safe for the client's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// grantServer starts a server with assay's grants for ids, and opens the
// topology as admin.
func grantServer(t *testing.T, ids ...string) *natsembed.Server {
	t.Helper()
	perms := func(id, pub string) *server.Permissions {
		g := bus.Grants(bus.Inbox(pub))[id]
		return natsembed.Permissions(g.Publish, g.Subscribe, g.Respond)
	}
	srv, err := natsembed.Start(natsembed.Options{Dir: t.TempDir(), Auth: &natsembed.Auth{Identities: append(ids, bus.IdentityAdmin), Permissions: perms}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	admin, err := bus.Connect(t.Context(), bus.ClientConfig{URL: srv.ClientURL(), NKey: srv.SeedFile(bus.IdentityAdmin), Name: "assay-admin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	if _, err := bus.Open(t.Context(), admin, bus.Options{}); err != nil {
		t.Fatal(err)
	}
	return srv
}

// openAs opens the topology on srv as identity id, logging to logger.
func openAs(t *testing.T, srv *natsembed.Server, id string, logger *slog.Logger) *bus.Bus {
	t.Helper()
	nc, err := bus.Connect(t.Context(), bus.ClientConfig{URL: srv.ClientURL(), NKey: srv.SeedFile(id), Name: "assay-" + id}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b, err := bus.Open(t.Context(), nc, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCacheKeySpacesEnforced: infer, the judge stage and the score stage
// (embeddings) each write their own key space of the LLM cache, where
// their scopes put their keys; the judge identity putting an answer under
// infer's key is refused by the server, and the refusal is logged with the
// connection's name.
func TestCacheKeySpacesEnforced(t *testing.T) {
	srv := grantServer(t, bus.StageInfer, bus.StageJudge, bus.StageScore)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	infer, judge, score := openAs(t, srv, bus.StageInfer, logger), openAs(t, srv, bus.StageJudge, logger), openAs(t, srv, bus.StageScore, logger)
	req := llm.ChatRequest{Model: "m"}
	genKey := llm.CacheKey("gen|run|ft", req)
	judgeKey := llm.CacheKey("judge|0123abcd", req)
	embedKey := llm.EmbedKey("http://embed:8000/v1", llm.EmbedOptions{Model: "e5"}, false, "a text")
	if !strings.HasPrefix(genKey, bus.CacheSpaceInfer+".") || !strings.HasPrefix(judgeKey, bus.CacheSpaceJudge+".") || !strings.HasPrefix(embedKey, bus.CacheSpaceEmbed+".") {
		t.Fatalf("keys %s, %s and %s are not in the stages' key spaces", genKey, judgeKey, embedKey)
	}
	// A put that must succeed gets a generous bound (a slow ack on a busy
	// machine is not a refusal); a refused one fails fast anyway.
	put := func(b *bus.Bus, key string, wait time.Duration) error {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		return b.LLMCache().Put(ctx, key, []byte(`{"output":"x"}`))
	}
	for _, ok := range []struct {
		b   *bus.Bus
		key string
	}{{infer, genKey}, {infer, llm.FailureKey(genKey)}, {judge, judgeKey}, {score, embedKey}} {
		if err := put(ok.b, ok.key, 15*time.Second); err != nil {
			t.Fatalf("a stage writing its own key %s: %v", ok.key, err)
		}
	}
	if err := put(judge, genKey, 2*time.Second); err == nil {
		t.Fatal("the judge identity overwrote infer's answer")
	}
	if err := put(infer, judgeKey, 2*time.Second); err == nil {
		t.Fatal("the infer identity overwrote the judge's answer")
	}
	if err := put(score, genKey, 2*time.Second); err == nil {
		t.Fatal("the score identity overwrote infer's answer")
	}
	if err := put(infer, embedKey, 2*time.Second); err == nil {
		t.Fatal("the infer identity overwrote an embedding")
	}
	bustest.Eventually(t, 10*time.Second, func() error {
		l := logs.String()
		if strings.Contains(l, "grant does not allow it") && strings.Contains(l, "conn=assay-judge") && strings.Contains(l, "assay_llm_cache."+genKey) {
			return nil
		}
		return fmt.Errorf("no log line for the refused publish in:\n%s", l)
	})
	if strings.Contains(logs.String(), "SU") && strings.Contains(logs.String(), "seed") {
		t.Fatal("the logs may show a seed")
	}
}

// TestCacheTellsWhetherItHoldsLegacyKeys: infer's identity may ask the
// cache whether it holds keys from before the split (a hash alone, or a
// hash and .failed); keys of the key spaces, answers or failures, are not
// such keys.
func TestCacheTellsWhetherItHoldsLegacyKeys(t *testing.T) {
	srv := grantServer(t, bus.StageInfer)
	admin, infer := openAs(t, srv, bus.IdentityAdmin, nil), openAs(t, srv, bus.StageInfer, nil)
	sum := strings.Repeat("ab", 32)
	holds := func(want bool) {
		t.Helper()
		got, err := infer.LLMCache().HoldsLegacy(t.Context())
		if err != nil || got != want {
			t.Fatalf("HoldsLegacy = %v, %v; want %v", got, err, want)
		}
	}
	holds(false)
	for _, k := range []string{bus.CacheSpaceInfer + "." + sum, llm.FailureKey(bus.CacheSpaceJudge + "." + sum)} {
		if _, err := admin.Cache.Put(t.Context(), k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	holds(false)
	for _, k := range []string{sum, llm.FailureKey(sum)} {
		if _, err := admin.Cache.Put(t.Context(), k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		holds(true)
		// Gone, as the cache's TTL removes it.
		s, err := admin.JS.Stream(t.Context(), "KV_"+bus.BucketLLMCache)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Purge(t.Context(), jetstream.WithPurgeSubject("$KV."+bus.BucketLLMCache+"."+k)); err != nil {
			t.Fatal(err)
		}
		holds(false)
	}
}
