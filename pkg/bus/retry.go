package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultWait is how long a process waits at start for a cluster to form.
const DefaultWait = 2 * time.Minute

// JetStream error codes a forming or recovering cluster answers with.
const (
	errCodeNoPeers       jetstream.ErrorCode = 10005 // no suitable peers for placement
	errCodeNotAvailable  jetstream.ErrorCode = 10008 // JetStream system temporarily unavailable
	errCodeNotLeader     jetstream.ErrorCode = 10009 // JetStream cluster can not handle request
	errCodeStreamOffline jetstream.ErrorCode = 10118 // stream is offline
	errCodeOfflineReason jetstream.ErrorCode = 10194 // stream is offline: reason
)

// Retryable reports whether err may pass by itself while a cluster forms or
// elects a leader: a request that timed out or found no responder, or
// JetStream saying it is not ready yet. Anything else — a permission
// refused, a configuration rejected — is permanent.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, nats.ErrPermissionViolation) || errors.Is(err, nats.ErrAuthorization) {
		return false
	}
	if errors.Is(err, errNotYet) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected) ||
		// jetstream reports a request nobody answered as "not enabled".
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		return true
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case errCodeNoPeers, errCodeNotAvailable, errCodeNotLeader, errCodeStreamOffline, errCodeOfflineReason:
		return true
	}
	// "Not enabled for the account" is a 503 too, but a setting of the
	// server's, which waiting does not change.
	return apiErr.Code == 503 && apiErr.ErrorCode != jetstream.JSErrCodeJetStreamNotEnabledForAccount
}

// errNotYet marks a stream or bucket that was just created, by this process
// or another, but is not found yet: on a cluster that has just formed, the
// replicas may answer before they have started it.
var errNotYet = errors.New("created but not visible yet")

// notYet marks a not-found err as [errNotYet]; other errors pass as they are.
func notYet(err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("%w (%w)", err, errNotYet)
	}
	return err
}
