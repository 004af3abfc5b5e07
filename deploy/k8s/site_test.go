package k8s_test

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// site is what a site applies: a kustomization and the Secrets
// deploy/k8s/secrets.sh made.
type site struct {
	dir  string
	objs objects
}

func load(t *testing.T, dir string) *site {
	t.Helper()
	objs := render(t, dir)
	for _, o := range render(t, secretsDir(t)) {
		if o.Kind != "Secret" {
			t.Fatalf("secrets.sh made %s", o)
		}
		objs = append(objs, o)
	}
	return &site{dir: dir, objs: objs}
}

// forEach runs check on every kustomization, as a subtest.
func forEach(t *testing.T, check func(t *testing.T, s *site)) {
	for _, dir := range kustomizations {
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			check(t, load(t, dir))
		})
	}
}

// workload is a Deployment or StatefulSet: the pods it makes.
type workload struct {
	kind, namespace, name string
	replicas              *int32
	selector              *metav1.LabelSelector
	pod                   *corev1.PodTemplateSpec
	sts                   *appsv1.StatefulSet
}

func (w workload) String() string { return w.kind + " " + w.namespace + "/" + w.name }

func (s *site) workloads() []workload {
	var out []workload
	for _, d := range all[*appsv1.Deployment](s.objs, "Deployment") {
		out = append(out, workload{"Deployment", d.Namespace, d.Name, d.Spec.Replicas, d.Spec.Selector, &d.Spec.Template, nil})
	}
	for _, st := range all[*appsv1.StatefulSet](s.objs, "StatefulSet") {
		out = append(out, workload{"StatefulSet", st.Namespace, st.Name, st.Spec.Replicas, st.Spec.Selector, &st.Spec.Template, st})
	}
	return out
}

// selects returns the workloads of namespace whose pods sel selects.
func (s *site) selects(namespace string, sel *metav1.LabelSelector) ([]workload, error) {
	ls, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	var out []workload
	for _, w := range s.workloads() {
		if w.namespace == namespace && ls.Matches(labels.Set(w.pod.Labels)) {
			out = append(out, w)
		}
	}
	return out, nil
}

// service returns the Service a client in namespace reaches at host.
func (s *site) service(namespace, host string) *corev1.Service {
	name, ns, _ := strings.Cut(host, ".")
	if ns == "" {
		ns = namespace
	} else {
		ns, _, _ = strings.Cut(ns, ".")
	}
	if o := s.objs.find("Service", ns, name); o != nil {
		return o.Obj.(*corev1.Service)
	}
	return nil
}

// containerPort resolves port (a number or a name) among the containers
// of pod.
func containerPort(pod *corev1.PodSpec, port intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if port.Type == intstr.String && p.Name == port.StrVal || port.Type == intstr.Int && p.ContainerPort == port.IntVal {
				return p, true
			}
		}
	}
	return corev1.ContainerPort{}, false
}

// checkServicePort checks that namespace's Service at host (a client's
// view: name, or name.namespace.svc…) has port, and that it leads to a
// port of its pods; it returns those pods.
func (s *site) checkServicePort(namespace, host string, port int) ([]workload, error) {
	svc := s.service(namespace, host)
	if svc == nil {
		return nil, fmt.Errorf("no Service %s in namespace %s", host, namespace)
	}
	ws, err := s.selects(svc.Namespace, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector})
	if err != nil || len(ws) == 0 {
		return nil, fmt.Errorf("Service %s selects no pods (%v)", svc.Name, err)
	}
	for _, p := range svc.Spec.Ports {
		if int(p.Port) != port {
			continue
		}
		for _, w := range ws {
			if _, ok := containerPort(&w.pod.Spec, p.TargetPort); !ok {
				return nil, fmt.Errorf("Service %s port %d: target port %s is no port of %s", svc.Name, port, p.TargetPort.String(), w)
			}
		}
		return ws, nil
	}
	return nil, fmt.Errorf("Service %s has no port %d", svc.Name, port)
}

// file returns what the container of pod sees at path p: the content of
// a key of a mounted ConfigMap or Secret, or nil for a path in a volume
// the pod writes (an emptyDir, a claim). A path in no volume, or naming
// no key, is an error.
func (s *site) file(namespace string, pod *corev1.PodSpec, c *corev1.Container, p string) ([]byte, error) {
	p = path.Clean(p)
	var mount *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) && (mount == nil || len(m.MountPath) > len(mount.MountPath)) {
			mount = &c.VolumeMounts[i]
		}
	}
	if mount == nil {
		return nil, fmt.Errorf("%s is in no volume of container %s", p, c.Name)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(p, mount.MountPath), "/")
	i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == mount.Name })
	if i < 0 {
		// A volume claim template's.
		return nil, nil
	}
	v := pod.Volumes[i]
	var items []corev1.KeyToPath
	var data map[string][]byte
	switch {
	case v.ConfigMap != nil:
		o := s.objs.find("ConfigMap", namespace, v.ConfigMap.Name)
		if o == nil {
			return nil, fmt.Errorf("volume %s: no ConfigMap %s", v.Name, v.ConfigMap.Name)
		}
		cm := o.Obj.(*corev1.ConfigMap)
		data = map[string][]byte{}
		for k, v := range cm.Data {
			data[k] = []byte(v)
		}
		maps := cm.BinaryData
		for k, v := range maps {
			data[k] = v
		}
		items = v.ConfigMap.Items
	case v.Secret != nil:
		o := s.objs.find("Secret", namespace, v.Secret.SecretName)
		if o == nil {
			return nil, fmt.Errorf("volume %s: no Secret %s (made by secrets.sh?)", v.Name, v.Secret.SecretName)
		}
		sec := o.Obj.(*corev1.Secret)
		data = sec.Data
		for k, v := range sec.StringData {
			data[k] = []byte(v)
		}
		items = v.Secret.Items
	default:
		return nil, nil
	}
	key := rel
	if items != nil {
		key = ""
		for _, it := range items {
			if it.Path == rel {
				key = it.Key
			}
		}
		if key == "" {
			return nil, fmt.Errorf("%s: volume %s projects no path %s", p, v.Name, rel)
		}
	}
	b, ok := data[key]
	if !ok {
		return nil, fmt.Errorf("%s: volume %s has no key %q", p, v.Name, key)
	}
	return b, nil
}

// containerEnv returns the container's environment as the kubelet sets it:
// values, with $(VAR) references to earlier variables expanded, and
// metadata.name for the pod's name.
func containerEnv(c *corev1.Container, podName string) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = podName
		case e.ValueFrom == nil:
			v := e.Value
			for k, val := range env {
				v = strings.ReplaceAll(v, "$("+k+")", val)
			}
			env[e.Name] = v
		}
	}
	return env
}

// flagValue returns the value of flag name in args (--name=v, -name=v,
// --name v), and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// setting returns a stage's setting: its flag in args, else its variable.
func setting(args []string, env map[string]string, flag, variable string) (string, bool) {
	if v, ok := flagValue(args, flag); ok {
		return v, true
	}
	v, ok := env[variable]
	return v, ok
}

// natsURLs checks that every server of a NATS URL list is a Service of
// namespace leading to the NATS client port.
func (s *site) checkNATSURLs(namespace, urls string) error {
	for _, u := range strings.Split(urls, ",") {
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil || pu.Scheme != "nats" {
			return fmt.Errorf("NATS URL %q: want nats://service:port", u)
		}
		port, err := strconv.Atoi(pu.Port())
		if err != nil {
			return fmt.Errorf("NATS URL %q: no port", u)
		}
		ws, err := s.checkServicePort(namespace, pu.Hostname(), port)
		if err != nil {
			return fmt.Errorf("NATS URL %q: %v", u, err)
		}
		for _, w := range ws {
			if w.sts == nil || w.pod.Labels["app.kubernetes.io/name"] != "nats" {
				return fmt.Errorf("NATS URL %q leads to %s, not the NATS StatefulSet", u, w)
			}
		}
	}
	return nil
}

// endpointSecretNames are the secrets the kustomizations' endpoint
// policies name.
func endpointSecretNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, dir := range kustomizations {
		for _, cm := range all[*corev1.ConfigMap](render(t, dir), "ConfigMap") {
			if ep, ok := cm.Data["endpoints.yaml"]; ok {
				f, err := eval.ParseEndpointsFile(dir+": endpoints.yaml", []byte(ep))
				if err != nil {
					t.Fatal(err)
				}
				for name := range f.Secrets {
					if !slices.Contains(names, name) {
						names = append(names, name)
					}
				}
			}
		}
	}
	return names
}

// hostPort splits an address, such as ASSAY_METRICS_ADDR's, into its host
// and port number.
func hostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	return h, n, err
}

// selector is the selector of a Service's label map.
func selector(m map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: m}
}
