package ingest

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// IntakeFlags are the intake's command-line flags, shared by assay-ingest
// and assay up: register them with [IntakeFlags.Register], then read the
// configuration with [IntakeFlags.Config] once they are parsed.
type IntakeFlags struct {
	cfg        IntakeConfig
	tokensFile string
}

// Register adds the --intake-* flags to fs, with the defaults of
// [IntakeConfig].
func (f *IntakeFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.tokensFile, "intake-tokens", "", "file of the intake's tokens, one source=token a line (source * is any source); more may be given in $"+IntakeTokensEnv+"; required unless --intake-insecure")
	fs.BoolVar(&f.cfg.Insecure, "intake-insecure", false, "take intake queries without a token (only on a machine of your own)")
	fs.StringVar(&f.cfg.TLSCert, "intake-tls-cert", "", "PEM certificate the HTTP intake serves TLS with (with --intake-tls-key)")
	fs.StringVar(&f.cfg.TLSKey, "intake-tls-key", "", "PEM key of --intake-tls-cert")
	fs.IntVar(&f.cfg.MaxConcurrent, "intake-max-concurrent", 16, "HTTP intake requests handled at once; more are answered 503")
	fs.Int64Var(&f.cfg.MaxBody, "intake-max-body", maxQuery, "largest HTTP intake request body in bytes (at most 1 MiB); larger ones are answered 413")
	fs.DurationVar(&f.cfg.ReadTimeout, "intake-read-timeout", 10*time.Second, "time a client has to send a whole HTTP intake request (its headers: 5s); slower ones are cut off")
	fs.Float64Var(&f.cfg.Rate, "intake-rate", 50, "queries a second each source may send, HTTP and NATS together, after a burst of --intake-burst; past it, 429 (negative: no limit)")
	fs.IntVar(&f.cfg.Burst, "intake-burst", 100, "queries a source may send at once before --intake-rate applies")
}

// Config returns the configuration the flags give, with the tokens of
// --intake-tokens and of tokensEnv (the value of [IntakeTokensEnv]).
func (f *IntakeFlags) Config(tokensEnv string) (IntakeConfig, error) {
	cfg := f.cfg
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return IntakeConfig{}, errors.New("--intake-tls-cert and --intake-tls-key go together: give both, or neither")
	}
	tokens, err := LoadIntakeTokens(f.tokensFile, tokensEnv)
	if err != nil {
		return IntakeConfig{}, err
	}
	cfg.Tokens = tokens
	if cfg.Insecure && tokens.Len() > 0 {
		return IntakeConfig{}, fmt.Errorf("--intake-insecure takes queries without a token, yet %d tokens are given: drop one or the other", tokens.Len())
	}
	return cfg, nil
}
