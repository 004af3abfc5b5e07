// Package natsembed runs a nats-server with JetStream inside the process, for
// `assay demo`, `assay up` and tests. Messages are kept in file storage under
// a data directory, so a process killed at any moment resumes from disk.
package natsembed

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options configures an embedded server. The zero value is a server on a
// random loopback port with its store in a fresh temporary directory.
type Options struct {
	// Dir holds the JetStream file store, locked while the server runs;
	// empty means a temporary directory that Shutdown removes.
	Dir string
	// Fresh removes the store in Dir before starting (once the lock is
	// held): the server starts empty.
	Fresh bool
	// Host and Port to listen on; Port 0 picks a free port, -1 does not
	// listen at all (in-process connections only).
	Host string
	Port int
	// Name of the server; clusters need distinct names.
	Name string
	// MaxPayload is the largest message the server accepts (default 8 MiB).
	MaxPayload int32
	// Cluster, when set, joins the server to a cluster.
	Cluster *ClusterOptions
	// Logs turns on the server's own log output (to stderr).
	Logs bool
	// Auth, when set, admits only its identities (see [Auth]); without it
	// any client may connect and do anything.
	Auth *Auth
	// ConfigFile starts the server from an operator's nats-server
	// configuration (users, accounts, TLS, listen address, limits)
	// instead of Auth. JetStream is always on; its store is under Dir
	// unless the file names one; Host and Port apply when the file sets
	// no listen address.
	ConfigFile string
}

// ClusterOptions joins a server to a NATS cluster.
type ClusterOptions struct {
	Name   string
	Host   string
	Port   int
	Routes []string
}

// DefaultMaxPayload is larger than nats-server's 1 MiB default because
// long-context samples and generations are common in evaluation.
const DefaultMaxPayload = 8 << 20

// Server is a running embedded nats-server.
type Server struct {
	*server.Server
	dir     string
	tempDir bool
	unlock  func()
}

// Start starts a server and waits until it accepts connections. A data
// directory another server holds is refused with a [LockedError], and a
// port in use with the listener's error.
func Start(o Options) (*Server, error) {
	dir, temp := o.Dir, false
	if dir == "" {
		d, err := os.MkdirTemp("", "assay-nats-")
		if err != nil {
			return nil, fmt.Errorf("creating NATS data directory: %w", err)
		}
		dir, temp = d, true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating NATS data directory: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	srv, err := start(o, dir)
	if err != nil {
		unlock()
		if temp {
			_ = os.RemoveAll(dir)
		}
		return nil, err
	}
	srv.tempDir, srv.unlock = temp, unlock
	return srv, nil
}

func start(o Options, dir string) (*Server, error) {
	store := filepath.Join(dir, "jetstream")
	if o.Fresh {
		if err := os.RemoveAll(store); err != nil {
			return nil, fmt.Errorf("removing the old state: %w", err)
		}
	}
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	opts, err := serverOptions(o, dir)
	if err != nil {
		return nil, err
	}
	if opts.Host == "" {
		opts.Host = host
	}
	if opts.StoreDir == "" {
		opts.StoreDir = store
	}
	if opts.MaxPayload == 0 {
		opts.MaxPayload = o.MaxPayload
	}
	if opts.MaxPayload == 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	switch {
	case opts.Port != 0:
		// The operator's configuration says where to listen.
	case o.Port == 0:
		opts.Port = server.RANDOM_PORT
	case o.Port == -1:
		opts.DontListen = true
		opts.Port = 0
	default:
		opts.Port = o.Port
		// nats-server only logs a port it cannot listen on, and then
		// never becomes ready: find out here, and say so.
		ln, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(o.Port)))
		if err != nil {
			return nil, fmt.Errorf("starting NATS server: %w", err)
		}
		ln.Close()
	}
	if o.Cluster != nil {
		opts.Cluster = server.ClusterOpts{Name: o.Cluster.Name, Host: o.Cluster.Host, Port: o.Cluster.Port}
		routes, err := parseRoutes(o.Cluster.Routes)
		if err != nil {
			return nil, err
		}
		opts.Routes = routes
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configuring NATS server: %w", err)
	}
	if o.Logs {
		s.ConfigureLogger()
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("starting NATS server on %s: not ready after 30s", dir)
	}
	return &Server{Server: s, dir: dir}, nil
}

// serverOptions are the server's options before the listen address and
// store: the operator's configuration file, or assay's own with the users
// of o.Auth.
func serverOptions(o Options, dir string) (*server.Options, error) {
	if o.ConfigFile != "" {
		if o.Auth != nil {
			return nil, errors.New("starting NATS server: a configuration file sets its own users: give either it or generated credentials, not both")
		}
		opts, err := server.ProcessConfigFile(o.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("reading the NATS configuration %s: %w: fix it (nats-server --config %s -t checks it)", o.ConfigFile, err, o.ConfigFile)
		}
		opts.JetStream, opts.NoSigs = true, true
		if opts.ServerName == "" {
			opts.ServerName = o.Name
		}
		return opts, nil
	}
	opts := &server.Options{ServerName: o.Name, JetStream: true, NoSigs: true}
	if o.Auth != nil {
		users, err := nkeyUsers(dir, o.Auth)
		if err != nil {
			return nil, err
		}
		opts.Nkeys = users
	}
	return opts, nil
}

func parseRoutes(routes []string) ([]*url.URL, error) {
	var out []*url.URL
	for _, r := range routes {
		u := server.RoutesFromStr(r)
		if len(u) == 0 {
			return nil, fmt.Errorf("cluster route %q is not a URL like nats://127.0.0.1:6222", r)
		}
		out = append(out, u...)
	}
	return out, nil
}

// Dir is the server's data directory.
func (s *Server) Dir() string { return s.dir }

// Connect opens a client connection. It goes through memory rather than a
// socket, which is faster and works when the server does not listen.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.InProcessServer(s.Server), nats.Name("assay")}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to embedded NATS: %w", err)
	}
	return nc, nil
}

// Shutdown stops the server and removes its data directory when Start
// created a temporary one.
func (s *Server) Shutdown() {
	s.Server.Shutdown()
	s.Server.WaitForShutdown()
	if s.tempDir {
		_ = os.RemoveAll(s.dir)
	}
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}

// Cluster is a set of embedded servers routed to each other.
type Cluster struct {
	Servers []*Server
}

// StartCluster starts an n-node cluster on loopback with stores under dir,
// for tests of replicated streams.
func StartCluster(name string, n int, dir string) (*Cluster, error) {
	ports := make([]int, n)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	var routes []string
	for _, p := range ports {
		routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(p))
	}
	c := &Cluster{}
	for i := range n {
		s, err := startAsync(Options{
			Dir:     filepath.Join(dir, fmt.Sprintf("n%d", i)),
			Name:    fmt.Sprintf("%s-%d", name, i),
			Cluster: &ClusterOptions{Name: name, Host: "127.0.0.1", Port: ports[i], Routes: routes},
		})
		if err != nil {
			c.Shutdown()
			return nil, err
		}
		c.Servers = append(c.Servers, s)
	}
	for _, s := range c.Servers {
		if !s.ReadyForConnections(30 * time.Second) {
			c.Shutdown()
			return nil, errors.New("starting NATS cluster: a node was not ready after 30s")
		}
	}
	// JetStream answers nothing until the nodes have elected a meta leader,
	// and cannot place replicas until the leader has heard from every peer.
	for deadline := time.Now().Add(30 * time.Second); ; {
		for _, s := range c.Servers {
			if s.JetStreamIsLeader() && len(s.JetStreamClusterPeers()) == n {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			c.Shutdown()
			return nil, errors.New("starting NATS cluster: JetStream not ready on every node after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startAsync starts a cluster node without waiting for it: a node's
// JetStream waits for its peers, so the nodes must start together.
func startAsync(o Options) (*Server, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: o.Name,
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   filepath.Join(o.Dir, "jetstream"),
		MaxPayload: DefaultMaxPayload,
		NoSigs:     true,
		Cluster:    server.ClusterOpts{Name: o.Cluster.Name, Host: o.Cluster.Host, Port: o.Cluster.Port},
	}
	routes, err := parseRoutes(o.Cluster.Routes)
	if err != nil {
		return nil, err
	}
	opts.Routes = routes
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configuring NATS server: %w", err)
	}
	go s.Start()
	return &Server{Server: s, dir: o.Dir}, nil
}

// URLs are the client URLs of every node, comma-separated as nats.Connect
// takes them.
func (c *Cluster) URLs() string {
	var out string
	for i, s := range c.Servers {
		if i > 0 {
			out += ","
		}
		out += s.ClientURL()
	}
	return out
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	for _, s := range c.Servers {
		s.Shutdown()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
