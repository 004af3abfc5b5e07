package main

import (
	"os"
	"path/filepath"
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
