package k8s_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// parsedConf is the configuration a NATS pod runs with.
type parsedConf struct {
	opts *server.Options
	c    *corev1.Container
}

// natsConf lays out the files the first pod of the NATS StatefulSet w
// sees — its ConfigMaps and Secrets at their mount paths — sets its
// environment, and loads its --config with nats-server's own parser.
func natsConf(t *testing.T, s *site, w workload) parsedConf {
	t.Helper()
	if len(w.pod.Spec.Containers) != 1 {
		t.Fatalf("%s: want one container", w)
	}
	c := &w.pod.Spec.Containers[0]
	file, ok := flagValue(c.Args, "config")
	if !ok {
		t.Fatalf("%s: no --config", w)
	}
	dir := t.TempDir()
	for _, m := range c.VolumeMounts {
		for _, v := range w.pod.Spec.Volumes {
			if v.Name != m.Name || (v.ConfigMap == nil && v.Secret == nil) {
				continue
			}
			var keys []string
			if v.ConfigMap != nil {
				if o := s.objs.find("ConfigMap", w.namespace, v.ConfigMap.Name); o != nil {
					for k := range o.Obj.(*corev1.ConfigMap).Data {
						keys = append(keys, k)
					}
				}
			} else if o := s.objs.find("Secret", w.namespace, v.Secret.SecretName); o != nil {
				for k := range o.Obj.(*corev1.Secret).Data {
					keys = append(keys, k)
				}
			}
			for _, k := range keys {
				p := filepath.Join(m.MountPath, k)
				b, err := s.file(w.namespace, &w.pod.Spec, c, p)
				if err != nil {
					t.Fatalf("%s: %v", w, err)
				}
				if err := os.MkdirAll(filepath.Join(dir, m.MountPath), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, p), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for k, v := range containerEnv(c, w.name+"-0") {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatalf("%s: nats-server refuses %s: %v", w, file, err)
	}
	return parsedConf{opts: opts, c: c}
}

// natsStatefulSet returns the NATS StatefulSet.
func natsStatefulSet(t *testing.T, s *site) workload {
	t.Helper()
	for _, w := range s.workloads() {
		if w.sts != nil && w.pod.Labels["app.kubernetes.io/name"] == "nats" {
			return w
		}
	}
	t.Fatalf("%s: no NATS StatefulSet", s.dir)
	return workload{}
}

// TestNATSConfig loads each kustomization's nats.conf, with the users
// secrets.sh made, as nats-server does, and checks it against the pods
// (ports, store, routes to every node by its name), assay (the payload
// limit of its own server, the streams' replicas) and pkg/bus: every
// identity is a user with exactly its grant, and every stage's pod holds
// its own identity's seed.
func TestNATSConfig(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		w := natsStatefulSet(t, s)
		conf := natsConf(t, s, w)
		o := conf.opts
		port := func(name string) int {
			p, ok := containerPort(&w.pod.Spec, intstr.FromString(name))
			if !ok {
				t.Errorf("%s: no port %s", w, name)
			}
			return int(p.ContainerPort)
		}
		if o.ServerName != w.name+"-0" {
			t.Errorf("server_name %q, want the pod's name %s-0", o.ServerName, w.name)
		}
		if o.Port != port("nats") || o.HTTPPort != port("monitor") {
			t.Errorf("nats.conf listens on %d and monitors on %d; the pod's ports are %d and %d", o.Port, o.HTTPPort, port("nats"), port("monitor"))
		}
		if o.MaxPayload != natsembed.DefaultMaxPayload {
			t.Errorf("max_payload %d; assay's own server takes %d", o.MaxPayload, natsembed.DefaultMaxPayload)
		}
		// JetStream on the node's volume, within its size.
		if !o.JetStream {
			t.Error("JetStream is off")
		}
		var claim *corev1.PersistentVolumeClaim
		for _, m := range conf.c.VolumeMounts {
			for i, p := range w.sts.Spec.VolumeClaimTemplates {
				if p.Name == m.Name && m.MountPath == o.StoreDir {
					claim = &w.sts.Spec.VolumeClaimTemplates[i]
				}
			}
		}
		if claim == nil {
			t.Errorf("store_dir %s is not the node's volume claim", o.StoreDir)
		} else if size := claim.Spec.Resources.Requests.Storage(); o.JetStreamMaxStore <= 0 || o.JetStreamMaxStore > size.Value() {
			t.Errorf("max_file_store %d is not within the volume's %s", o.JetStreamMaxStore, size)
		}
		// Routes to every node, by the names the headless service gives.
		n := int(*w.replicas)
		if n > 1 {
			var routes []string
			for _, r := range o.Routes {
				routes = append(routes, r.Host)
			}
			var want []string
			for i := range n {
				want = append(want, net.JoinHostPort(fmt.Sprintf("%s-%d.%s", w.name, i, w.sts.Spec.ServiceName), strconv.Itoa(o.Cluster.Port)))
			}
			if !slices.Equal(routes, want) || o.Cluster.Port != port("cluster") || o.Cluster.Name == "" {
				t.Errorf("routes %v on %d; want %v on the pod's cluster port %d, with a cluster name", routes, o.Cluster.Port, want, port("cluster"))
			}
		} else if len(o.Routes) > 0 || o.Cluster.Port != 0 {
			t.Errorf("a single node with routes %v", o.Routes)
		}
		// The streams' replicas fit the nodes.
		for _, ac := range s.assayContainers(t) {
			if v, ok := flagValue(ac.c.Args, "replicas"); ok {
				if r, err := strconv.Atoi(v); err != nil || r < 1 || r > n {
					t.Errorf("%s: --replicas %s with %d NATS nodes", ac.w, v, n)
				}
			}
		}
		// Let nats-server check the options as a whole, as it does
		// before it starts.
		cp := o.Clone()
		cp.StoreDir, cp.NoLog, cp.NoSigs = t.TempDir(), true, true
		srv, err := server.NewServer(cp)
		if err != nil {
			t.Errorf("nats-server refuses the configuration: %v", err)
		} else {
			srv.Shutdown()
		}
		checkUsers(t, s, o)
	})
}

// checkUsers checks that the configuration's users are assay's
// identities, each with its grant from pkg/bus, and that every assay pod
// authenticates as its own identity.
func checkUsers(t *testing.T, s *site, o *server.Options) {
	t.Helper()
	if len(o.Users) > 0 || len(o.Accounts) > 0 {
		t.Errorf("users with passwords %d, accounts %d: want only assay's nkey identities", len(o.Users), len(o.Accounts))
	}
	identity := map[string]string{}
	for _, id := range bus.Identities {
		pub, err := bus.NKeyPublic(filepath.Join(secretsDir(t), "nats", id+".nk"))
		if err != nil {
			t.Fatal(err)
		}
		identity[pub] = id
	}
	seen := map[string]bool{}
	for _, u := range o.Nkeys {
		id, ok := identity[u.Nkey]
		if !ok {
			t.Errorf("user %s is none of assay's identities", u.Nkey)
			continue
		}
		seen[id] = true
		g, _ := bus.GrantOf(id, bus.Inbox(u.Nkey))
		p := u.Permissions
		if p == nil || !sameSubjects(p.Publish, g.Publish) || !sameSubjects(p.Subscribe, g.Subscribe) || (p.Response != nil) != g.Respond {
			t.Errorf("identity %s: permissions %+v differ from its grant in pkg/bus", id, p)
		}
	}
	for _, id := range bus.Identities {
		if !seen[id] {
			t.Errorf("identity %s is not a user", id)
		}
	}
	for _, ac := range s.assayContainers(t) {
		file, ok := setting(ac.c.Args, ac.env, "nats-nkey", "ASSAY_NATS_NKEY")
		if !ok {
			t.Errorf("%s: no nkey seed (ASSAY_NATS_NKEY)", ac.w)
			continue
		}
		seed, err := s.file(ac.w.namespace, &ac.w.pod.Spec, ac.c, file)
		if err != nil {
			t.Errorf("%s: %v", ac.w, err)
			continue
		}
		kp, err := nkeys.ParseDecoratedNKey(seed)
		if err != nil {
			t.Errorf("%s: %s: %v", ac.w, file, err)
			continue
		}
		pub, _ := kp.PublicKey()
		want := ac.w.pod.Labels["app.kubernetes.io/component"]
		if want == "topology" {
			// It creates the streams: only admin may.
			want = bus.IdentityAdmin
		}
		if identity[pub] != want {
			t.Errorf("%s authenticates as %q, want %s", ac.w, identity[pub], want)
		}
	}
}

// sameSubjects reports whether a permission allows exactly subjects (an
// empty grant: denies everything).
func sameSubjects(p *server.SubjectPermission, subjects []string) bool {
	if p == nil {
		return false
	}
	if len(subjects) == 0 {
		return len(p.Allow) == 0 && slices.Equal(p.Deny, []string{">"})
	}
	a, b := slices.Clone(p.Allow), slices.Clone(subjects)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b) && len(p.Deny) == 0
}
