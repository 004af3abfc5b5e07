package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// TokenHeader is the NATS message header an intake request carries its
// source's token in (over HTTP it is "Authorization: Bearer <token>").
const TokenHeader = "Assay-Token"

// IntakeConfig secures and limits the intake. Its zero value is the
// default: a token is required, and the limits below apply.
type IntakeConfig struct {
	// Tokens are the tokens the intake accepts, by source.
	Tokens IntakeTokens
	// Insecure takes queries without a token: for a machine of one's own.
	Insecure bool
	// TLSCert and TLSKey, when set, are the PEM files the HTTP intake
	// serves TLS with.
	TLSCert, TLSKey string
	// MaxConcurrent is how many HTTP requests are handled at once (default
	// 16); more are answered 503 at once. It bounds the memory requests
	// take: each holds up to MaxBody bytes a few times over while parsed.
	MaxConcurrent int
	// MaxBody is the largest request body (default and most 1 MiB); a
	// larger one is answered 413.
	MaxBody int64
	// ReadHeaderTimeout (default 5 s) and ReadTimeout (default 10 s) cut
	// off a client slower than that to send its headers and its whole
	// request; WriteTimeout (default 30 s, counted from the end of the
	// headers, so it covers reading, storing and answering) bounds the
	// whole request, IdleTimeout
	// (default 60 s) an idle kept-alive connection.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Rate is how many queries a second each source may send, after a
	// burst of Burst (defaults 50 and 100; a negative Rate is no limit),
	// on HTTP and NATS together; past it, HTTP answers 429.
	Rate  float64
	Burst int
	// ABRate and ABBurst limit each live experiment's requests the same
	// way, counted in events (an assignment is one; defaults 2000 and
	// 4000: a product asks for an arm on every visit), per replica.
	ABRate  float64
	ABBurst int
}

// withDefaults returns c with its zero fields set to the defaults.
func (c IntakeConfig) withDefaults() IntakeConfig {
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 16
	}
	if c.MaxBody <= 0 || c.MaxBody > maxQuery {
		c.MaxBody = maxQuery
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.ReadHeaderTimeout, 5 * time.Second}, {&c.ReadTimeout, 10 * time.Second}, {&c.WriteTimeout, 30 * time.Second}, {&c.IdleTimeout, time.Minute}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if c.Rate == 0 {
		c.Rate = 50
	}
	if c.Burst <= 0 {
		c.Burst = 100
	}
	if c.ABRate == 0 {
		c.ABRate = 2000
	}
	if c.ABBurst <= 0 {
		c.ABBurst = 4000
	}
	return c
}

// intakeRefused counts the intake requests refused before being read, by
// reason: unauthorized, rate_limited, overloaded, too_large, timeout.
func newIntakeRefused(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_ingest_intake_refused_total",
		Help: "Intake requests refused unread, by reason: unauthorized, rate_limited, overloaded, too_large, timeout."}, []string{"reason"})
	reg.MustRegister(c)
	return c
}

// errUnauthorized is an intake request without a good token.
var errUnauthorized = errors.New("missing or wrong intake token")

// admission is why a request is refused before it is read: its status,
// reason (the metric's label) and, for a limit, when to come back.
type admission struct {
	status     int
	reason     string
	retryAfter time.Duration
	err        error
}

// admit decides whether a request from source with token may be read.
func (s *Service) admit(source, token string) *admission {
	if !s.intakeCfg.Insecure && !s.intakeCfg.Tokens.Allows(source, token) {
		return &admission{status: http.StatusUnauthorized, reason: "unauthorized",
			err: fmt.Errorf("%w for source %q: send the source's token as \"Authorization: Bearer <token>\" over HTTP or in the %s header over NATS", errUnauthorized, loggable(source), TokenHeader)}
	}
	if ok, wait := s.limiter.allow(source); !ok {
		return &admission{status: http.StatusTooManyRequests, reason: "rate_limited", retryAfter: wait,
			err: fmt.Errorf("source %q sends more than %g queries a second: send it again in %s", loggable(source), s.intakeCfg.Rate, wait.Round(time.Millisecond))}
	}
	return nil
}

// retryAfterSeconds is a Retry-After value: whole seconds, at least one.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// intakeWorkers is how many intake requests are stored at once.
const intakeWorkers = 4

// serveIntake answers intake requests on NATS (replicas share them as a
// queue group) and, when addr is set, on HTTP, until ctx ends.
func (s *Service) serveIntake(ctx context.Context, addr string) error {
	switch {
	case s.intakeCfg.Insecure:
		s.logger.Warn("INTAKE AUTHENTICATION IS OFF: anyone who can reach the intake may store queries under any source; use it only on a machine of your own, and give tokens (--intake-tokens) otherwise")
	case s.intakeCfg.Tokens.Len() == 0:
		// Loud only when an HTTP intake is asked for: a run of one's own
		// (assay run, assay demo) has an intake nobody means to use.
		level := slog.LevelInfo
		if addr != "" {
			level = slog.LevelWarn
		}
		s.logger.Log(ctx, level, "no intake tokens are configured: every intake request is refused; give --intake-tokens FILE or "+IntakeTokensEnv+" (source=token entries)")
	}
	var subs []*nats.Subscription
	for range intakeWorkers {
		sub, err := s.bus.NC.QueueSubscribe(bus.AllIntake, "assay-ingest", func(m *nats.Msg) {
			source := bus.SubjectToken(m.Subject, 2)
			var reply IntakeReply
			if a := s.admit(source, m.Header.Get(TokenHeader)); a != nil {
				s.intakeRefused.WithLabelValues(a.reason).Inc()
				reply.Error, reply.Retry = a.err.Error(), a.status == http.StatusTooManyRequests
			} else {
				id, err := s.Accept(ctx, source, m.Data)
				reply.ID = id
				if err != nil {
					var qe *QueryError
					reply.Error, reply.Retry = err.Error(), !errors.As(err, &qe)
					s.logger.Warn("intake query not stored", "source", loggable(source), "err", err)
				}
			}
			b, _ := json.Marshal(reply)
			_ = m.Respond(b)
		})
		if err != nil {
			return fmt.Errorf("subscribing to intake: %w", err)
		}
		subs = append(subs, sub)
	}
	for range intakeWorkers {
		sub, err := s.bus.NC.QueueSubscribe(bus.AllABRequests, "assay-ingest", func(m *nats.Msg) {
			b, _ := json.Marshal(s.serveAB(ctx, m.Subject, m.Header.Get(TokenHeader), m.Data))
			_ = m.Respond(b)
		})
		if err != nil {
			return fmt.Errorf("subscribing to live experiments' requests: %w", err)
		}
		subs = append(subs, sub)
	}
	go s.watchExperiments(ctx)
	defer func() {
		for _, sub := range subs {
			_ = sub.Drain()
		}
	}()
	if addr == "" {
		<-ctx.Done()
		return nil
	}
	return s.serveHTTPIntake(ctx, addr)
}

// serveHTTPIntake serves the HTTP intake on addr until ctx ends.
func (s *Service) serveHTTPIntake(ctx context.Context, addr string) error {
	cfg := s.intakeCfg
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for intake on %s: %w", addr, err)
	}
	tlsOn := cfg.TLSCert != "" || cfg.TLSKey != ""
	if tlsOn {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("loading the intake's TLS certificate (%s) and key (%s): %w", cfg.TLSCert, cfg.TLSKey, err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	s.intakeAddr.Store(ln.Addr().String())
	s.logger.Info("intake over HTTP", "addr", ln.Addr().String(), "tls", tlsOn, "max_concurrent", cfg.MaxConcurrent,
		"max_body", cfg.MaxBody, "read_timeout", cfg.ReadTimeout, "rate", cfg.Rate, "burst", cfg.Burst)
	if !tlsOn && !loopback(ln.Addr()) {
		s.logger.Warn("the HTTP intake listens beyond loopback without TLS: tokens and queries cross the network in clear; give --intake-tls-cert and --intake-tls-key", "addr", ln.Addr().String())
	}
	srv := &http.Server{Handler: s.IntakeHandler(), ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug)}
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loopback reports whether a is a loopback address.
func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// loggable is source as it may be logged: a name that may be personal
// data is not.
func loggable(source string) string {
	if err := checkSource(source); err != nil {
		return "(refused name)"
	}
	return source
}

// IntakeAddr is the address the HTTP intake listens on, once it does.
func (s *Service) IntakeAddr() string {
	a, _ := s.intakeAddr.Load().(string)
	return a
}

// bearer is the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// IntakeHandler serves POST /v1/intake/{source}: a request is
// authenticated, rate-limited per source and given one of MaxConcurrent
// slots before its body is read, and its body is read up to MaxBody.
func (s *Service) IntakeHandler() http.Handler {
	slots := make(chan struct{}, s.intakeCfg.MaxConcurrent)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/intake/{source}", func(w http.ResponseWriter, r *http.Request) {
		source := r.PathValue("source")
		refuse := func(status int, reason string, retryAfter time.Duration, err error) {
			s.refuse(w, "assay-intake", &admission{status: status, reason: reason, retryAfter: retryAfter, err: err})
		}
		if a := s.admit(source, bearer(r)); a != nil {
			refuse(a.status, a.reason, a.retryAfter, a.err)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			refuse(http.StatusServiceUnavailable, "overloaded", time.Second, errors.New("the intake is busy: send the query again in a second"))
			return
		}
		if r.ContentLength > s.intakeCfg.MaxBody {
			refuse(http.StatusRequestEntityTooLarge, "too_large", 0, fmt.Errorf("query is larger than %d bytes", s.intakeCfg.MaxBody))
			return
		}
		var buf bytes.Buffer
		if r.ContentLength > 0 {
			buf.Grow(int(r.ContentLength) + bytes.MinRead)
		}
		_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.intakeCfg.MaxBody))
		var (
			tooLarge *http.MaxBytesError
			netErr   net.Error
		)
		switch {
		case errors.As(err, &tooLarge):
			refuse(http.StatusRequestEntityTooLarge, "too_large", 0, fmt.Errorf("query is larger than %d bytes", s.intakeCfg.MaxBody))
			return
		case errors.As(err, &netErr) && netErr.Timeout():
			refuse(http.StatusRequestTimeout, "timeout", 0, fmt.Errorf("the query was not sent within %s", s.intakeCfg.ReadTimeout))
			return
		case err != nil:
			writeReply(w, http.StatusBadRequest, IntakeReply{Error: badQuery("reading the request: %v", err).Error()})
			return
		}
		var reply IntakeReply
		status := http.StatusAccepted
		reply.ID, err = s.Accept(r.Context(), source, buf.Bytes())
		var qe *QueryError
		switch {
		case errors.As(err, &qe):
			reply.Error, status = err.Error(), http.StatusBadRequest
		case err != nil:
			// The query may be fine: the client should send it again.
			reply.Error, reply.Retry, status = err.Error(), true, http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "5")
			s.logger.Warn("intake query not stored", "source", loggable(source), "err", err)
		}
		writeReply(w, status, reply)
	})
	s.abHandler(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

// refuse answers a request refused unread (or unstored) with a's status
// and error, counted by its reason: the bearer realm on a 401, when to
// come back on a refusal that has one.
func (s *Service) refuse(w http.ResponseWriter, realm string, a *admission) {
	s.intakeRefused.WithLabelValues(a.reason).Inc()
	if a.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
	}
	if a.retryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(a.retryAfter))
	}
	// The body was not read: the connection is not reused.
	w.Header().Set("Connection", "close")
	writeReply(w, a.status, IntakeReply{Error: a.err.Error(), Retry: a.retryAfter > 0})
}

// writeReply writes an intake reply as JSON.
func writeReply(w http.ResponseWriter, status int, reply IntakeReply) { writeJSON(w, status, reply) }
