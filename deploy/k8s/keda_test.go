package k8s_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// runSpec is the long-lived run the ScaledObjects follow.
const runSpec = "components/keda/prod-watch.yaml"

// TestScaledObjects validates each ScaledObject as KEDA would (its types,
// strictly; its own checks of replica counts, fallback and triggers; the
// nats-jetstream scaler's metadata as that scaler declares it), and
// checks what it names: a Deployment whose replicas the HPA owns, the
// NATS monitoring endpoint through the headless service, and the stream
// and consumers of the run in prod-watch.yaml as assay names them.
func TestScaledObjects(t *testing.T) {
	b, err := os.ReadFile(runSpec)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := eval.ParseSpec(runSpec, b)
	if err != nil {
		t.Fatal(err)
	}
	// What each stage reads of the run: stream and consumers.
	want := map[string]struct {
		stream    string
		consumers []string
	}{
		bus.StageIngest: {bus.StreamIntake, []string{bus.IntakeConsumer(spec.Run)}},
		bus.StageScore:  {bus.StreamGens, []string{bus.ScoreConsumer(spec.Run, spec.Scoring())}},
		bus.StageInfer:  {bus.StreamSamples, nil},
		bus.StageJudge:  {bus.StreamGens, nil},
	}
	for _, v := range spec.Variants {
		w := want[bus.StageInfer]
		w.consumers = append(w.consumers, bus.InferConsumer(spec.Run, v.Name))
		want[bus.StageInfer] = w
	}
	for _, j := range spec.Judges {
		w := want[bus.StageJudge]
		w.consumers = append(w.consumers, bus.JudgeConsumer(spec.Run, j.Name))
		want[bus.StageJudge] = w
	}

	scaled := 0
	forEach(t, func(t *testing.T, s *site) {
		for _, so := range all[*kedav1alpha1.ScaledObject](s.objs, "ScaledObject") {
			scaled++
			checkScaledObject(t, so)
			ref := so.Spec.ScaleTargetRef
			if ref == nil || (ref.Kind != "" && ref.Kind != "Deployment") || (ref.APIVersion != "" && ref.APIVersion != "apps/v1") {
				t.Errorf("ScaledObject %s: scaleTargetRef %+v: want a Deployment", so.Name, ref)
				continue
			}
			o := s.objs.find("Deployment", so.Namespace, ref.Name)
			if o == nil {
				t.Errorf("ScaledObject %s: no Deployment %s to scale", so.Name, ref.Name)
				continue
			}
			d := o.Obj.(*appsv1.Deployment)
			if d.Spec.Replicas != nil {
				t.Errorf("Deployment %s sets replicas, which KEDA's HPA owns: every apply would reset them", d.Name)
			}
			if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount < 1 {
				t.Errorf("ScaledObject %s: minReplicaCount below 1: no replica would make a new run's consumers", so.Name)
			}
			stage := d.Spec.Template.Labels["app.kubernetes.io/component"]
			w, ok := want[stage]
			if !ok {
				t.Errorf("ScaledObject %s scales %s, which has no consumer backlog to scale on", so.Name, stage)
				continue
			}
			var consumers []string
			for _, tr := range so.Spec.Triggers {
				if tr.Type != "nats-jetstream" {
					t.Errorf("ScaledObject %s: trigger %s is %s, want nats-jetstream", so.Name, tr.Name, tr.Type)
					continue
				}
				if tr.Metadata["stream"] != w.stream {
					t.Errorf("ScaledObject %s: trigger %s reads stream %s; %s reads %s", so.Name, tr.Name, tr.Metadata["stream"], stage, w.stream)
				}
				consumers = append(consumers, tr.Metadata["consumer"])
				if err := s.checkMonitoring(t, so.Namespace, tr.Metadata); err != nil {
					t.Errorf("ScaledObject %s: trigger %s: %v", so.Name, tr.Name, err)
				}
			}
			slices.Sort(consumers)
			slices.Sort(w.consumers)
			if !slices.Equal(consumers, w.consumers) {
				t.Errorf("ScaledObject %s follows consumers %v; the run in %s has %v", so.Name, consumers, runSpec, w.consumers)
			}
		}
	})
	if scaled == 0 {
		t.Error("no kustomization has a ScaledObject")
	}
}

// checkScaledObject runs KEDA's checks of a ScaledObject that need no
// cluster, and parses each nats-jetstream trigger's metadata as the
// scaler does.
func checkScaledObject(t *testing.T, so *kedav1alpha1.ScaledObject) {
	t.Helper()
	for _, err := range []error{
		kedav1alpha1.ValidateTriggers(so.Spec.Triggers),
		kedav1alpha1.CheckReplicaCountBoundsAreValid(so),
		kedav1alpha1.CheckFallbackValid(so),
	} {
		if err != nil {
			t.Errorf("ScaledObject %s: %v", so.Name, err)
		}
	}
	if so.IsUsingModifiers() {
		if _, err := kedav1alpha1.ValidateAndCompileScalingModifiers(so); err != nil {
			t.Errorf("ScaledObject %s: %v", so.Name, err)
		}
	}
	// KEDA's webhook: the name is a label value, and so is the HPA's.
	if len(so.Name) > 63 || len("keda-hpa-"+so.Name) > 63 {
		t.Errorf("ScaledObject %s: name too long for its HPA", so.Name)
	}
	for i, tr := range so.Spec.Triggers {
		if tr.Type != "nats-jetstream" {
			continue
		}
		if err := parseNATSMetadata(t, tr, i); err != nil {
			t.Errorf("ScaledObject %s: trigger %s: %v", so.Name, tr.Name, err)
		}
	}
}

var kedaScaler struct {
	once   sync.Once
	fields []reflect.StructField
	err    error
}

// natsScalerFields returns the fields of the nats-jetstream scaler's
// metadata as KEDA's source declares them (the struct natsJetStreamMetadata
// of pkg/scalers/nats_jetstream_scaler.go, in the module this test
// requires), each with its keda tag: its name, where it is read from,
// whether it is optional, its default.
func natsScalerFields(t *testing.T) []reflect.StructField {
	t.Helper()
	kedaScaler.once.Do(func() {
		cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kedacore/keda/v2")
		cmd.Env = append(os.Environ(), "GOWORK=off")
		out, err := cmd.Output()
		if err != nil {
			kedaScaler.err = fmt.Errorf("go list -m github.com/kedacore/keda/v2: %v", err)
			return
		}
		file := filepath.Join(strings.TrimSpace(string(out)), "pkg", "scalers", "nats_jetstream_scaler.go")
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			kedaScaler.err = err
			return
		}
		goTypes := map[string]reflect.Type{"string": reflect.TypeFor[string](), "int64": reflect.TypeFor[int64](), "int": reflect.TypeFor[int](), "bool": reflect.TypeFor[bool]()}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || ts.Name.Name != "natsJetStreamMetadata" {
				return true
			}
			for _, fd := range ts.Type.(*ast.StructType).Fields.List {
				if fd.Tag == nil || len(fd.Names) != 1 || !fd.Names[0].IsExported() {
					continue
				}
				tag, _ := strconv.Unquote(fd.Tag.Value)
				typ, ok := goTypes[fmt.Sprint(fd.Type)]
				if !ok || reflect.StructTag(tag).Get("keda") == "" {
					kedaScaler.err = fmt.Errorf("%s: field %s: type %v or tag %q this test does not know", file, fd.Names[0].Name, fd.Type, tag)
					return false
				}
				kedaScaler.fields = append(kedaScaler.fields, reflect.StructField{Name: fd.Names[0].Name, Type: typ, Tag: reflect.StructTag(tag)})
			}
			return false
		})
		if kedaScaler.err == nil && len(kedaScaler.fields) == 0 {
			kedaScaler.err = fmt.Errorf("%s: no natsJetStreamMetadata with keda tags: the scaler changed; update this test", file)
		}
	})
	if kedaScaler.err != nil {
		t.Fatal(kedaScaler.err)
	}
	return kedaScaler.fields
}

// parseNATSMetadata parses a trigger's metadata with KEDA's own typed
// config parser, into a struct of the scaler's declared fields: a missing
// required key, or a value of the wrong type, fails as it would in KEDA.
// A key the scaler does not declare fails too (KEDA would ignore it, and
// a misspelled lagThreshold silently become its default).
func parseNATSMetadata(t *testing.T, tr kedav1alpha1.ScaleTriggers, index int) error {
	t.Helper()
	fields := append(slices.Clone(natsScalerFields(t)), reflect.StructField{Name: "TriggerIndex", Type: reflect.TypeFor[int]()})
	md := reflect.New(reflect.StructOf(fields))
	sc := &scalersconfig.ScalerConfig{TriggerMetadata: tr.Metadata, TriggerType: tr.Type, TriggerName: tr.Name, TriggerIndex: index, AuthParams: map[string]string{}, ResolvedEnv: map[string]string{}}
	if err := sc.TypedConfig(md.Interface()); err != nil {
		return err
	}
	var errs []error
	for key := range tr.Metadata {
		if !slices.ContainsFunc(fields, func(f reflect.StructField) bool {
			name, _, _ := strings.Cut(strings.TrimPrefix(f.Tag.Get("keda"), "name="), ",")
			return name == key
		}) {
			errs = append(errs, fmt.Errorf("metadata key %q is not one the nats-jetstream scaler reads", key))
		}
	}
	// The scaler's own check after parsing.
	if tr.Metadata["account"] == "" && tr.Metadata["accountID"] == "" {
		errs = append(errs, errors.New("no account name or id given"))
	}
	return errors.Join(errs...)
}

// checkMonitoring checks a nats-jetstream trigger's view of NATS: KEDA
// asks the monitoring endpoint for the consumer, and on a cluster asks
// each node by name — the first label of its route URL prefixed to the
// endpoint's host — for the consumer's leader, which it knows by server
// name. So the endpoint must be the headless service of the NATS
// StatefulSet, in the ScaledObject's namespace (KEDA runs in its own), on
// the monitoring port; each node's server name its pod's name; and the
// account the global one, as nats.conf defines no accounts.
func (s *site) checkMonitoring(t *testing.T, namespace string, md map[string]string) error {
	host, port, err := hostPort(md["natsServerMonitoringEndpoint"])
	if err != nil {
		return fmt.Errorf("natsServerMonitoringEndpoint: %v", err)
	}
	name, rest, _ := strings.Cut(host, ".")
	if rest != namespace+".svc.cluster.local" {
		return fmt.Errorf("natsServerMonitoringEndpoint %s: want %s.%s.svc.cluster.local, KEDA asking from its own namespace", host, name, namespace)
	}
	ws, err := s.checkServicePort(namespace, name, port)
	if err != nil {
		return err
	}
	svc := s.service(namespace, name)
	if svc.Spec.ClusterIP != corev1.ClusterIPNone || len(ws) != 1 || ws[0].sts == nil || ws[0].sts.Spec.ServiceName != svc.Name {
		return fmt.Errorf("natsServerMonitoringEndpoint: %s is not the headless service of the NATS StatefulSet", name)
	}
	conf := natsConf(t, s, ws[0])
	if conf.opts.HTTPPort != containerPortOf(ws[0], svc, port) {
		return fmt.Errorf("natsServerMonitoringEndpoint: port %d leads to %d, not nats.conf's http_port %d", port, containerPortOf(ws[0], svc, port), conf.opts.HTTPPort)
	}
	if conf.opts.ServerName != ws[0].name+"-0" {
		return fmt.Errorf("the first node's server name is %q, not its pod's name %s-0", conf.opts.ServerName, ws[0].name)
	}
	if len(conf.opts.Accounts) > 0 || md["account"] != "$G" {
		return fmt.Errorf("account %q: nats.conf's users are in the global account, $G", md["account"])
	}
	return nil
}

func containerPortOf(w workload, svc *corev1.Service, port int) int {
	for _, p := range svc.Spec.Ports {
		if int(p.Port) == port {
			if cp, ok := containerPort(&w.pod.Spec, p.TargetPort); ok {
				return int(cp.ContainerPort)
			}
		}
	}
	return 0
}
