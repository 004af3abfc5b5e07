package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
//
// Whatever the object, a read given no deadline gets the client's default
// of 5 seconds for the whole object, which caps the size that can be read
// at all: every read here has a deadline of its own, from the object's
// size.

// objectStall is how long a read may go beyond the time its object's size
// calls for before it is taken to have lost its object to a replacement;
// objectRate is the slowest transfer (bytes per second) still taken as
// progress. The client cannot be interrupted inside a read, only given a
// deadline, so a replaced object costs one such deadline.
const (
	objectStall = 10 * time.Second
	objectRate  = 1 << 20
)

// objectAttempts bounds the reads of an object that keeps being replaced
// or stalling.
const objectAttempts = 5

// objectGetter is the part of an object store the reads use.
type objectGetter interface {
	GetInfo(ctx context.Context, name string, opts ...jetstream.GetObjectInfoOpt) (*jetstream.ObjectInfo, error)
	Get(ctx context.Context, name string, opts ...jetstream.GetObjectOpt) (jetstream.ObjectResult, error)
}

var errStalled = errors.New("it stopped arriving: it was replaced while being read, or the connection stalled")

// ReadObject reads a whole object from store. A read that stalls because
// the object was replaced under it starts again, and reads the new version.
// ctx bounds the whole read.
func ReadObject(ctx context.Context, store jetstream.ObjectStore, name string) ([]byte, error) {
	return readObject(ctx, store, name, objectStall)
}

func readObject(ctx context.Context, store objectGetter, name string, stall time.Duration) ([]byte, error) {
	var buf bytes.Buffer
	err := copyObject(ctx, store, name, stall, func() (io.Writer, error) {
		buf.Reset()
		return &buf, nil
	})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// copyObject copies an object into the writer start gives, and starts
// again with a new one from start when the read stalls: the budget of a
// read is stall plus the time its size takes at objectRate, so that an
// object of any size has the time it needs, and no more than that plus
// stall is lost to a stalled read.
func copyObject(ctx context.Context, store objectGetter, name string, stall time.Duration, start func() (io.Writer, error)) error {
	var err error
	for range objectAttempts {
		var w io.Writer
		if w, err = start(); err != nil {
			return err
		}
		err = copyOnce(ctx, store, name, stall, w)
		if !errors.Is(err, errStalled) {
			return err
		}
	}
	return fmt.Errorf("reading %s: %w, %d times", name, err, objectAttempts)
}

func copyOnce(ctx context.Context, store objectGetter, name string, stall time.Duration, w io.Writer) error {
	ictx, cancel := context.WithTimeout(ctx, stall)
	info, err := store.GetInfo(ictx, name)
	cancel()
	if err != nil {
		return err
	}
	budget := stall + time.Duration(float64(info.Size)/objectRate*float64(time.Second))
	actx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	r, err := store.Get(actx, name)
	if err == nil {
		_, err = io.Copy(w, r)
		r.Close()
	}
	if err != nil && ctx.Err() == nil && (actx.Err() != nil || timedOut(err)) {
		return errStalled
	}
	return err
}

// timedOut recognises the client's ways of saying its deadline passed: the
// pipe it reads through may time out just before the context does.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
