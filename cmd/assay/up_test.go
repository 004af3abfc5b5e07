package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestUpConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "assay.yaml")
	if err := os.WriteFile(good, []byte("data: /var/lib/assay\nport: 5222\nservices: [ingest, report]\nmetrics_addr: \":9999\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loadUpConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "/var/lib/assay" || c.Port != 5222 || len(c.Services) != 2 || c.MetricsAddr != ":9999" || c.LogLevel != "info" {
		t.Fatalf("config = %+v", c)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("data: x\nprot: 5222\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadUpConfig(bad); err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "prot") {
		t.Fatalf("a misspelt key gave %v, want its line and name", err)
	}
}

func TestUpRefusesUnknownServices(t *testing.T) {
	_, _, err := runCLI(t, "up", "--services", "ingest,scorer", "--data", t.TempDir(), "--port", "0", "--metrics-addr", "")
	if err == nil || !strings.Contains(err.Error(), `unknown service "scorer"`) {
		t.Fatalf("got %v", err)
	}
}

func TestUpConfigServices(t *testing.T) {
	for _, c := range []struct {
		yaml string
		want []string
		err  string
	}{
		{"services: none", []string{"none"}, ""},
		{"services: [none]", []string{"none"}, ""},
		{"services: ingest,report", []string{"ingest", "report"}, ""},
		{"services: [ingest, report, ingest]", []string{"ingest", "report"}, ""},
		{"services: \"judge, report\"", []string{"judge", "report"}, ""},
		{"services:", nil, ""},
		{"services: []", nil, ""},
		{"data: x\nservices: [ingest, none]", nil, "c.yaml: line 2: services: none runs only the NATS server"},
		{"services: scorer", nil, `line 1: services: unknown service "scorer": use ingest, infer, score, judge, report, or none`},
		{"services: {ingest: true}", nil, "line 1: services: write a list of stages"},
		{"services: [[ingest]]", nil, "line 1: services: write the stages as names"},
	} {
		got, err := parseUpConfig("c.yaml", []byte(c.yaml), upConfig{})
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: got %v, want an error with %q", c.yaml, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.yaml, err)
		case !slices.Equal(got.Services, c.want):
			t.Errorf("%q: services %q, want %q", c.yaml, got.Services, c.want)
		}
	}
}

func FuzzUpConfig(f *testing.F) {
	for _, s := range []string{"services: none", "data: /x\nport: 1\nservices: [ingest, report]\n", "services: {a: b}", "services: [[x]]", "metrics_addr: \":1\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseUpConfig("f.yaml", data, upConfig{})
		if err != nil {
			return
		}
		if _, err := parseServices(c.Services); err != nil {
			t.Fatalf("accepted services %q that do not parse: %v", c.Services, err)
		}
	})
}

// TestUpEnvironment: the environment gives assay up its defaults, the file
// overrides them, and ASSAY_NATS, where clients find assay up, is not read.
func TestUpEnvironment(t *testing.T) {
	env := map[string]string{
		"ASSAY_NATS": "nats://elsewhere:4222", "ASSAY_NATS_CREDS": "/etc/assay.creds",
		"ASSAY_METRICS_ADDR": "127.0.0.1:9999", "ASSAY_LOG_LEVEL": "debug", "ASSAY_PYROSCOPE": "http://pyroscope:4040",
	}
	c := defaultUpConfig(func(k string) string { return env[k] })
	want := upConfig{Data: "assay-data", Host: "127.0.0.1", Port: 4222, Replicas: 1, Creds: "/etc/assay.creds",
		MetricsAddr: "127.0.0.1:9999", LogLevel: "debug", Pyroscope: "http://pyroscope:4040"}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("from the environment:\n got %+v\nwant %+v", c, want)
	}
	c, err := parseUpConfig("c.yaml", []byte("log_level: warn\n"), c)
	if err != nil || c.LogLevel != "warn" || c.MetricsAddr != "127.0.0.1:9999" {
		t.Fatalf("the file over the environment: %+v, %v", c, err)
	}
	if d := defaultUpConfig(func(string) string { return "" }); d.MetricsAddr != "127.0.0.1:9090" || d.Host != "127.0.0.1" {
		t.Fatalf("defaults listen beyond loopback: %+v", d)
	}
}

// TestUpRefusesWhatIsInUse: a data directory another assay holds is
// refused with its process id, a busy port is reported as one.
func TestUpRefusesWhatIsInUse(t *testing.T) {
	data := t.TempDir()
	startNATSOn(t, data)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	spec := goodSpec(t, "locked")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"data in use", []string{"up", "--data", data, "--port", "0", "--metrics-addr", ""},
			fmt.Sprintf("%s is in use by process %d", data, os.Getpid())},
		{"data in use by a local run", []string{"run", "-f", spec, "--data", data, "--no-preflight"},
			fmt.Sprintf("%s is in use by process %d", data, os.Getpid())},
		{"NATS port in use", []string{"up", "--data", t.TempDir(), "--port", busyPort, "--metrics-addr", ""},
			"listen tcp 127.0.0.1:" + busyPort + ": bind: address already in use"},
		{"metrics port in use", []string{"up", "--data", t.TempDir(), "--port", "0", "--metrics-addr", "127.0.0.1:" + busyPort},
			"listening for metrics on 127.0.0.1:" + busyPort + ": listen tcp 127.0.0.1:" + busyPort + ": bind: address already in use"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runCLI(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if code := exitCode(err, false); code != exitUnevaluated {
				t.Fatalf("exit %d, want %d", code, exitUnevaluated)
			}
		})
	}
}

// startNATSOn starts a system with only NATS on data, which it locks.
func startNATSOn(t *testing.T, data string) *system {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sys, err := startSystem(ctx, systemOptions{Data: data, Port: 0, Services: []string{"none"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop() })
	return sys
}
