package bus

import (
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// NKeyOptions are the connection options of a client authenticating with
// the nkey user seed in file: the nkey, and replies under the key's own
// [Inbox], the only inbox a server set up by assay lets it subscribe to.
func NKeyOptions(file string) ([]nats.Option, error) {
	pub, err := NKeyPublic(file)
	if err != nil {
		return nil, err
	}
	o, err := nats.NkeyOptionFromSeed(file)
	if err != nil {
		return nil, fmt.Errorf("%w: nkey seed file %s (--nats-nkey): %v: the file must hold a user seed, a line starting with SU (nk -gen user)", ErrClientConfig, file, err)
	}
	return []nats.Option{o, nats.CustomInboxPrefix(Inbox(pub))}, nil
}

// NKeyPublic returns the public key of the nkey user seed in file.
func NKeyPublic(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%w: reading the nkey seed file (--nats-nkey, ASSAY_NATS_NKEY): %v", ErrClientConfig, err)
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return "", fmt.Errorf("%w: nkey seed file %s (--nats-nkey): %v: the file must hold a user seed, a line starting with SU (nk -gen user)", ErrClientConfig, file, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return "", fmt.Errorf("%w: nkey seed file %s (--nats-nkey) does not hold a user seed (SU…): generate one with nk -gen user", ErrClientConfig, file)
	}
	return pub, nil
}
