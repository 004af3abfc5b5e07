package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// TestOpenWaitsForAFormingCluster starts five clients first, as `assay up`
// or a deployment starts every service at once, and then a three-node
// cluster: every client must connect, wait through the cluster's election
// and create the R3 topology, none giving up.
func TestOpenWaitsForAFormingCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	const nodes, clients = 3, 5
	ports := freePorts(t, 2*nodes)
	var urls []string
	var routes []*url.URL
	for i := range nodes {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", ports[nodes+i])})
	}
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	type result struct {
		err  error
		took time.Duration
	}
	done := make(chan result, clients)
	start := time.Now()
	for i := range clients {
		go func() {
			log := logger.With("client", i)
			nc, err := bus.Connect(ctx, bus.ClientConfig{URL: strings.Join(urls, ","), Wait: time.Minute}, log)
			if err != nil {
				done <- result{err: err}
				return
			}
			defer nc.Close()
			_, err = bus.Open(ctx, nc, bus.Options{Replicas: 3, Wait: 2 * time.Minute, Logger: log})
			done <- result{err: err, took: time.Since(start)}
		}()
	}
	bustest.Eventually(t, 20*time.Second, func() error {
		if strings.Count(logs.String(), "NATS not reachable yet") < clients {
			return errors.New("not every client has retried its connection yet")
		}
		return nil
	})
	dir := t.TempDir()
	for i := range nodes {
		s, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("form-%d", i),
			Host:       "127.0.0.1", Port: ports[i], JetStream: true,
			StoreDir: filepath.Join(dir, fmt.Sprint(i)), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "form", Host: "127.0.0.1", Port: ports[nodes+i]},
			Routes:  routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(s.Shutdown)
	}
	var slowest time.Duration
	for range clients {
		r := <-done
		if r.err != nil {
			t.Fatalf("a client gave up while the cluster formed: %v\nlogs:\n%s", r.err, logs.String())
		}
		slowest = max(slowest, r.took)
	}
	t.Logf("every client ready %v after start; %d JetStream retries logged", slowest.Round(time.Millisecond), strings.Count(logs.String(), "JetStream not ready"))
	nc, err := nats.Connect(strings.Join(urls, ","))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(ctx, bus.StreamGens)
	if err != nil {
		t.Fatal(err)
	}
	if r := s.CachedInfo().Config.Replicas; r != 3 {
		t.Errorf("%s has %d replicas, want 3", bus.StreamGens, r)
	}
}

// TestOpenFailsAtOnceOnAPermanentError: a client the server does not allow
// to use JetStream's API, or a server without JetStream, must fail in
// seconds with the reason, not retry until the start-up deadline.
func TestOpenFailsAtOnceOnAPermanentError(t *testing.T) {
	tests := []struct {
		name      string
		configure func(o *server.Options)
		inErr     string
	}{
		{
			name: "JetStream API denied",
			configure: func(o *server.Options) {
				o.Users = []*server.User{{Username: "scorer", Password: "pw", Permissions: &server.Permissions{
					Publish: &server.SubjectPermission{Deny: []string{"$JS.API.>"}},
				}}}
			},
			inErr: "permissions",
		},
		{
			name: "no JetStream",
			configure: func(o *server.Options) {
				o.JetStream = false
				o.Users = []*server.User{{Username: "scorer", Password: "pw"}}
			},
			inErr: "-js",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := authServer(t, tt.configure)
			nc, err := bus.Connect(t.Context(), bus.ClientConfig{URL: "nats://" + hostPort(s), User: "scorer", Password: "pw"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			start := time.Now()
			_, err = bus.Open(t.Context(), nc, bus.Options{Wait: 2 * time.Minute})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("error does not say %q: %v", tt.inErr, err)
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("Open took %v to give up on a permanent error", took)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"deadline", fmt.Errorf("opening stream X: %w", context.DeadlineExceeded), true},
		{"nats timeout", nats.ErrTimeout, true},
		{"no responders", nats.ErrNoResponders, true},
		{"jetstream not ready", jetstream.ErrJetStreamNotEnabled, true},
		{"no suitable peers", &jetstream.APIError{Code: 500, ErrorCode: 10005, Description: "no suitable peers for placement"}, true},
		{"temporarily unavailable", &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{"not leader", &jetstream.APIError{Code: 500, ErrorCode: 10009, Description: "JetStream cluster can not handle request"}, true},
		{"stream offline", &jetstream.APIError{Code: 500, ErrorCode: 10118, Description: "stream is offline"}, true},
		{"bad config", &jetstream.APIError{Code: 400, ErrorCode: 10052, Description: "replicas > 1 not supported in non-clustered mode"}, false},
		{"not enabled for account", jetstream.ErrJetStreamNotEnabledForAccount, false},
		{"permission", nats.ErrPermissionViolation, false},
		{"auth", nats.ErrAuthorization, false},
		{"canceled", context.Canceled, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bus.Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
