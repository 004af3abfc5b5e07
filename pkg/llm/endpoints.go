package llm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// ErrPolicy marks a call, key or endpoint the process's [Endpoints]
// refuses. Such a call is never sent, and never retried.
var ErrPolicy = errors.New("refused by the endpoint policy")

// policyError is a refusal: summary is the same for every sample of a
// target (it is the failures' [Cause]), fix says what the operator or the
// spec's author changes.
type policyError struct {
	summary, fix string
}

func (e *policyError) Error() string        { return e.summary + " (" + e.fix + ")" }
func (e *policyError) Is(target error) bool { return target == ErrPolicy }

// Where an operator changes the policy, as refusals name it.
const (
	fixAllow  = "the operator allows it with --endpoint-allow or allow: in the --endpoints file"
	fixSecret = "the operator defines secrets in the --endpoints file"
)

// Endpoints is what a process may call and with which keys: the endpoint
// host policy, the named secrets (see [eval.EndpointsFile]), and whether a
// spec's api_key_env may read the process's environment. A server has
// one built by [NewEndpoints]; a run on the user's own machine uses
// [LocalEndpoints], which allows every host and api_key_env.
type Endpoints struct {
	local       bool
	hosts       eval.HostPolicy
	allowKeyEnv bool
	secrets     map[string]*namedSecret
	getenv      func(string) string
	// resolver looks host names up for admission and dialing; nil is
	// the system's.
	resolver *net.Resolver
	// namesOnly: secrets are never read (see NameSecretsOnly).
	namesOnly bool
}

// EndpointsConfig is what [NewEndpoints] builds a server's policy from.
type EndpointsConfig struct {
	// File is the parsed --endpoints file, if any.
	File *eval.EndpointsFile
	// Allow are more host patterns (--endpoint-allow).
	Allow []string
	// AllowAPIKeyEnv lets specs name any environment variable of the
	// process as their key: every submitter is trusted with all of it.
	AllowAPIKeyEnv bool
	// Getenv reads secrets kept in the environment; nil is os.Getenv.
	Getenv func(string) string
	// Resolver looks host names up; nil is the system's (tests).
	Resolver *net.Resolver
	// NameSecretsOnly is for a process that admits runs but sends no key
	// (the ingest stage): a secret is checked by name and hosts, its
	// value never read, so it need not be mounted there.
	NameSecretsOnly bool
	// SecretsWhenCalled is for a process that sends keys only for what
	// few runs ask (the score stage, for a run's embeddings endpoint): a
	// secret is read when a call needs it, not at start, so that the
	// process does not stop for a secret no run may send; a missing one
	// fails the calls that need it, named.
	SecretsWhenCalled bool
}

// LocalEndpoints is the policy of a run in-process on the user's own
// machine: every host may be called, and api_key_env reads the user's own
// environment.
func LocalEndpoints() *Endpoints {
	return &Endpoints{local: true, allowKeyEnv: true, getenv: os.Getenv}
}

// NewEndpoints builds a server's policy. Every secret is read once now
// (unless NameSecretsOnly), so that a missing file or variable stops the
// server at start-up, named.
func NewEndpoints(cfg EndpointsConfig) (*Endpoints, error) {
	e := &Endpoints{allowKeyEnv: cfg.AllowAPIKeyEnv, getenv: cfg.Getenv, resolver: cfg.Resolver, secrets: map[string]*namedSecret{}, namesOnly: cfg.NameSecretsOnly}
	if e.getenv == nil {
		e.getenv = os.Getenv
	}
	var allow []string
	if cfg.File != nil {
		allow = append(allow, cfg.File.Allow...)
	}
	allow = append(allow, cfg.Allow...)
	var err error
	if e.hosts, err = eval.ParseHostPolicy(allow); err != nil {
		return nil, err
	}
	var errs []error
	if cfg.File != nil {
		for name, ref := range cfg.File.Secrets {
			hosts, err := eval.ParseHostPolicy(ref.Hosts)
			if err != nil {
				errs = append(errs, fmt.Errorf("secret %s: %w", name, err))
				continue
			}
			s := &namedSecret{name: name, file: ref.File, env: ref.Env, hosts: hosts.Allow, getenv: e.getenv}
			if !e.namesOnly && !cfg.SecretsWhenCalled {
				if _, err := s.read(); err != nil {
					errs = append(errs, err)
				}
			}
			e.secrets[name] = s
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

// LoadEndpoints builds a server's policy from an endpoints file (none
// when file is ""), comma-separated allow patterns and the api_key_env
// switch: the stage binaries' and assay up's flags. Secrets are read
// unless namesOnly (see [EndpointsConfig]).
func LoadEndpoints(file, allow string, allowAPIKeyEnv, namesOnly bool) (*Endpoints, error) {
	return LoadEndpointsWith(file, EndpointsConfig{Allow: eval.SplitPatterns(allow), AllowAPIKeyEnv: allowAPIKeyEnv, NameSecretsOnly: namesOnly})
}

// LoadEndpointsWith is [LoadEndpoints] for any cfg: the endpoints file
// (none when file is "") is parsed into cfg.File.
func LoadEndpointsWith(file string, cfg EndpointsConfig) (*Endpoints, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading the endpoints file: %w (check --endpoints or ASSAY_ENDPOINTS)", err)
		}
		if cfg.File, err = eval.ParseEndpointsFile(file, b); err != nil {
			return nil, err
		}
	}
	e, err := NewEndpoints(cfg)
	if err != nil {
		return nil, fmt.Errorf("endpoint policy: %w", err)
	}
	return e, nil
}

// Local reports whether e is a local run's policy, which allows
// everything.
func (e *Endpoints) Local() bool { return e == nil || e.local }

// Summary describes the policy for a start-up log line: no secret names'
// values, only counts and patterns.
func (e *Endpoints) Summary() []any {
	if e.Local() {
		return []any{"endpoints", "local: every host, api_key_env"}
	}
	allow := make([]string, len(e.hosts.Allow))
	for i, p := range e.hosts.Allow {
		allow[i] = p.String()
	}
	shown := "public hosts only"
	if len(allow) > 0 {
		shown = strings.Join(allow, ",")
	}
	return []any{"endpoint_allow", shown, "secrets", len(e.secrets), "allow_api_key_env", e.allowKeyEnv}
}

// Admit says whether t may be called under e, or why not: its key source
// (api_key_env only where allowed; api_key_secret only a configured
// secret allowed for t's host, and readable) and its host (every address
// it resolves to allowed by the host policy). The error's text names the
// target, the host or secret, and what to change; it never holds a key.
// Nothing is sent to t.
func (e *Endpoints) Admit(ctx context.Context, t Target) error {
	if err := e.admit(ctx, t); err != nil {
		return fmt.Errorf("%s %s: %w", t.Kind, t.Name, err)
	}
	return nil
}

func (e *Endpoints) admit(ctx context.Context, t Target) error {
	if e.Local() {
		return nil
	}
	host, port, err := hostPort(t.BaseURL)
	if err != nil {
		return err
	}
	if _, err := e.key(t.APIKeyEnv, t.APIKeySecret, host, port); err != nil {
		return err
	}
	return e.checkHost(ctx, host, port)
}

// hostPort is base's host, lower case and without brackets, and its port
// (the scheme's when it has none).
func hostPort(base string) (string, int, error) {
	if err := eval.CheckEndpointURL(base); err != nil {
		return "", 0, fmt.Errorf("base_url %w", err)
	}
	u, _ := url.Parse(base)
	return strings.ToLower(u.Hostname()), urlPort(u), nil
}

// urlPort is u's port, or its scheme's when it has none.
func urlPort(u *url.URL) int {
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 80
		if u.Scheme == "https" {
			port = 443
		}
	}
	return port
}

// checkHost checks every address host resolves to. A name that does not
// resolve now is let through when the policy could allow it by name (the
// dialer checks the addresses it really connects to).
func (e *Endpoints) checkHost(ctx context.Context, host string, port int) error {
	if a, err := netip.ParseAddr(host); err == nil {
		return e.checkAddr(host, port, a)
	}
	addrs, err := e.lookup(ctx, host)
	if err != nil || len(addrs) == 0 {
		if len(e.hosts.Allow) == 0 || eval.MatchAny(e.hosts.Allow, host, port) {
			return nil
		}
		return &policyError{summary: fmt.Sprintf("endpoint policy refuses host %s", host), fix: "it is not in the endpoint allow list, and does not resolve here; " + fixAllow}
	}
	for _, a := range addrs {
		if err := e.checkAddr(host, port, a); err != nil {
			return err
		}
	}
	return nil
}

func (e *Endpoints) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	r := e.resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return r.LookupNetIP(ctx, "ip", host)
}

// checkAddr checks one address host:port resolved to.
func (e *Endpoints) checkAddr(host string, port int, a netip.Addr) error {
	if e.Local() {
		return nil
	}
	if err := e.hosts.CheckAddr(host, port, a); err != nil {
		return &policyError{summary: fmt.Sprintf("endpoint policy refuses host %s", host), fix: err.Error() + "; " + fixAllow}
	}
	return nil
}

// key returns the API key a call to host:port sends, from a spec's
// api_key_env or api_key_secret: "" when it names neither.
func (e *Endpoints) key(env, secretName, host string, port int) (string, error) {
	switch {
	case secretName != "":
		if e.Local() {
			return "", &policyError{summary: fmt.Sprintf("api_key_secret %s is not configured", secretName),
				fix: "a run on your own machine has no secrets: name the key with api_key_env, or submit the run to a server with --nats"}
		}
		s, ok := e.secrets[secretName]
		if !ok {
			return "", &policyError{summary: fmt.Sprintf("api_key_secret %s is not configured", secretName),
				fix: "the spec names a secret this server does not have: check its name, or " + fixSecret + " under secrets:"}
		}
		if !eval.MatchAny(s.hosts, host, port) {
			return "", &policyError{summary: fmt.Sprintf("secret %s may not be sent to host %s", secretName, host),
				fix: fmt.Sprintf("the operator lists the host under secrets.%s.hosts in the --endpoints file", secretName)}
		}
		if e.namesOnly {
			return "", nil // admitted by name: the stage that calls reads it
		}
		v, err := s.read()
		if err != nil {
			return "", &policyError{summary: fmt.Sprintf("secret %s cannot be read", secretName), fix: err.Error()}
		}
		return v, nil
	case env != "":
		if e != nil && !e.allowKeyEnv {
			return "", &policyError{summary: fmt.Sprintf("api_key_env %s is not accepted by this server", env),
				fix: "name a secret with api_key_secret instead; " + fixSecret + ", or starts the server with --allow-api-key-env to trust every submitter with its whole environment"}
		}
		if e == nil {
			return os.Getenv(env), nil
		}
		return e.getenv(env), nil
	}
	return "", nil
}

// dial connects for the client's transport. Under a server's policy the
// address really connected to is checked (net.Dialer's Control runs
// after the name is resolved, for each address tried), so a name that
// resolves to a refused address, at once or only on the second lookup
// (DNS rebinding), is never connected to.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if e := c.endpoints; !e.Local() {
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		port, _ := strconv.Atoi(p)
		host = strings.ToLower(host)
		d.Resolver = e.resolver
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &policyError{summary: fmt.Sprintf("endpoint policy refuses host %s", host), fix: "the address dialed (" + address + ") cannot be checked"}
			}
			return e.checkAddr(host, port, ap.Addr())
		}
	}
	return d.DialContext(ctx, network, addr)
}

// proxy is the client's proxy for req. Through a proxy the dialer sees only
// the proxy's address, and the proxy's DNS decides where the call lands: so
// under a server's policy the request's own host is checked here, at
// request time, every address it resolves to, and a name that does not
// resolve here is refused (it could reach anything the proxy can).
func (c *Client) proxy(req *http.Request) (*url.URL, error) {
	u, err := c.proxyFor(req)
	if err != nil || u == nil {
		return u, err
	}
	e := c.endpoints
	if e.Local() {
		return u, nil
	}
	host, port := strings.ToLower(req.URL.Hostname()), urlPort(req.URL)
	if a, err := netip.ParseAddr(host); err == nil {
		if err := e.checkAddr(host, port, a); err != nil {
			return nil, err
		}
		return u, nil
	}
	addrs, err := e.lookup(req.Context(), host)
	if err != nil || len(addrs) == 0 {
		return nil, &policyError{summary: fmt.Sprintf("endpoint policy refuses host %s", host),
			fix: "calls go through a proxy (HTTP_PROXY/HTTPS_PROXY), and the name does not resolve here, so where it lands cannot be checked; make it resolve where the service runs, or list it in NO_PROXY to call it directly"}
	}
	for _, a := range addrs {
		if err := e.checkAddr(host, port, a); err != nil {
			return nil, err
		}
	}
	return u, nil
}
