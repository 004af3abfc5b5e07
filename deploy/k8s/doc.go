// Package k8s holds the tests of assay's Kubernetes manifests (base/,
// overlays/, components/): they render every kustomization with
// kustomize's Go API, decode each object strictly into its upstream Go
// type (KEDA's for the ScaledObjects), check what the objects say of each
// other and of the binaries they run (built from this checkout), and load
// the NATS configuration with nats-server's own parser.
//
// The module is not in go.work, so that the Kubernetes dependencies stay
// out of assay's own modules:
//
//	cd deploy/k8s && GOWORK=off go test -race ./...
package k8s
