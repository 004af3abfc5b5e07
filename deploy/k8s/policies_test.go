package k8s_test

import (
	"slices"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNetworkPolicies checks that traffic is denied unless allowed, that
// every selector of this namespace's pods selects some, and that every
// port a policy names is a port of the pods it concerns.
func TestNetworkPolicies(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		nps := all[*networkingv1.NetworkPolicy](s.objs, "NetworkPolicy")
		denyAll := false
		for _, np := range nps {
			if len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0 &&
				len(np.Spec.Ingress) == 0 && len(np.Spec.Egress) == 0 && len(np.Spec.PolicyTypes) == 2 {
				denyAll = true
			}
			own, err := s.selects(np.Namespace, &np.Spec.PodSelector)
			if err != nil || len(own) == 0 {
				t.Errorf("NetworkPolicy %s selects no pods (%v)", np.Name, err)
				continue
			}
			for _, r := range np.Spec.Ingress {
				// Ports of an ingress rule are the selected pods'.
				checkPorts(t, np, "ingress", own, r.Ports)
				checkPeers(t, s, np, "ingress", r.From)
			}
			for _, r := range np.Spec.Egress {
				peers := checkPeers(t, s, np, "egress", r.To)
				if peers != nil {
					checkPorts(t, np, "egress", peers, r.Ports)
				}
			}
		}
		if !denyAll {
			t.Errorf("%s: no NetworkPolicy denies all traffic by default", s.dir)
		}
		// Each stage may reach NATS and DNS, and infer, judge and score
		// (embeddings) their endpoints; none other leaves the cluster.
		for _, w := range s.workloads() {
			if w.pod.Labels["app.kubernetes.io/name"] != "assay" {
				continue
			}
			comp := w.pod.Labels["app.kubernetes.io/component"]
			public := false
			for _, np := range nps {
				if ws, _ := s.selects(np.Namespace, &np.Spec.PodSelector); !slices.ContainsFunc(ws, func(x workload) bool { return x.name == w.name }) {
					continue
				}
				for _, r := range np.Spec.Egress {
					for _, p := range r.To {
						if p.IPBlock != nil {
							public = true
						}
					}
				}
			}
			if wantPublic := comp == "infer" || comp == "judge" || comp == "score"; public != wantPublic {
				t.Errorf("%s: may reach addresses outside the cluster: %v, want %v", w, public, wantPublic)
			}
		}
	})
}

// checkPeers checks the peers of a rule that select pods of the policy's
// own namespace, and returns the pods they select (nil when a peer is
// elsewhere, whose pods this test cannot see).
func checkPeers(t *testing.T, s *site, np *networkingv1.NetworkPolicy, dir string, peers []networkingv1.NetworkPolicyPeer) []workload {
	t.Helper()
	var out []workload
	for _, p := range peers {
		if p.NamespaceSelector != nil || p.IPBlock != nil || p.PodSelector == nil {
			return nil
		}
		ws, err := s.selects(np.Namespace, p.PodSelector)
		if err != nil || len(ws) == 0 {
			t.Errorf("NetworkPolicy %s: an %s peer selects no pods: %v (%v)", np.Name, dir, metav1.FormatLabelSelector(p.PodSelector), err)
		}
		out = append(out, ws...)
	}
	return out
}

// checkPorts checks that each port is a port of every pod in ws.
func checkPorts(t *testing.T, np *networkingv1.NetworkPolicy, dir string, ws []workload, ports []networkingv1.NetworkPolicyPort) {
	t.Helper()
	for _, p := range ports {
		if p.Port == nil || (p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP) {
			continue
		}
		for _, w := range ws {
			if _, ok := containerPort(&w.pod.Spec, *p.Port); !ok {
				t.Errorf("NetworkPolicy %s: %s port %s is no port of %s", np.Name, dir, p.Port.String(), w)
			}
		}
	}
}

// TestEndpointPolicy loads each kustomization's endpoint policy as the
// stages do, and checks that every key file it names is a key of a
// Secret mounted where infer and judge read it.
func TestEndpointPolicy(t *testing.T) {
	forEach(t, func(t *testing.T, s *site) {
		for _, ac := range s.assayContainers(t) {
			file, ok := setting(ac.c.Args, ac.env, "endpoints", "ASSAY_ENDPOINTS")
			comp := ac.w.pod.Labels["app.kubernetes.io/component"]
			if !ok {
				if comp == "ingest" || comp == "infer" || comp == "judge" || comp == "score" {
					t.Errorf("%s: no endpoint policy (ASSAY_ENDPOINTS)", ac.w)
				}
				continue
			}
			b, err := s.file(ac.w.namespace, &ac.w.pod.Spec, ac.c, file)
			if err != nil {
				t.Errorf("%s: %v", ac.w, err)
				continue
			}
			f, err := eval.ParseEndpointsFile(file, b)
			if err != nil {
				t.Errorf("%s: %v", ac.w, err)
				continue
			}
			// Ingest checks secrets by name; infer, judge and score read
			// them.
			if comp != "infer" && comp != "judge" && comp != "score" {
				continue
			}
			for name, ref := range f.Secrets {
				if ref.File == "" {
					continue
				}
				if v, err := s.file(ac.w.namespace, &ac.w.pod.Spec, ac.c, ref.File); err != nil {
					t.Errorf("%s: secret %s: %v", ac.w, name, err)
				} else if len(v) == 0 {
					t.Errorf("%s: secret %s: %s is empty", ac.w, name, ref.File)
				}
			}
		}
	})
}
