package k8s_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// stages are the components that run a stage binary, assay-<stage>.
var stages = []string{bus.StageIngest, bus.StageInfer, bus.StageScore, bus.StageJudge, bus.StageReport}

// imageName returns the image of ref without its registry path, tag and
// digest: registry.example.com/ml/assay-infer:1.4.0 is assay-infer.
func imageName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref[strings.LastIndex(ref, "/")+1:]
}

// assayContainer is a container running one of assay's images.
type assayContainer struct {
	w      workload
	c      *corev1.Container
	binary string // the image's binary, e.g. assay-infer
	env    map[string]string
}

func (s *site) assayContainers(t *testing.T) []assayContainer {
	t.Helper()
	imgs := images(t)
	var out []assayContainer
	for _, w := range s.workloads() {
		if w.pod.Labels["app.kubernetes.io/name"] != "assay" {
			continue
		}
		for i := range w.pod.Spec.Containers {
			c := &w.pod.Spec.Containers[i]
			img := imageName(c.Image)
			if !slices.Contains(imgs, img) {
				t.Errorf("%s: container %s runs image %s, which make images does not build (%v)", w, c.Name, c.Image, imgs)
				continue
			}
			out = append(out, assayContainer{w, c, img, containerEnv(c, w.name)})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no assay containers", s.dir)
	}
	return out
}

// TestWorkloads checks each assay pod: the image of its stage, probes on
// the metrics address, a termination grace period above the stage's
// shutdown grace, a non-root read-only container with a writable /tmp,
// and memory settings that fit its limit.
func TestWorkloads(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		seen := map[string]bool{}
		for _, ac := range s.assayContainers(t) {
			w, c := ac.w, ac.c
			comp := w.pod.Labels["app.kubernetes.io/component"]
			seen[comp] = true
			want := "assay"
			if slices.Contains(stages, comp) {
				want = "assay-" + comp
			}
			if ac.binary != want {
				t.Errorf("%s (component %s) runs %s, want image %s", w, comp, ac.binary, want)
			}
			if w.kind != "Deployment" || w.name != "assay-"+comp {
				t.Errorf("%s: component %s belongs in Deployment assay-%s", w, comp, comp)
			}

			// Probes on the metrics address, which must listen beyond
			// loopback for the kubelet to reach it.
			addr, ok := setting(c.Args, ac.env, "metrics-addr", "ASSAY_METRICS_ADDR")
			if !ok {
				t.Errorf("%s: no ASSAY_METRICS_ADDR: metrics and health stay on loopback", w)
				continue
			}
			host, port, err := hostPort(addr)
			if err != nil || (host != "0.0.0.0" && host != "" && host != "::") {
				t.Errorf("%s: metrics address %q: want 0.0.0.0:PORT (%v)", w, addr, err)
			}
			for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
				wantPath := map[string]string{"readiness": "/readyz", "liveness": "/healthz", "startup": "/healthz"}[name]
				if p == nil || p.HTTPGet == nil {
					t.Errorf("%s: no HTTP %s probe", w, name)
					continue
				}
				if p.HTTPGet.Path != wantPath {
					t.Errorf("%s: %s probe asks %s, want %s", w, name, p.HTTPGet.Path, wantPath)
				}
				if cp, ok := containerPort(&w.pod.Spec, p.HTTPGet.Port); !ok || int(cp.ContainerPort) != port {
					t.Errorf("%s: %s probe's port %s is not the metrics address's %d", w, name, p.HTTPGet.Port.String(), port)
				}
			}
			// /healthz is served once the stage has joined NATS, which
			// it waits for up to its startup timeout.
			startup := helpDefault(t, ac.binary, "startup-timeout")
			if v, ok := setting(c.Args, ac.env, "startup-timeout", "ASSAY_STARTUP_TIMEOUT"); ok {
				startup = mustDuration(t, w, "startup timeout", v)
			}
			if p := c.StartupProbe; p != nil && time.Duration(p.PeriodSeconds*p.FailureThreshold)*time.Second < startup {
				t.Errorf("%s: the startup probe gives up after %ds, before the stage's startup timeout %s", w, p.PeriodSeconds*p.FailureThreshold, startup)
			}

			// The grace period covers the shutdown grace and the drain
			// of the connection after it (up to 5s).
			if ac.binary != "assay" {
				grace := helpDefault(t, ac.binary, "shutdown-grace")
				if v, ok := setting(c.Args, ac.env, "shutdown-grace", "ASSAY_SHUTDOWN_GRACE"); ok {
					grace = mustDuration(t, w, "shutdown grace", v)
				}
				tgp := 30 * time.Second
				if w.pod.Spec.TerminationGracePeriodSeconds != nil {
					tgp = time.Duration(*w.pod.Spec.TerminationGracePeriodSeconds) * time.Second
				}
				if tgp < grace+5*time.Second {
					t.Errorf("%s: terminationGracePeriodSeconds %s is not above the shutdown grace %s and the 5s drain", w, tgp, grace)
				}
			}

			// Non-root, read-only, /tmp writable.
			psc, sc := w.pod.Spec.SecurityContext, c.SecurityContext
			if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != 65532 || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
				t.Errorf("%s: the pod must run as the images' user 65532, non-root", w)
			}
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s: container %s: want a read-only root, no privilege escalation, every capability dropped", w, c.Name)
			}
			if !writable(&w.pod.Spec, c, "/tmp") {
				t.Errorf("%s: /tmp (TMPDIR: spill and temporary files) is not a writable volume", w)
			}

			// Memory: a limit, and GOMEMLIMIT below it.
			limit, ok := c.Resources.Limits[corev1.ResourceMemory]
			if !ok || c.Resources.Requests.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
				t.Errorf("%s: container %s needs cpu and memory requests and a memory limit", w, c.Name)
			} else if v, ok := ac.env["GOMEMLIMIT"]; ok {
				gm := goMemLimit(t, w, v)
				if float64(gm) > 0.9*float64(limit.Value()) {
					t.Errorf("%s: GOMEMLIMIT %s is above 90%% of the memory limit %s", w, v, limit.String())
				}
			}

			// Its own service account, without a token.
			checkServiceAccount(t, s, w)
		}
		for _, comp := range append([]string{"topology"}, stages...) {
			if !seen[comp] {
				t.Errorf("%s: no Deployment runs %s", s.dir, comp)
			}
		}
	})
}

func mustDuration(t *testing.T, w workload, what, v string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		t.Errorf("%s: %s %q is not a duration: the binary would take its default", w, what, v)
	}
	return d
}

// goMemLimit parses a GOMEMLIMIT value as the Go runtime does: bytes, or
// a number with B, KiB, MiB, GiB or TiB.
func goMemLimit(t *testing.T, w workload, v string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)(B|KiB|MiB|GiB|TiB)?$`).FindStringSubmatch(v)
	if m == nil {
		t.Errorf("%s: GOMEMLIMIT %q is not a size the Go runtime reads", w, v)
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n << map[string]int{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
}

// writable reports whether dir is a writable volume of c.
func writable(pod *corev1.PodSpec, c *corev1.Container, dir string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath == dir && !m.ReadOnly {
			for _, v := range pod.Volumes {
				if v.Name == m.Name && v.EmptyDir != nil {
					return true
				}
			}
		}
	}
	return false
}

func checkServiceAccount(t *testing.T, s *site, w workload) {
	t.Helper()
	spec := &w.pod.Spec
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken must be false: no pod here talks to the API server", w)
	}
	o := s.objs.find("ServiceAccount", w.namespace, spec.ServiceAccountName)
	if spec.ServiceAccountName == "" || o == nil {
		t.Errorf("%s: service account %q does not exist", w, spec.ServiceAccountName)
		return
	}
	if sa := o.Obj.(*corev1.ServiceAccount); sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount %s: automountServiceAccountToken must be false", sa.Name)
	}
}

// TestBinaries runs every assay container's binary with the container's
// arguments, as built from this checkout: an argument the binary does not
// take, or a value it cannot parse, fails; and every ASSAY_ variable the
// container sets must be one the binary reads (its help names them).
func TestBinaries(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		for _, ac := range s.assayContainers(t) {
			w, c := ac.w, ac.c
			var out string
			var code int
			if ac.binary == "assay" {
				// cobra parses the flags before it shows the help.
				out, code = run(t, "assay", append(slices.Clone(c.Args), "--help"), nil)
			} else {
				out, code = run(t, ac.binary, append(slices.Clone(c.Args), "-version"), nil)
				if code == 0 && !strings.HasPrefix(out, ac.binary+" ") {
					t.Errorf("%s: %s %v -version printed %q", w, ac.binary, c.Args, out)
				}
			}
			if code != 0 {
				t.Errorf("%s: %s refuses the container's arguments %q (exit %d):\n%s", w, ac.binary, c.Args, code, out)
			}
			help := helpText(t, ac.binary)
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, "ASSAY_") && !regexp.MustCompile(`\b`+e.Name+`\b`).MatchString(help) {
					t.Errorf("%s: %s does not read %s (its help names every variable it reads)", w, ac.binary, e.Name)
				} else if !strings.HasPrefix(e.Name, "ASSAY_") && e.Name != "GOMEMLIMIT" {
					t.Errorf("%s: variable %s is neither assay's nor the Go runtime's", w, e.Name)
				}
			}
			if v, ok := setting(c.Args, ac.env, "log-level", "ASSAY_LOG_LEVEL"); ok && !slices.Contains([]string{"debug", "info", "warn", "error"}, v) {
				t.Errorf("%s: log level %q", w, v)
			}
			// The NATS servers it dials are the NATS client service.
			nats, ok := flagValue(c.Args, "nats")
			if !ok && ac.binary != "assay" {
				nats, ok = ac.env["ASSAY_NATS"]
			}
			if !ok {
				t.Errorf("%s: no NATS URL: it would dial 127.0.0.1:4222", w)
			} else if err := s.checkNATSURLs(w.namespace, nats); err != nil {
				t.Errorf("%s: %v", w, err)
			}
		}
	})
}

var helps = map[string]string{}

// helpText returns a binary's help: assay up's for assay, which runs
// assay up here.
func helpText(t *testing.T, binary string) string {
	t.Helper()
	if h, ok := helps[binary]; ok {
		return h
	}
	args := []string{"-h"}
	if binary == "assay" {
		args = []string{"up", "--help"}
	}
	out, code := run(t, binary, args, nil)
	if code != 0 {
		t.Fatalf("%s %v: exit %d: %s", binary, args, code, out)
	}
	helps[binary] = out
	return out
}

// helpDefault returns the default duration of a binary's flag, as its
// help shows it.
func helpDefault(t *testing.T, binary, flag string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+-{1,2}` + flag + ` duration\b.*(?:\n\s+[^-\s].*)*?\(default ([^)]+)\)`).FindStringSubmatch(helpText(t, binary))
	if m == nil {
		t.Fatalf("%s's help shows no default for -%s", binary, flag)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("%s -%s: default %q: %v", binary, flag, m[1], err)
	}
	return d
}

// TestReferences checks what the objects name: the ConfigMaps, Secrets
// and keys of volumes, the files arguments and variables name, the pods
// of Services and PodDisruptionBudgets, a StatefulSet's headless service,
// and a Deployment's selector.
func TestReferences(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		for _, w := range s.workloads() {
			spec := &w.pod.Spec
			if sel, err := s.selects(w.namespace, w.selector); err != nil || !slices.ContainsFunc(sel, func(x workload) bool { return x.name == w.name && x.kind == w.kind }) {
				t.Errorf("%s: its selector does not select its own pods (%v)", w, err)
			} else if len(sel) > 1 {
				t.Errorf("%s: its selector also selects %v", w, sel)
			}
			for _, v := range spec.Volumes {
				switch {
				case v.ConfigMap != nil && s.objs.find("ConfigMap", w.namespace, v.ConfigMap.Name) == nil:
					t.Errorf("%s: volume %s: no ConfigMap %s", w, v.Name, v.ConfigMap.Name)
				case v.Secret != nil && s.objs.find("Secret", w.namespace, v.Secret.SecretName) == nil:
					t.Errorf("%s: volume %s: no Secret %s (secrets.sh makes the Secrets)", w, v.Name, v.Secret.SecretName)
				}
			}
			for i := range spec.Containers {
				c := &spec.Containers[i]
				for _, m := range c.VolumeMounts {
					if !slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) &&
						(w.sts == nil || !slices.ContainsFunc(w.sts.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == m.Name })) {
						t.Errorf("%s: mount %s: no volume %s", w, m.MountPath, m.Name)
					}
				}
				// Every file an argument or a variable names is there.
				var paths []string
				for _, a := range c.Args {
					if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
						a = v
					}
					if strings.HasPrefix(a, "/") {
						paths = append(paths, a)
					}
				}
				for _, e := range c.Env {
					if strings.HasPrefix(e.Value, "/") {
						paths = append(paths, e.Value)
					}
				}
				for _, p := range paths {
					if _, err := s.file(w.namespace, spec, c, p); err != nil {
						t.Errorf("%s: %v", w, err)
					}
				}
			}
		}
		for _, svc := range all[*corev1.Service](s.objs, "Service") {
			ws, err := s.selects(svc.Namespace, selector(svc.Spec.Selector))
			if err != nil || len(ws) == 0 {
				t.Errorf("Service %s selects no pods (%v)", svc.Name, err)
			}
			for _, p := range svc.Spec.Ports {
				for _, w := range ws {
					if _, ok := containerPort(&w.pod.Spec, p.TargetPort); !ok {
						t.Errorf("Service %s: port %s leads to no port of %s", svc.Name, p.Name, w)
					}
				}
			}
		}
		for _, pdb := range all[*policyv1.PodDisruptionBudget](s.objs, "PodDisruptionBudget") {
			ws, err := s.selects(pdb.Namespace, pdb.Spec.Selector)
			if err != nil || len(ws) != 1 {
				t.Errorf("PodDisruptionBudget %s selects %v (%v): want one workload", pdb.Name, ws, err)
			}
			if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() < 1 {
				t.Errorf("PodDisruptionBudget %s: maxUnavailable must let a node drain", pdb.Name)
			}
		}
		for _, w := range s.workloads() {
			if w.sts == nil {
				continue
			}
			o := s.objs.find("Service", w.namespace, w.sts.Spec.ServiceName)
			if o == nil || o.Obj.(*corev1.Service).Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("%s: serviceName %s is no headless Service", w, w.sts.Spec.ServiceName)
			} else if ws, _ := s.selects(w.namespace, selector(o.Obj.(*corev1.Service).Spec.Selector)); len(ws) != 1 || ws[0].name != w.name {
				t.Errorf("%s: headless Service %s selects %v", w, o.Name, ws)
			}
			if !slices.ContainsFunc(s.workloads(), func(x workload) bool { return x.kind == "StatefulSet" }) {
				t.Errorf("no StatefulSet")
			}
		}
		checkPDBCoverage(t, s)
	})
}

// checkPDBCoverage checks that every workload has a PodDisruptionBudget.
func checkPDBCoverage(t *testing.T, s *site) {
	t.Helper()
	for _, w := range s.workloads() {
		covered := false
		for _, pdb := range all[*policyv1.PodDisruptionBudget](s.objs, "PodDisruptionBudget") {
			if ws, _ := s.selects(pdb.Namespace, pdb.Spec.Selector); slices.ContainsFunc(ws, func(x workload) bool { return x.name == w.name }) {
				covered = true
			}
		}
		if !covered {
			t.Errorf("%s has no PodDisruptionBudget", w)
		}
	}
}
