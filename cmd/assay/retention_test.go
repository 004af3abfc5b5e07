package main

import (
	"context"
	"github.com/nats-io/nats.go/jetstream"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/stage"
)

// TestUpIntakeRetention: assay up's intake_max_age and intake_max_bytes
// reach the intake stream, and a restart with other values changes the
// stream that exists.
func TestUpIntakeRetention(t *testing.T) {
	data := t.TempDir()
	limits := func(r stage.IntakeRetention) (time.Duration, int64) {
		t.Helper()
		cfg := streamConfigs(t, data, r, bus.StreamIntake)[0]
		return cfg.MaxAge, cfg.MaxBytes
	}
	if age, size := limits(stage.IntakeRetention{}); age != 30*24*time.Hour || size != 10<<30 {
		t.Fatalf("defaults: max age %v, max bytes %d; want 30 days and 10 GiB", age, size)
	}

	file := filepath.Join(t.TempDir(), "assay.yaml")
	if err := os.WriteFile(file, []byte("intake_max_age: 2d\nintake_max_bytes: 64KiB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(stage.IntakeMaxBytesEnv, "1GiB") // the file overrides it
	c, err := loadUpConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	if age, size := limits(c.Retention); age != 48*time.Hour || size != 64<<10 {
		t.Fatalf("after a restart with 2d and 64KiB: max age %v, max bytes %d", age, size)
	}
	// A process given no limits (a client, a stage replica) leaves the
	// operator's as they are.
	if age, size := limits(stage.IntakeRetention{}); age != 48*time.Hour || size != 64<<10 {
		t.Fatalf("after a restart without limits: max age %v, max bytes %d; want 2d and 64KiB kept", age, size)
	}
	if age, size := limits(stage.IntakeRetention{MaxBytes: 1 << 20}); age != 48*time.Hour || size != 1<<20 {
		t.Fatalf("after a restart with only 1MiB: max age %v, max bytes %d; want 2d kept and 1MiB", age, size)
	}
	if age, size := limits(stage.IntakeRetention{MaxAge: -1, MaxBytes: -1}); age != 0 || size != -1 {
		t.Fatalf("after a restart with none: max age %v, max bytes %d; want no limits", age, size)
	}
}

// TestUpIntakeRetentionRefusesBadValues: a bad value names the flag, the
// variable or the file's line.
func TestUpIntakeRetentionRefusesBadValues(t *testing.T) {
	_, _, err := runCLI(t, "up", "--intake-max-bytes", "10XB", "--data", t.TempDir(), "--port", "0", "--metrics-addr", "")
	if err == nil || !strings.Contains(err.Error(), "intake-max-bytes") || !strings.Contains(err.Error(), "10GiB") {
		t.Errorf("--intake-max-bytes 10XB: %v", err)
	}
	_, _, err = runCLI(t, "up", "--intake-max-age", "0", "--data", t.TempDir(), "--port", "0", "--metrics-addr", "")
	if err == nil || !strings.Contains(err.Error(), "intake-max-age") || !strings.Contains(err.Error(), "not positive") {
		t.Errorf("--intake-max-age 0: %v", err)
	}
	if _, err := parseUpConfig("c.yaml", []byte("data: x\nintake_max_age: a month\n"), upConfig{}); err == nil || !strings.Contains(err.Error(), "c.yaml: line 2") {
		t.Errorf("intake_max_age: a month: %v", err)
	}
	c := defaultUpConfig(func(k string) string { return map[string]string{stage.IntakeMaxAgeEnv: "forever"}[k] })
	if c.envErr == nil || !strings.Contains(c.envErr.Error(), stage.IntakeMaxAgeEnv) {
		t.Errorf("%s=forever: %v", stage.IntakeMaxAgeEnv, c.envErr)
	}
}

// TestClientKeepsIntakeRetention: once assay up has set the intake's
// limits, a client (which may not change streams) still opens the bus,
// and the limits stay.
func TestClientKeepsIntakeRetention(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: 0, Services: []string{"none"},
		Retention: stage.IntakeRetention{MaxAge: stage.Age(time.Hour), MaxBytes: 64 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sys.Stop() }()
	nc, err := bus.Connect(ctx, bus.ClientConfig{URL: sys.URL, NKey: sys.clientSeed(), Name: "test"}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b, err := bus.Open(ctx, nc, bus.Options{Wait: 10 * time.Second})
	if err != nil {
		t.Fatalf("a client opening the bus: %v", err)
	}
	info, err := b.Stream(bus.StreamIntake).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != time.Hour || info.Config.MaxBytes != 64<<10 {
		t.Fatalf("after a client opened the bus: max age %v, max bytes %d; want 1h and 64KiB", info.Config.MaxAge, info.Config.MaxBytes)
	}
}

// TestUpDedupeWindow: assay up's dedupe_window sets the per-sample
// streams' duplicate window, existing ones too; a process given none
// leaves it.
func TestUpDedupeWindow(t *testing.T) {
	data := t.TempDir()
	windows := func(r stage.IntakeRetention) (samples, events time.Duration) {
		t.Helper()
		cfgs := streamConfigs(t, data, r, bus.StreamSamples, bus.StreamEvents)
		return cfgs[0].Duplicates, cfgs[1].Duplicates
	}
	if s, e := windows(stage.IntakeRetention{}); s != bus.DefaultSampleDuplicates || e != bus.DefaultDuplicates {
		t.Fatalf("defaults: samples %v, events %v", s, e)
	}
	file := filepath.Join(t.TempDir(), "assay.yaml")
	if err := os.WriteFile(file, []byte("dedupe_window: 75s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loadUpConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	if s, e := windows(c.Retention); s != 75*time.Second || e != bus.DefaultDuplicates {
		t.Fatalf("dedupe_window 75s: samples %v, events %v", s, e)
	}
	if s, _ := windows(stage.IntakeRetention{}); s != 75*time.Second {
		t.Fatalf("a restart without a window changed it to %v", s)
	}
}

// streamConfigs starts assay up's system on data with retention r and
// returns the configs of the streams named, as it left them.
func streamConfigs(t *testing.T, data string, r stage.IntakeRetention, streams ...string) []jetstream.StreamConfig {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sys, err := startSystem(ctx, systemOptions{Data: data, Port: -1, Services: []string{"none"}, Retention: r})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sys.Stop() }()
	var out []jetstream.StreamConfig
	for _, name := range streams {
		info, err := sys.Env.Bus.Stream(name).Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, info.Config)
	}
	return out
}
