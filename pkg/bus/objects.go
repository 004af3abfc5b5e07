package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Reading an object of a JetStream object store is not safe against the
// object being replaced meanwhile: the reader learns the object's chunk
// subject, then subscribes to it, and a Put in between purges the chunks it
// was about to read. The reader then waits for chunks that will never come,
// until its context's deadline, or, with none, gives up after the client's
// default timeout of 5 seconds whatever the size of the object. Reports are
// replaced while people read them (a continuous run's every few seconds), so
// every whole-object read goes through ReadObject.

// objectStall is how long a read may go beyond the time its object's size
// calls for before it is taken to have lost its object to a replacement;
// objectRate is the slowest transfer (bytes per second) still taken as
// progress. The client cannot be interrupted inside a read, only given a
// deadline, so a replaced object costs one such deadline.
const (
	objectStall = 10 * time.Second
	objectRate  = 1 << 20
)

// objectAttempts bounds the reads of an object that keeps being replaced.
const objectAttempts = 5

// objectGetter is the part of an object store ReadObject uses.
type objectGetter interface {
	GetInfo(ctx context.Context, name string, opts ...jetstream.GetObjectInfoOpt) (*jetstream.ObjectInfo, error)
	GetBytes(ctx context.Context, name string, opts ...jetstream.GetObjectOpt) ([]byte, error)
}

var errStalled = errors.New("it stopped arriving: it was replaced while being read")

// ReadObject reads a whole object from store. A read that stalls because
// the object was replaced under it starts again, and reads the new version.
// ctx bounds the whole read.
func ReadObject(ctx context.Context, store jetstream.ObjectStore, name string) ([]byte, error) {
	return readObject(ctx, store, name, objectStall)
}

func readObject(ctx context.Context, store objectGetter, name string, stall time.Duration) ([]byte, error) {
	var err error
	for range objectAttempts {
		var data []byte
		data, err = readOnce(ctx, store, name, stall)
		if !errors.Is(err, errStalled) {
			return data, err
		}
	}
	return nil, fmt.Errorf("reading %s: %w, %d times", name, err, objectAttempts)
}

func readOnce(ctx context.Context, store objectGetter, name string, stall time.Duration) ([]byte, error) {
	info, err := store.GetInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	budget := stall + time.Duration(float64(info.Size)/objectRate*float64(time.Second))
	actx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	data, err := store.GetBytes(actx, name)
	if err != nil && ctx.Err() == nil && (actx.Err() != nil || timedOut(err)) {
		return nil, errStalled
	}
	return data, err
}

// timedOut recognises the client's ways of saying its deadline passed: the
// pipe it reads through may time out just before the context does.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
