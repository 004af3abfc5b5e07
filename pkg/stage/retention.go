package stage

import (
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"go.yaml.in/yaml/v3"
)

// Environment variables behind the intake retention flags.
const (
	IntakeMaxAgeEnv   = "ASSAY_INTAKE_MAX_AGE"
	IntakeMaxBytesEnv = "ASSAY_INTAKE_MAX_BYTES"
	DedupeWindowEnv   = "ASSAY_DEDUPE_WINDOW"
)

// IntakeRetention is how much of the intake stream (stored production
// queries) is kept: past either limit the oldest queries are dropped. A
// process given a limit applies it at start, to an existing stream too; a
// zero field leaves an existing stream's as it is and gives a new one
// [bus.Options]' default (30 days, 10 GiB).
//
// DedupeWindow is, likewise, how long the per-sample streams (samples,
// generations, scores, judgments, dead letters, the intake) remember a
// message id to drop a message published again: given, it applies to
// existing streams too; zero leaves them as they are and gives new ones
// [bus.DefaultSampleDuplicates].
type IntakeRetention struct {
	MaxAge       Age      `yaml:"intake_max_age"`
	MaxBytes     ByteSize `yaml:"intake_max_bytes"`
	DedupeWindow Window   `yaml:"dedupe_window"`
	envErr       error
}

// Register adds --intake-max-age and --intake-max-bytes to fs, with
// defaults from ASSAY_INTAKE_MAX_AGE and ASSAY_INTAKE_MAX_BYTES; a
// malformed variable is [IntakeRetention.Err]'s.
func (r *IntakeRetention) Register(fs *flag.FlagSet) {
	if err := r.FromEnv(os.Getenv); err != nil {
		r.envErr = err
	}
	fs.Var(&r.MaxAge, "intake-max-age", "how long stored production queries are kept, e.g. 720h or 30d; none: no limit; unset: an existing intake stream keeps its own, a new one gets 30d (env "+IntakeMaxAgeEnv+")")
	fs.Var(&r.DedupeWindow, "dedupe-window", "how long the per-sample streams and the intake remember a message id to drop it when published again, e.g. 30s or 2m; unset: an existing stream keeps its own, a new one gets "+bus.DefaultSampleDuplicates.String()+" (env "+DedupeWindowEnv+")")
	fs.Var(&r.MaxBytes, "intake-max-bytes", "how much of stored production queries is kept, e.g. 10GiB or 500MB; none: no limit; unset: an existing intake stream keeps its own, a new one gets 10GiB (env "+IntakeMaxBytesEnv+")")
}

// FromEnv sets what the environment gives; an error names the variable.
func (r *IntakeRetention) FromEnv(getenv func(string) string) error {
	if v := getenv(IntakeMaxAgeEnv); v != "" {
		if err := r.MaxAge.Set(v); err != nil {
			return fmt.Errorf("%s=%q: %w", IntakeMaxAgeEnv, v, err)
		}
	}
	if v := getenv(IntakeMaxBytesEnv); v != "" {
		if err := r.MaxBytes.Set(v); err != nil {
			return fmt.Errorf("%s=%q: %w", IntakeMaxBytesEnv, v, err)
		}
	}
	if v := getenv(DedupeWindowEnv); v != "" {
		if err := r.DedupeWindow.Set(v); err != nil {
			return fmt.Errorf("%s=%q: %w", DedupeWindowEnv, v, err)
		}
	}
	return nil
}

// Err is a malformed environment variable Register read.
func (r IntakeRetention) Err() error { return r.envErr }

// Apply sets the limits on o.
func (r IntakeRetention) Apply(o *bus.Options) {
	o.IntakeMaxAge, o.IntakeMaxBytes = time.Duration(r.MaxAge), int64(r.MaxBytes)
	o.SampleDuplicates = time.Duration(r.DedupeWindow)
}

// Window is a stream's duplicate window: a positive Go duration (30s,
// 2m); 0 the default.
type Window time.Duration

// Set implements [flag.Value].
func (w *Window) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return fmt.Errorf("%q is not a positive duration: write one such as 30s or 2m", s)
	}
	*w = Window(d)
	return nil
}

// String implements [flag.Value].
func (w *Window) String() string {
	if w == nil || *w == 0 {
		return ""
	}
	return time.Duration(*w).String()
}

// Type names the value in a command's help.
func (w *Window) Type() string { return "duration" }

// UnmarshalYAML reads a Window from a YAML scalar, naming its line when
// it is malformed.
func (w *Window) UnmarshalYAML(n *yaml.Node) error {
	if err := w.Set(n.Value); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

// Age is a retention age: a Go duration (720h, 90m) or whole or decimal
// days (30d, 1.5d); none is no limit (negative), 0 the default.
type Age time.Duration

// ParseAge reads an [Age].
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "none") {
		return -1, nil
	}
	var d time.Duration
	if num, ok := strings.CutSuffix(s, "d"); ok {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsNaN(f) || f > float64(math.MaxInt64)/float64(24*time.Hour) {
			return 0, fmt.Errorf("%q is not a duration: write one such as 30d, 720h or 90m, or none for no limit", s)
		}
		d = time.Duration(f * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration: write one such as 30d, 720h or 90m, or none for no limit", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q is not positive: write a duration such as 30d or 720h, or none for no limit", s)
	}
	return d, nil
}

// Set implements [flag.Value].
func (a *Age) Set(s string) error {
	d, err := ParseAge(s)
	if err != nil {
		return err
	}
	*a = Age(d)
	return nil
}

// String implements [flag.Value].
func (a *Age) String() string {
	switch {
	case a == nil || *a == 0:
		return ""
	case *a < 0:
		return "none"
	case time.Duration(*a)%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(time.Duration(*a)/(24*time.Hour)), 10) + "d"
	}
	return time.Duration(*a).String()
}

// Type names the value in a command's help.
func (a *Age) Type() string { return "duration" }

// UnmarshalYAML reads an Age from a YAML scalar, naming its line when
// it is malformed.
func (a *Age) UnmarshalYAML(n *yaml.Node) error {
	if err := a.Set(n.Value); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

// ByteSize is a size in bytes: a number with an optional unit, decimal
// (kB, MB, GB, TB) or binary (KiB, MiB, GiB, TiB), case aside; none is no
// limit (negative), 0 the default.
type ByteSize int64

// byteUnits are the units ParseByteSize knows, lower-cased.
var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseByteSize reads a [ByteSize].
func ParseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "none") {
		return -1, nil
	}
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := byteUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" {
		return 0, fmt.Errorf("%q is not a size: write one such as 10GiB, 500MB or 1048576 (bytes), or none for no limit", s)
	}
	b := f * mult
	switch {
	case b >= math.MaxInt64:
		return 0, fmt.Errorf("%q is too large: write at most 8EiB, or none for no limit", s)
	case b < 1:
		return 0, fmt.Errorf("%q is not positive: write a size such as 10GiB or 500MB, or none for no limit", s)
	}
	return int64(b), nil
}

// Set implements [flag.Value].
func (b *ByteSize) Set(s string) error {
	n, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = ByteSize(n)
	return nil
}

// String implements [flag.Value].
func (b *ByteSize) String() string {
	switch {
	case b == nil || *b == 0:
		return ""
	case *b < 0:
		return "none"
	}
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(*b)%u.size == 0 {
			return strconv.FormatInt(int64(*b)/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(*b), 10)
}

// Type names the value in a command's help.
func (b *ByteSize) Type() string { return "size" }

// UnmarshalYAML reads a ByteSize from a YAML scalar, naming its line
// when it is malformed.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if err := b.Set(n.Value); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}
