package k8s_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizations are the directories a site applies with kubectl apply -k.
var kustomizations = []string{"base", "overlays/dev", "overlays/production"}

// types are the kinds the manifests may hold, each with its upstream Go
// type. A kind missing here fails the test: add its type rather than let
// an object go unchecked.
var types = map[schema.GroupVersionKind]func() metav1.Object{
	corev1.SchemeGroupVersion.WithKind("Namespace"):             func() metav1.Object { return new(corev1.Namespace) },
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"):        func() metav1.Object { return new(corev1.ServiceAccount) },
	corev1.SchemeGroupVersion.WithKind("Service"):               func() metav1.Object { return new(corev1.Service) },
	corev1.SchemeGroupVersion.WithKind("ConfigMap"):             func() metav1.Object { return new(corev1.ConfigMap) },
	corev1.SchemeGroupVersion.WithKind("Secret"):                func() metav1.Object { return new(corev1.Secret) },
	appsv1.SchemeGroupVersion.WithKind("Deployment"):            func() metav1.Object { return new(appsv1.Deployment) },
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"):           func() metav1.Object { return new(appsv1.StatefulSet) },
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"): func() metav1.Object { return new(policyv1.PodDisruptionBudget) },
	networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"):   func() metav1.Object { return new(networkingv1.NetworkPolicy) },
	kedav1alpha1.SchemeGroupVersion.WithKind("ScaledObject"):    func() metav1.Object { return new(kedav1alpha1.ScaledObject) },
	kedav1alpha1.SchemeGroupVersion.WithKind("TriggerAuthentication"): func() metav1.Object {
		return new(kedav1alpha1.TriggerAuthentication)
	},
}

// object is one rendered object, decoded into its Go type.
type object struct {
	Kind      string
	Namespace string
	Name      string
	Obj       metav1.Object
}

func (o *object) String() string { return o.Kind + " " + o.Namespace + "/" + o.Name }

// objects are what a kustomization renders.
type objects []*object

// find returns the object of kind named name in namespace, or nil.
func (os objects) find(kind, namespace, name string) *object {
	for _, o := range os {
		if o.Kind == kind && o.Namespace == namespace && o.Name == name {
			return o
		}
	}
	return nil
}

// all returns the objects of kind, decoded as T.
func all[T any](os objects, kind string) []T {
	var out []T
	for _, o := range os {
		if o.Kind == kind {
			out = append(out, any(o.Obj).(T))
		}
	}
	return out
}

// render builds the kustomization in dir, as kubectl apply -k would, and
// decodes every object strictly. Any error fails the test.
func render(t *testing.T, dir string) objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out objects
	for _, r := range m.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("kustomize build %s: %s %s: %v", dir, r.GetKind(), r.GetName(), err)
		}
		o, err := decode(b)
		if err != nil {
			t.Errorf("%s: %s %s: %v", dir, r.GetKind(), r.GetName(), err)
			continue
		}
		out = append(out, o)
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// decode decodes a rendered object into the Go type of its kind: a field
// the type does not have (misspelled, misplaced, or of another version),
// a field given twice, or a kind the test does not know, is an error.
func decode(b []byte) (*object, error) {
	var tm metav1.TypeMeta
	if err := json.Unmarshal(b, &tm); err != nil {
		return nil, err
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return nil, err
	}
	newObj, ok := types[gv.WithKind(tm.Kind)]
	if !ok {
		return nil, fmt.Errorf("kind %s of %s is not one the test knows: add its Go type to types", tm.Kind, tm.APIVersion)
	}
	obj := newObj()
	strict, err := kjson.UnmarshalStrict(b, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, errors.Join(strict...)
	}
	return &object{Kind: tm.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), Obj: obj}, nil
}

// TestRender renders every kustomization and decodes each object strictly
// into its upstream type.
func TestRender(t *testing.T) {
	for _, dir := range kustomizations {
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			os := render(t, dir)
			kinds := map[string]int{}
			for _, o := range os {
				kinds[o.Kind]++
			}
			for _, k := range []string{"Namespace", "StatefulSet", "Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount"} {
				if kinds[k] == 0 {
					t.Errorf("%s renders no %s", dir, k)
				}
			}
			t.Logf("%s: %d objects %v", dir, len(os), kinds)
		})
	}
}

// TestDecodeRefuses shows that decoding refuses what a typo makes: an
// unknown field, a field given twice, and an unknown kind.
func TestDecodeRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replica":1}}`,
		"wrong case":      `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"Replicas":1}}`,
		"duplicate field": `{"apiVersion":"v1","kind":"Service","metadata":{"name":"x","name":"y"}}`,
		"unknown kind":    `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"x"}}`,
		"keda field":      `{"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"x"},"spec":{"scaleTargetRef":{"name":"x"},"triggers":[{"type":"cpu","metadata":{},"metaData":{}}]}}`,
	} {
		if _, err := decode([]byte(doc)); err == nil {
			t.Errorf("%s: decoded %s", name, doc)
		}
	}
}

// TestKustomizationsListed keeps kustomizations complete: an overlay the
// tests do not render is an overlay nobody checks.
func TestKustomizationsListed(t *testing.T) {
	dirs, err := filepath.Glob("overlays/*/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d := filepath.Dir(d); !slices.Contains(kustomizations, d) {
			t.Errorf("%s is not in kustomizations", d)
		}
	}
}
