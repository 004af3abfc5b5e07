package eval

import (
	"fmt"
	"regexp"
)

var secretNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidSecretName reports whether s can name a secret of the server's
// endpoint configuration: a letter or digit, then up to 63 letters,
// digits, '_', '.' or '-'.
func ValidSecretName(s string) bool { return secretNameRE.MatchString(s) }

// CheckKeySource checks the API key fields of a variant, judge or
// checkpoint: at most one of api_key_env and api_key_secret, and a secret
// name that can be one. It returns the field at fault with the problem.
func CheckKeySource(env, secret string) (field string, err error) {
	switch {
	case env != "" && secret != "":
		return "api_key_secret", fmt.Errorf("is set with api_key_env: use one (api_key_secret on a shared server, api_key_env for a run on your own machine)")
	case secret != "" && !ValidSecretName(secret):
		return "api_key_secret", fmt.Errorf("%q is not a secret name: use a letter or digit, then up to 63 letters, digits, '_', '.' or '-'", secret)
	}
	return "", nil
}
