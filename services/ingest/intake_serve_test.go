package ingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
)

// startIntake serves the intake on a loopback port with cfg (test tokens
// unless cfg has its own or is insecure) and returns its base URL.
func startIntake(t *testing.T, cfg IntakeConfig) (*Service, *bus.Bus, string) {
	t.Helper()
	if cfg.Tokens.Len() == 0 && !cfg.Insecure {
		cfg.Tokens = testTokens(t)
	}
	s, b := newIntakeWith(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serveIntake(ctx, "127.0.0.1:0") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveIntake: %v", err)
		}
	})
	bustest.Eventually(t, 10*time.Second, func() error {
		if s.IntakeAddr() == "" {
			return errors.New("not listening yet")
		}
		return nil
	})
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	return s, b, scheme + "://" + s.IntakeAddr() + "/v1/intake/"
}

// postQuery posts body to url with token (none when "") and returns the
// status, the decoded reply and the response's headers.
func postQuery(t *testing.T, c *http.Client, url, token string, body io.Reader) (int, IntakeReply, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var r IntakeReply
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: reply %q is not JSON: %v", resp.Status, data, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return resp.StatusCode, r, resp.Header
}

func TestIntakeRequiresToken(t *testing.T) {
	_, b, url := startIntake(t, IntakeConfig{})
	const q = `{"query":"where is my parcel?"}`
	for _, tc := range []struct {
		name, source, header string
		want                 int
	}{
		{"no token", "chat", "", http.StatusUnauthorized},
		{"wrong token", "chat", "Bearer not-the-token-0123456789", http.StatusUnauthorized},
		{"another source's token", "chat", "Bearer " + otherToken, http.StatusUnauthorized},
		{"token for an unknown source", "web", "Bearer " + testToken, http.StatusUnauthorized},
		{"basic scheme", "chat", "Basic " + testToken, http.StatusUnauthorized},
		{"empty bearer", "chat", "Bearer ", http.StatusUnauthorized},
		{"good token", "chat", "Bearer " + testToken, http.StatusAccepted},
		{"scheme in lower case", "other", "bearer " + otherToken, http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, url+tc.source, strings.NewReader(q))
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r IntakeReply
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("%s, %+v; want %d", resp.Status, r, tc.want)
			}
			if tc.want == http.StatusUnauthorized {
				if !strings.Contains(r.Error, "intake token") || r.ID != "" || r.Retry || resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("refusal %+v, headers %v", r, resp.Header)
				}
				if strings.Contains(r.Error, testToken) || strings.Contains(r.Error, otherToken) {
					t.Errorf("refusal quotes a token: %s", r.Error)
				}
			}
		})
	}
	// Over NATS, the token is a header.
	for _, tc := range []struct {
		name, token string
		ok          bool
	}{{"no token", "", false}, {"wrong token", "nope-nope-nope-nope-nope", false}, {"another source's token", otherToken, false}, {"good token", testToken, true}} {
		t.Run("NATS "+tc.name, func(t *testing.T) {
			m, err := b.NC.RequestMsg(tokenMsg("chat", tc.token, `{"query":"is the shop open on Sunday?"}`), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var r IntakeReply
			if err := json.Unmarshal(m.Data, &r); err != nil {
				t.Fatal(err)
			}
			if ok := r.ID != "" && r.Error == ""; ok != tc.ok || (!ok && (!strings.Contains(r.Error, TokenHeader) || r.Retry)) {
				t.Errorf("reply %+v, want accepted %v", r, tc.ok)
			}
		})
	}
	if got := stored(t, b, "chat"); len(got) != 2 {
		t.Errorf("%d queries stored for chat, want the 2 sent with its token", len(got))
	}
}

func TestIntakeRateLimitPerSource(t *testing.T) {
	_, b, url := startIntake(t, IntakeConfig{Rate: 0.5, Burst: 3})
	for i := range 3 {
		if code, r, _ := postQuery(t, http.DefaultClient, url+"chat", testToken, strings.NewReader(fmt.Sprintf(`{"query":"q %d"}`, i))); code != http.StatusAccepted {
			t.Fatalf("query %d within the burst: %d %+v", i, code, r)
		}
	}
	code, r, h := postQuery(t, http.DefaultClient, url+"chat", testToken, strings.NewReader(`{"query":"one too many"}`))
	if code != http.StatusTooManyRequests || !r.Retry || !strings.Contains(r.Error, "queries a second") {
		t.Fatalf("past the burst: %d %+v", code, r)
	}
	// A token comes back every 2 s.
	if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After %q", h.Get("Retry-After"))
	}
	// Another source has a bucket of its own.
	if code, r, _ := postQuery(t, http.DefaultClient, url+"other", otherToken, strings.NewReader(`{"query":"hi"}`)); code != http.StatusAccepted {
		t.Errorf("another source: %d %+v", code, r)
	}
	// NATS requests draw on the same bucket.
	m, err := b.NC.RequestMsg(tokenMsg("chat", testToken, `{"query":"over NATS"}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(m.Data, &r); err != nil || !r.Retry || r.ID != "" {
		t.Errorf("NATS past the rate: %+v %v", r, err)
	}
	if got := stored(t, b, "chat"); len(got) != 3 {
		t.Errorf("%d queries stored, want 3", len(got))
	}
}

func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(2, 2)
	l.now = func() time.Time { return now }
	for _, step := range []struct {
		advance time.Duration
		ok      bool
		wait    time.Duration
	}{
		{0, true, 0}, {0, true, 0}, {0, false, 500 * time.Millisecond},
		{250 * time.Millisecond, false, 250 * time.Millisecond}, {250 * time.Millisecond, true, 0},
		{10 * time.Second, true, 0}, {0, true, 0}, {0, false, 500 * time.Millisecond},
	} {
		now = now.Add(step.advance)
		ok, wait := l.allow("chat")
		if ok != step.ok || (wait-step.wait).Abs() > time.Millisecond {
			t.Fatalf("after %v: allow = %v, %v; want %v, %v", step.advance, ok, wait, step.ok, step.wait)
		}
	}
	// Past maxBuckets busy sources, a new one waits; idle ones are forgotten.
	l = newRateLimiter(1, 1)
	l.now = func() time.Time { return now }
	for i := range maxBuckets {
		l.allow(strconv.Itoa(i))
	}
	if ok, _ := l.allow("new"); ok {
		t.Error("a new source was let in past maxBuckets busy ones")
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("new"); !ok || len(l.buckets) != 1 {
		t.Errorf("idle buckets were not forgotten: %d left", len(l.buckets))
	}
}

func TestIntakeBodyLimit(t *testing.T) {
	_, b, url := startIntake(t, IntakeConfig{MaxBody: 1024})
	big := `{"query":"` + strings.Repeat("x", 2048) + `"}`
	for _, tc := range []struct {
		name string
		body io.Reader
	}{
		{"with a length", strings.NewReader(big)},
		// No Content-Length: the limit is met while reading.
		{"chunked", io.MultiReader(strings.NewReader(big))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r, _ := postQuery(t, http.DefaultClient, url+"chat", testToken, tc.body)
			if code != http.StatusRequestEntityTooLarge || !strings.Contains(r.Error, "larger than 1024 bytes") || r.Retry {
				t.Errorf("%d %+v", code, r)
			}
		})
	}
	if got := stored(t, b, "chat"); len(got) != 0 {
		t.Errorf("%d queries stored", len(got))
	}
}

// TestIntakeCutsOffSlowClients sends a request's headers or body slower
// than the configured timeouts allow: the server closes the connection.
func TestIntakeCutsOffSlowClients(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s, b, _ := startIntake(t, IntakeConfig{ReadHeaderTimeout: timeout, ReadTimeout: timeout})
	for _, tc := range []struct{ name, sent string }{
		{"headers never end", "POST /v1/intake/chat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken + "\r\n"},
		{"body never ends", "POST /v1/intake/chat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken +
			"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\":\"slo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", s.IntakeAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if _, err := io.WriteString(conn, tc.sent); err != nil {
				t.Fatal(err)
			}
			// Read until the server hangs up; give up well after the timeout.
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			reply, err := io.ReadAll(bufio.NewReader(conn))
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection was still open after 10 s")
			}
			if took := time.Since(start); took < timeout || took > 5*time.Second {
				t.Errorf("cut off after %v, want about %v", took, timeout)
			}
			if len(reply) > 0 && !bytes.HasPrefix(reply, []byte("HTTP/1.1 408")) && !bytes.HasPrefix(reply, []byte("HTTP/1.1 400")) {
				t.Errorf("reply %q", reply)
			}
		})
	}
	if got := stored(t, b, "chat"); len(got) != 0 {
		t.Errorf("%d queries stored", len(got))
	}
}

// TestIntakeUnderLoad posts 400 queries of 1 MiB at once: the intake sheds
// what it cannot take with 503 and Retry-After, stores the rest, and the
// heap stays under maxHeapGrowth above where it started.
func TestIntakeUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("400 MiB of requests")
	}
	const (
		clients = 400
		// 16 requests at once (the default), each holding its body a few
		// times over (read, decoded, redacted, encoded): about 8 MiB each.
		maxHeapGrowth = 256 << 20
	)
	// Under the race detector, redacting 16 queries of 1 MiB at once on
	// two cores takes longer than the default write timeout, and on a
	// busy machine sending them can take longer than the default read
	// timeout (a 408 is then the server's right answer, not this test's
	// subject).
	_, b, url := startIntake(t, IntakeConfig{Rate: -1, ReadTimeout: 2 * time.Minute, WriteTimeout: 2 * time.Minute})
	// One body shared by every client, so that only the server's copies
	// count. It stays under the server's 1 MiB payload once stored.
	body := []byte(`{"query":"` + strings.Repeat("where is my parcel? ", (1<<20-4096)/20) + `"}`)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: clients}, Timeout: 3 * time.Minute}
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
	)
	for range clients {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, url+"chat", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := client.Do(req)
			outcome := ""
			switch {
			case err != nil:
				// Refused before its body was read: the server may hang
				// up while the client still writes.
				outcome = "connection closed"
			default:
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				outcome = strconv.Itoa(resp.StatusCode)
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					outcome = "503 without Retry-After"
				}
			}
			mu.Lock()
			counts[outcome]++
			mu.Unlock()
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	growth := int64(peak) - int64(before.HeapAlloc)
	t.Logf("outcomes %v; heap %d MiB before, peak %d MiB (+%d MiB)", counts, before.HeapAlloc>>20, peak>>20, growth>>20)
	if growth > maxHeapGrowth {
		t.Errorf("the heap grew by %d MiB, more than %d MiB", growth>>20, maxHeapGrowth>>20)
	}
	if counts["503"] == 0 {
		t.Errorf("no request was shed with 503: %v", counts)
	}
	for k := range counts {
		if k != "202" && k != "503" && k != "connection closed" {
			t.Errorf("unexpected outcome %q: %v", k, counts)
		}
	}
	if got := len(stored(t, b, "chat")); got == 0 || got > counts["202"] {
		t.Errorf("%d queries stored, %d accepted", got, counts["202"])
	}
}

// TestIntakeOverTLS serves the intake with a certificate made here: a
// client trusting it is served, a plain-HTTP client is not.
func TestIntakeOverTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	_, b, url := startIntake(t, IntakeConfig{TLSCert: certFile, TLSKey: keyFile})
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("url %s", url)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if code, r, _ := postQuery(t, c, url+"chat", testToken, strings.NewReader(`{"query":"over TLS"}`)); code != http.StatusAccepted {
		t.Fatalf("%d %+v", code, r)
	}
	resp, err := http.Post("http"+strings.TrimPrefix(url, "https")+"chat", "application/json", strings.NewReader(`{"query":"in clear"}`))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("plain HTTP: %s", resp.Status)
		}
	}
	if got := stored(t, b, "chat"); len(got) != 1 {
		t.Errorf("%d queries stored, want 1", len(got))
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key to PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "assay intake test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pool
}

// TestIntakeSecureByDefault: with no configuration the intake refuses
// every request, whatever its token; --intake-insecure takes them all.
func TestIntakeSecureByDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  IntakeConfig
		want int
	}{
		{"zero configuration", IntakeConfig{}, http.StatusUnauthorized},
		{"insecure", IntakeConfig{Insecure: true}, http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, b := newIntakeWith(t, tc.cfg)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- s.serveIntake(ctx, "127.0.0.1:0") }()
			bustest.Eventually(t, 10*time.Second, func() error {
				if s.IntakeAddr() == "" {
					return errors.New("not listening yet")
				}
				return nil
			})
			for _, token := range []string{"", testToken} {
				if code, r, _ := postQuery(t, http.DefaultClient, "http://"+s.IntakeAddr()+"/v1/intake/chat", token, strings.NewReader(`{"query":"hi `+token+`"}`)); code != tc.want {
					t.Errorf("HTTP with token %q: %d %+v", token, code, r)
				}
				m, err := b.NC.RequestMsg(tokenMsg("chat", token, `{"query":"hello `+token+`"}`), 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				var r IntakeReply
				if err := json.Unmarshal(m.Data, &r); err != nil || (r.ID != "") != (tc.want == http.StatusAccepted) {
					t.Errorf("NATS with token %q: %s %v", token, m.Data, err)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			want := 0
			if tc.want == http.StatusAccepted {
				want = 4
			}
			if got := len(stored(t, b, "chat")); got != want {
				t.Errorf("%d queries stored, want %d", got, want)
			}
		})
	}
}
