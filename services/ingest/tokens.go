package ingest

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
)

// IntakeTokensEnv is the environment variable the intake's tokens may be
// given in, as entries of the tokens file separated by commas or newlines.
const IntakeTokensEnv = "ASSAY_INTAKE_TOKENS"

// minTokenLen is the shortest token accepted: 16 characters of a random
// token are ~95 bits when drawn from letters and digits.
const minTokenLen = 16

// AnySource is the source of a token that any source may use.
const AnySource = "*"

// IntakeTokens are the bearer tokens the intake accepts, by source. Only
// digests are kept, compared in constant time.
type IntakeTokens struct {
	bySource map[string][][32]byte
}

// Len is the number of tokens.
func (t IntakeTokens) Len() int {
	n := 0
	for _, ts := range t.bySource {
		n += len(ts)
	}
	return n
}

// Allows reports whether token may send queries from source: it is one of
// the source's tokens or of those of [AnySource].
func (t IntakeTokens) Allows(source, token string) bool {
	if token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	ok := 0
	// Every candidate is compared, so that the time taken does not say
	// which one matched.
	for _, src := range [2]string{source, AnySource} {
		for _, want := range t.bySource[src] {
			ok |= subtle.ConstantTimeCompare(sum[:], want[:])
		}
	}
	return ok == 1
}

// ParseIntakeTokens reads tokens written as "source=token" entries, one a
// line or separated by commas; blank lines and lines starting with '#' are
// skipped. A source may have several tokens (to rotate them); the source
// "*" is any source. where names the text in errors, which never quote a
// token.
func ParseIntakeTokens(where, text string) (IntakeTokens, error) {
	t := IntakeTokens{bySource: map[string][][32]byte{}}
	for n, line := range strings.Split(text, "\n") {
		for entry := range strings.SplitSeq(line, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" || strings.HasPrefix(entry, "#") {
				continue
			}
			source, token, ok := strings.Cut(entry, "=")
			source, token = strings.TrimSpace(source), strings.TrimSpace(token)
			switch {
			case !ok:
				return IntakeTokens{}, fmt.Errorf("%s:%d: an entry is source=token, e.g. support-chat=<a random token of %d characters or more>", where, n+1, minTokenLen)
			case source != AnySource:
				if err := eval.CheckSourceName(source); err != nil {
					return IntakeTokens{}, fmt.Errorf("%s:%d: %w", where, n+1, err)
				}
			}
			if len(token) < minTokenLen || strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) {
				return IntakeTokens{}, fmt.Errorf("%s:%d: the token of %q must be %d or more printable ASCII characters without spaces (e.g. from openssl rand -hex 24)", where, n+1, source, minTokenLen)
			}
			t.bySource[source] = append(t.bySource[source], sha256.Sum256([]byte(token)))
		}
	}
	return t, nil
}

// LoadIntakeTokens reads the tokens in file (when set) and in the value of
// [IntakeTokensEnv] (env, when set), together.
func LoadIntakeTokens(file, env string) (IntakeTokens, error) {
	all := IntakeTokens{bySource: map[string][][32]byte{}}
	add := func(where, text string) error {
		t, err := ParseIntakeTokens(where, text)
		for src, ts := range t.bySource {
			all.bySource[src] = append(all.bySource[src], ts...)
		}
		return err
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return IntakeTokens{}, fmt.Errorf("reading intake tokens: %w", err)
		}
		if err := add(file, string(data)); err != nil {
			return IntakeTokens{}, err
		}
	}
	if env != "" {
		if err := add(IntakeTokensEnv, env); err != nil {
			return IntakeTokens{}, err
		}
	}
	return all, nil
}
