package report

import (
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// TestSubjectsCollide: two subjects collide when one literal subject
// matches both.
func TestSubjectsCollide(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.b", "a.b.c", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{"a.>", "*", false},
		{"a.>", "*.>", true},
		{"*.b.>", "a.*.c", true},
		{"*.b.>", "a.c.>", false},
		{">", "a", true},
		{"a.*x", "a.b", false},
		{"a.*x.c", "a.b.*", false},
		{bus.RunScores("A"), bus.RunScores("B"), false},
		{bus.RunScores("A"), bus.ScoresSubject("*", "base"), true},
		{bus.RunScores("A"), bus.ScoresSubject("A", "base"), true},
		{bus.RunScores("A"), bus.RunJudgments("A"), false},
	} {
		for _, ab := range [][2]string{{c.a, c.b}, {c.b, c.a}} {
			if got := subjectsCollide(ab[0], ab[1]); got != c.want {
				t.Errorf("subjectsCollide(%q, %q) = %v, want %v", ab[0], ab[1], got, c.want)
			}
		}
	}
}

// TestReads: a consumer reads what its filters can match, and the whole
// stream when it has none.
func TestReads(t *testing.T) {
	subject := bus.RunScores("A")
	for _, c := range []struct {
		name string
		cfg  jetstream.ConsumerConfig
		want bool
	}{
		{"no filter", jetstream.ConsumerConfig{}, true},
		{"another run", jetstream.ConsumerConfig{FilterSubject: bus.RunScores("B")}, false},
		{"the run", jetstream.ConsumerConfig{FilterSubject: bus.ScoresSubject("A", "base")}, true},
		{"every run", jetstream.ConsumerConfig{FilterSubject: bus.ScoresSubject("*", "base")}, true},
		{"other runs", jetstream.ConsumerConfig{FilterSubjects: []string{bus.RunScores("B"), bus.RunScores("C")}}, false},
		{"one of them the run", jetstream.ConsumerConfig{FilterSubjects: []string{bus.RunScores("B"), bus.ScoresSubject("A", "ft")}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := reads(c.cfg, subject); got != c.want {
				t.Fatalf("reads(%+v) = %v, want %v", c.cfg, got, c.want)
			}
		})
	}
}

// FuzzSubjectsCollide holds subjectsCollide to the server's
// SubjectsCollide on valid subjects. The server takes a token that only
// begins with a wildcard ("*x") for one in some cases, where NATS reads it
// as a literal: those are left out.
func FuzzSubjectsCollide(f *testing.F) {
	for _, s := range [][2]string{
		{"a.b", "a.*"}, {"a.>", "*.b"}, {"a.>", "a"}, {"*.*", "a.>"}, {">", ">"}, {"a.*.c", "a.b.>"},
		{bus.RunScores("A"), bus.RunScores("B")}, {bus.RunScores("A"), bus.ScoresSubject("*", "base")},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !collidesAsNATS(a) || !collidesAsNATS(b) {
			t.Skip()
		}
		if got, want := subjectsCollide(a, b), server.SubjectsCollide(a, b); got != want {
			t.Fatalf("subjectsCollide(%q, %q) = %v, the server says %v", a, b, got, want)
		}
	})
}

// collidesAsNATS reports whether s is a valid subject on which the server's
// SubjectsCollide reads wildcards as NATS does.
func collidesAsNATS(s string) bool {
	if !server.IsValidSubject(s) {
		return false
	}
	for tok := range strings.SplitSeq(s, ".") {
		if len(tok) > 1 && (tok[0] == '*' || tok[0] == '>') {
			return false
		}
	}
	return true
}
