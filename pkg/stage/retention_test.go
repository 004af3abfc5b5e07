package stage

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"go.yaml.in/yaml/v3"
)

func TestParseAge(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"720h", 720 * time.Hour, ""},
		{"30d", 30 * 24 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{" 90m ", 90 * time.Minute, ""},
		{"none", -1, ""},
		{"NONE", -1, ""},
		{"0", 0, "not positive"},
		{"0d", 0, "not positive"},
		{"-1h", 0, "not positive"},
		{"-2d", 0, "not positive"},
		{"30", 0, "not a duration"},
		{"d", 0, "not a duration"},
		{"30 days", 0, "not a duration"},
		{"1e400d", 0, "not a duration"},
		{"infd", 0, "not a duration"},
		{"NaNd", 0, "not a duration"},
		{"", 0, "not a duration"},
	} {
		got, err := ParseAge(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ParseAge(%q) = %v, %v; want %v", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseAge(%q) = %v, %v; want an error saying %q", c.in, got, err, c.err)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  string
	}{
		{"10GiB", 10 << 30, ""},
		{"500MB", 500e6, ""},
		{"500mb", 500e6, ""},
		{"1048576", 1 << 20, ""},
		{"64 KiB", 64 << 10, ""},
		{"1.5GiB", 3 << 29, ""},
		{"2k", 2000, ""},
		{"100B", 100, ""},
		{"none", -1, ""},
		{"0", 0, "not positive"},
		{"0.1", 0, "not positive"},
		{"-5MB", 0, "not a size"},
		{"10XB", 0, "not a size"},
		{"GiB", 0, "not a size"},
		{"1e9", 0, "not a size"},
		{"", 0, "not a size"},
		{"1.2.3MB", 0, "not a size"},
		{"9000000TiB", 0, "too large"},
	} {
		got, err := ParseByteSize(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ParseByteSize(%q) = %v, %v; want %v", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseByteSize(%q) = %v, %v; want an error saying %q", c.in, got, err, c.err)
		}
	}
}

// FuzzParseRetention: whatever an operator writes, the parsers return a
// positive value, none (-1), or an error, and what String shows reads
// back as the same value.
func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{"720h", "30d", "1.5d", "none", "10GiB", "500MB", "1048576", "0", "-1h", "1e400d", "9000000TiB", "0.5KiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseAge(s); err == nil {
			if d == 0 || d < -1 {
				t.Fatalf("ParseAge(%q) = %v", s, d)
			}
			a := Age(d)
			if back, err := ParseAge(a.String()); err != nil || back != d {
				t.Fatalf("ParseAge(%q) = %v, shown as %q, read back as %v, %v", s, d, a.String(), back, err)
			}
		}
		if n, err := ParseByteSize(s); err == nil {
			if n == 0 || n < -1 {
				t.Fatalf("ParseByteSize(%q) = %v", s, n)
			}
			b := ByteSize(n)
			if back, err := ParseByteSize(b.String()); err != nil || back != n {
				t.Fatalf("ParseByteSize(%q) = %v, shown as %q, read back as %v, %v", s, n, b.String(), back, err)
			}
		}
	})
}

func TestIntakeRetentionFlags(t *testing.T) {
	t.Setenv(IntakeMaxAgeEnv, "7d")
	t.Setenv(IntakeMaxBytesEnv, "1GiB")
	var r IntakeRetention
	fs := flag.NewFlagSet("assay-ingest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r.Register(fs)
	if err := fs.Parse([]string{"--intake-max-bytes", "500MB"}); err != nil {
		t.Fatal(err)
	}
	var o bus.Options
	r.Apply(&o)
	if r.Err() != nil || o.IntakeMaxAge != 7*24*time.Hour || o.IntakeMaxBytes != 500e6 {
		t.Fatalf("env 7d and flag 500MB gave %v, %d (%v)", o.IntakeMaxAge, o.IntakeMaxBytes, r.Err())
	}

	// A bad flag names itself; a bad variable names itself.
	err := fs.Parse([]string{"--intake-max-age", "a month"})
	if err == nil || !strings.Contains(err.Error(), "intake-max-age") || !strings.Contains(err.Error(), "30d") {
		t.Errorf("bad --intake-max-age: %v", err)
	}
	t.Setenv(IntakeMaxBytesEnv, "lots")
	var bad IntakeRetention
	bad.Register(flag.NewFlagSet("x", flag.ContinueOnError))
	if err := bad.Err(); err == nil || !strings.Contains(err.Error(), IntakeMaxBytesEnv) {
		t.Errorf("bad %s: %v", IntakeMaxBytesEnv, err)
	}
}

func TestIntakeRetentionYAML(t *testing.T) {
	var c struct {
		Age   Age      `yaml:"intake_max_age"`
		Bytes ByteSize `yaml:"intake_max_bytes"`
	}
	if err := yaml.Unmarshal([]byte("intake_max_age: 30d\nintake_max_bytes: 1048576\n"), &c); err != nil || c.Age != Age(720*time.Hour) || c.Bytes != 1<<20 {
		t.Fatalf("got %v %v, %v", c.Age, c.Bytes, err)
	}
	err := yaml.Unmarshal([]byte("intake_max_age: 30d\nintake_max_bytes: 10 gigs\n"), &c)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a bad size: %v", err)
	}
}

func TestDedupeWindow(t *testing.T) {
	t.Setenv(DedupeWindowEnv, "45s")
	var r IntakeRetention
	fs := flag.NewFlagSet("assay-ingest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r.Register(fs)
	var o bus.Options
	r.Apply(&o)
	if r.Err() != nil || o.SampleDuplicates != 45*time.Second {
		t.Fatalf("env 45s gave %v (%v)", o.SampleDuplicates, r.Err())
	}
	if err := fs.Parse([]string{"--dedupe-window", "2m"}); err != nil {
		t.Fatal(err)
	}
	r.Apply(&o)
	if o.SampleDuplicates != 2*time.Minute {
		t.Fatalf("flag 2m gave %v", o.SampleDuplicates)
	}
	// Unset leaves the bus its default (an existing stream keeps its own).
	var none IntakeRetention
	o = bus.Options{}
	none.Apply(&o)
	if o.SampleDuplicates != 0 {
		t.Fatalf("unset gave %v", o.SampleDuplicates)
	}
	for _, bad := range []string{"none", "0s", "-5s", "a while", "30"} {
		if err := fs.Parse([]string{"--dedupe-window", bad}); err == nil || !strings.Contains(err.Error(), "dedupe-window") {
			t.Errorf("--dedupe-window %q: %v", bad, err)
		}
	}
	var c struct {
		W Window `yaml:"dedupe_window"`
	}
	if err := yaml.Unmarshal([]byte("dedupe_window: 90s\n"), &c); err != nil || c.W != Window(90*time.Second) {
		t.Fatalf("yaml 90s: %v %v", c.W, err)
	}
	if err := yaml.Unmarshal([]byte("x: 1\ndedupe_window: forever\n"), &c); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("yaml bad window: %v", err)
	}
	t.Setenv(DedupeWindowEnv, "soon")
	var bad IntakeRetention
	bad.Register(flag.NewFlagSet("x", flag.ContinueOnError))
	if err := bad.Err(); err == nil || !strings.Contains(err.Error(), DedupeWindowEnv) {
		t.Errorf("bad %s: %v", DedupeWindowEnv, err)
	}
}
