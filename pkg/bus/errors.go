package bus

import (
	"errors"
	"fmt"
	"time"
)

// Keys name what a message was about, for dead-letter entries and logs.
type Keys struct {
	Run, Suite, Sample, Variant, Judge string
}

// TransientError asks for the message to be delivered again after Delay:
// the failure (a 429, a 5xx, a timeout, a lost connection) may pass.
type TransientError struct {
	Err   error
	Delay time.Duration
}

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// Transient marks err as worth retrying after delay (0 picks a backoff from
// the delivery count).
func Transient(err error, delay time.Duration) error {
	return &TransientError{Err: err, Delay: delay}
}

// PoisonError says the message can never be handled (it does not parse, it
// names a run that does not exist): it is terminated and recorded in the
// dead-letter stream with its keys.
type PoisonError struct {
	Err  error
	Keys Keys
}

func (e *PoisonError) Error() string { return e.Err.Error() }
func (e *PoisonError) Unwrap() error { return e.Err }

// Poison marks err as permanent for the message with keys.
func Poison(err error, keys Keys) error { return &PoisonError{Err: err, Keys: keys} }

// Poisonf is Poison with a formatted error.
func Poisonf(keys Keys, format string, args ...any) error {
	return Poison(fmt.Errorf(format, args...), keys)
}

// IsPoison reports whether err is a PoisonError.
func IsPoison(err error) bool {
	var p *PoisonError
	return errors.As(err, &p)
}

// PoisonIfNotFound makes err poison when what a message names does not
// exist ([ErrNotFound]), and leaves any other error — a timeout, a lost
// connection — transient, to be retried.
func PoisonIfNotFound(err error, keys Keys) error {
	if errors.Is(err, ErrNotFound) {
		return Poison(err, keys)
	}
	return err
}
