package bus_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

func allows(patterns []string, subject string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return server.SubjectMatchesFilter(subject, p) })
}

// TestGrants: each identity may publish its own data and nothing of
// another stage's; none but admin may delete streams, none but admin and
// report purge them but for the buckets infer and judge release entries of.
func TestGrants(t *testing.T) {
	const inbox = "_INBOX_UABC"
	g := bus.Grants(inbox)
	for _, id := range bus.Identities {
		if _, ok := g[id]; !ok {
			t.Fatalf("no grant for %s", id)
		}
	}
	own := map[string]string{
		bus.StageIngest: bus.SamplesSubject("r", "qa"),
		bus.StageInfer:  bus.GensSubject("r", "base"),
		bus.StageScore:  bus.ScoresSubject("r", "base"),
		bus.StageJudge:  bus.JudgmentsSubject("r", "j"),
		bus.StageReport: bus.RunEvent("r", bus.EventCompleted),
	}
	for id, grant := range g {
		for owner, subject := range own {
			if want := owner == id || id == bus.IdentityAdmin; allows(grant.Publish, subject) != want {
				t.Errorf("%s publishing %s: allowed %v, want %v", id, subject, !want, want)
			}
		}
		for _, destructive := range []string{"$JS.API.STREAM.DELETE." + bus.StreamGens, "$JS.API.STREAM.PURGE.KV_" + bus.BucketRuns,
			"$JS.API.STREAM.MSG.DELETE." + bus.StreamGens, "$JS.API.STREAM.CREATE.X", "$JS.API.STREAM.UPDATE." + bus.StreamGens,
			"$JS.API.STREAM.DELETE.KV_" + bus.BucketRuns, "$JS.API.STREAM.MSG.DELETE.KV_" + bus.BucketRuns} {
			if allows(grant.Publish, destructive) != (id == bus.IdentityAdmin) {
				t.Errorf("%s may publish %s: %v", id, destructive, !(id == bus.IdentityAdmin))
			}
		}
		// The report folds and purges old windows of continuous runs.
		for _, s := range []string{bus.StreamSamples, bus.StreamGens, bus.StreamScores, bus.StreamJudgments} {
			report := id == bus.StageReport && (s == bus.StreamScores || s == bus.StreamJudgments)
			if want := report || id == bus.IdentityAdmin; allows(grant.Publish, "$JS.API.STREAM.PURGE."+s) != want {
				t.Errorf("%s purging %s: allowed %v, want %v", id, s, !want, want)
			}
		}
		// Stages release the KV entries they no longer need by purging
		// their subjects: infer its answers, judge its calls and joins.
		for bucket, stages := range map[string][]string{bus.BucketLLMCache: {bus.StageInfer, bus.StageJudge}, bus.BucketPairs: {bus.StageJudge}} {
			want := slices.Contains(stages, id) || id == bus.IdentityAdmin
			if allows(grant.Publish, "$JS.API.STREAM.PURGE.KV_"+bucket) != want {
				t.Errorf("%s purging %s: allowed %v, want %v", id, bucket, !want, want)
			}
		}
		if id != bus.IdentityAdmin && id != bus.IdentityIntake && allows(grant.Subscribe, "_INBOX.x") {
			t.Errorf("%s may subscribe to the shared inbox", id)
		}
		if !allows(grant.Subscribe, inbox+".x") {
			t.Errorf("%s may not subscribe to its own inbox", id)
		}
	}
	intake := g[bus.IdentityIntake]
	if !allows(intake.Publish, bus.IntakeSubject("chat")) || allows(intake.Publish, "$JS.API.STREAM.INFO."+bus.StreamSamples) ||
		allows(intake.Subscribe, bus.RunSamples("r")) {
		t.Errorf("intake grant %+v: want intake requests only", intake)
	}
	for _, status := range []string{bus.StatusKey("r")} {
		if allows(g[bus.StageScore].Publish, "$KV."+bus.BucketRuns+"."+status) {
			t.Errorf("score may write %s", status)
		}
	}
}

func writeSeed(t testing.TB, data []byte) string {
	p := filepath.Join(t.TempDir(), "id.nk")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzNKeyPublic: any seed file's content is read without panicking, and
// only a user seed gives a public key.
func FuzzNKeyPublic(f *testing.F) {
	kp, _ := nkeys.CreateUser()
	seed, _ := kp.Seed()
	f.Add(seed)
	f.Add(append([]byte("# comment\n"), append(seed, '\n')...))
	acc, _ := nkeys.CreateAccount()
	aseed, _ := acc.Seed()
	f.Add(aseed)
	f.Add([]byte("SU"))
	f.Add([]byte("-----BEGIN USER NKEY SEED-----\nSUxxx\n------END USER NKEY SEED------\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, err := bus.NKeyPublic(writeSeed(t, data))
		if err == nil && !nkeys.IsValidPublicUserKey(pub) {
			t.Fatalf("public key %q of a non-user seed", pub)
		}
	})
}

// TestOpenNeedsTopologyOrCreateRights: a stage identity opens an existing
// topology, and is told to start assay up when it is missing.
func TestOpenNeedsTopologyOrCreateRights(t *testing.T) {
	dir := t.TempDir()
	perms := func(id, pub string) *server.Permissions {
		g := bus.Grants(bus.Inbox(pub))[id]
		return natsembed.Permissions(g.Publish, g.Subscribe, g.Respond)
	}
	srv, err := natsembed.Start(natsembed.Options{Dir: dir, Port: -1, Auth: &natsembed.Auth{Identities: []string{bus.StageScore, bus.IdentityAdmin}, Permissions: perms}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	connect := func(id string) *nats.Conn {
		opts, err := bus.NKeyOptions(srv.SeedFile(id))
		if err != nil {
			t.Fatal(err)
		}
		nc, err := srv.Connect(opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	ctx := t.Context()
	if _, err := bus.Open(ctx, connect(bus.StageScore), bus.Options{Wait: 5 * time.Second}); err == nil || !strings.Contains(err.Error(), "start assay up first") {
		t.Fatalf("score opening a missing topology: %v, want to be told to start assay up", err)
	}
	if _, err := bus.Open(ctx, connect(bus.IdentityAdmin), bus.Options{}); err != nil {
		t.Fatalf("admin creating the topology: %v", err)
	}
	if _, err := bus.Open(ctx, connect(bus.StageScore), bus.Options{}); err != nil {
		t.Fatalf("score opening the topology: %v", err)
	}
}
