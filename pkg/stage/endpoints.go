package stage

import (
	"flag"
	"log/slog"
	"os"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// Environment variables behind the endpoint policy flags.
const (
	EndpointsEnv     = "ASSAY_ENDPOINTS"
	EndpointAllowEnv = "ASSAY_ENDPOINT_ALLOW"
)

// EndpointFlags are a server's endpoint policy settings: which hosts its
// stages may call, the secrets specs may name, and whether a spec's
// api_key_env may read the server's environment.
type EndpointFlags struct {
	File           string
	Allow          string
	AllowAPIKeyEnv bool
}

// Register adds --endpoints, --endpoint-allow and --allow-api-key-env
// to fs.
func (f *EndpointFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.File, "endpoints", os.Getenv(EndpointsEnv), "YAML file of the endpoint hosts allowed (allow:) and the secrets specs may name by api_key_secret (secrets:) (env "+EndpointsEnv+")")
	fs.StringVar(&f.Allow, "endpoint-allow", os.Getenv(EndpointAllowEnv), "comma-separated endpoint hosts allowed besides the file's: host, host:port, *.suffix, address, network, loopback, private, link-local; none: public hosts only (env "+EndpointAllowEnv+")")
	fs.BoolVar(&f.AllowAPIKeyEnv, "allow-api-key-env", false, "let specs name any environment variable of this server as their key (api_key_env): trusts every submitter with the server's whole environment")
}

// Endpoints builds the policy the flags describe; readSecrets is false
// where keys are never sent (see [llm.EndpointsConfig.NameSecretsOnly]).
func (f EndpointFlags) Endpoints(readSecrets bool) (*llm.Endpoints, error) {
	return llm.LoadEndpoints(f.File, f.Allow, f.AllowAPIKeyEnv, !readSecrets)
}

// endpointStages are the binaries the policy concerns, and whether each
// reads the secrets' values at start: ingest admits runs under it by
// secret names and hosts; infer and judge call endpoints under it and
// send the keys. The others call nothing but score, which calls a run's
// embeddings endpoint (semantic_sim) under the policy too, reading a
// secret only when a call needs it (see secretsWhenCalled). Report takes
// the flags, so that every binary can be given the same settings, and
// ignores them.
var endpointStages = map[string]bool{"assay-ingest": false, "assay-infer": true, "assay-judge": true}

// secretsWhenCalled are the binaries that call endpoints few runs ask
// for, and read a secret only when a call needs it: a deployment that
// mounts the secrets where infer and judge run keeps working, and a run
// whose embeddings need one fails its calls with the secret named.
var secretsWhenCalled = map[string]bool{"assay-score": true}

// endpoints is the policy of binary name: the flags' for the stages the
// policy concerns, and for the others one that allows public hosts only
// and has no keys to send.
func (f EndpointFlags) endpoints(name string) (*llm.Endpoints, error) {
	if secretsWhenCalled[name] {
		return llm.LoadEndpointsWith(f.File, llm.EndpointsConfig{Allow: eval.SplitPatterns(f.Allow), AllowAPIKeyEnv: f.AllowAPIKeyEnv, SecretsWhenCalled: true})
	}
	readSecrets, ok := endpointStages[name]
	if !ok {
		return llm.NewEndpoints(llm.EndpointsConfig{})
	}
	return f.Endpoints(readSecrets)
}

// LogEndpoints logs a server's policy at start: its summary, and a warning
// naming each secret too short or too common to be redacted (see
// [llm.Endpoints.WeakSecrets]), so that the operator learns once why an
// echoed key may show in answers. No value is ever logged.
func LogEndpoints(logger *slog.Logger, e *llm.Endpoints) {
	logger.Info("endpoint policy", e.Summary()...)
	for _, name := range e.WeakSecrets() {
		logger.Warn("secret "+name+" is too short or too common to be redacted: an endpoint that sends it back shows it in answers; give the endpoint a key of 8 characters or more if it checks one", "secret", name)
	}
}
