// Package prometheus holds the tests of assay's dashboards and alert rules
// (deploy/grafana, deploy/prometheus): every PromQL expression of the
// dashboards and the rules parses with Prometheus's own parser, the rules
// load with its rule-file loader, and every metric they name is exported
// by a real `assay up` (built from this checkout) running a batch run, a
// continuous run and a live A/B test. Where Debian's prometheus is
// installed, a real Prometheus scrapes that assay up with the rules
// loaded, evaluates every rule without error, and fires the dead-letter
// alert for a planted dead letter.
//
// The module is not in go.work, so that Prometheus's dependencies stay out
// of assay's own modules:
//
//	cd deploy/prometheus && GOWORK=off go test -race ./...
package prometheus
