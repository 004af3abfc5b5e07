package bus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
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
//
// An object named by its content (see [contentSum]) is hashed as it is
// read, and refused with [ErrIntegrity] when it does not hold what its name
// says: whoever may write the store could otherwise replace a dataset or a
// large payload under a name others trust.
func copyObject(ctx context.Context, store objectGetter, name string, stall time.Duration, start func() (io.Writer, error)) error {
	want, named := contentSum(name)
	var err error
	for range objectAttempts {
		var w io.Writer
		if w, err = start(); err != nil {
			return err
		}
		h := sha256.New()
		err = copyOnce(ctx, store, name, stall, io.MultiWriter(w, h))
		if err == nil && named {
			return checkSum(name, want, h.Sum(nil))
		}
		if !errors.Is(err, errStalled) {
			return err
		}
	}
	return fmt.Errorf("reading %s: %w, %d times", name, err, objectAttempts)
}

// ErrIntegrity marks an object whose content is not what its name says:
// it was replaced after it was stored.
var ErrIntegrity = errors.New("object content does not match its name")

// contentSum is the SHA-256 an object's name promises: datasets are named
// sha256/<hex> (see [Bus.PutDataset]), large payloads msg/<hex>.
func contentSum(name string) ([]byte, bool) {
	for _, prefix := range []string{"sha256/", "msg/"} {
		if hexSum, ok := strings.CutPrefix(name, prefix); ok {
			sum, err := hex.DecodeString(hexSum)
			return sum, err == nil && len(sum) == sha256.Size
		}
	}
	return nil, false
}

// putContent stores r under meta.Name, a name made of its content's
// SHA-256 sum, unless the store holds that content there already: a
// republished payload or a dataset submitted again is not written again
// (replacing an object pulls it from under its readers). An object of
// that name with other content was replaced by someone else, and is put
// back.
func putContent(ctx context.Context, store jetstream.ObjectStore, meta jetstream.ObjectMeta, sum []byte, r io.Reader) error {
	digest := "SHA-256=" + base64.URLEncoding.EncodeToString(sum)
	if info, err := store.GetInfo(ctx, meta.Name); err == nil && info.Digest == digest {
		return nil
	}
	if _, err := store.Put(ctx, meta, r); err != nil {
		// Putting a name again purges its old chunks after storing the
		// new ones, which most identities may not do, or it races with
		// another writer of the same content: either way, what is there
		// now may be right.
		if info, gerr := store.GetInfo(ctx, meta.Name); gerr == nil && info.Digest == digest {
			return nil
		}
		return err
	}
	return nil
}

// checkSum compares the SHA-256 of what was read of name with want.
func checkSum(name string, want, got []byte) error {
	if bytes.Equal(want, got) {
		return nil
	}
	if strings.HasPrefix(name, "msg/") {
		// Nobody publishes a message's payload again: removing the
		// object would only turn this into "not found".
		return fmt.Errorf("%w: %s holds content whose SHA-256 is %s: it was replaced after it was stored, so the message "+
			"it carries is lost and counted as an error (leave the object; look for who may write the object store)", ErrIntegrity, name, hex.EncodeToString(got))
	}
	return fmt.Errorf("%w: %s holds content whose SHA-256 is %s: it was replaced after it was stored, and is not used "+
		"(an operator removes it, e.g. nats object rm <bucket> %s, and the file is submitted again)", ErrIntegrity, name, hex.EncodeToString(got), name)
}

// PayloadLost reports whether err, from [Bus.Payload], says a message's
// payload is gone for good: its object was replaced ([ErrIntegrity]) or
// removed. Reading it again cannot help, so the message is a final
// failure rather than one to retry.
func PayloadLost(err error) bool {
	return errors.Is(err, ErrIntegrity) || errors.Is(err, jetstream.ErrObjectNotFound)
}

func copyOnce(ctx context.Context, store objectGetter, name string, stall time.Duration, w io.Writer) error {
	ictx, cancel := context.WithTimeout(ctx, stall)
	info, err := store.GetInfo(ictx, name)
	cancel()
	if err != nil {
		// Unanswered (the server this connection is on stopped answering,
		// and the client has not moved to another yet): a stall too.
		if ctx.Err() == nil && (errors.Is(ictx.Err(), context.DeadlineExceeded) || timedOut(err)) {
			return errStalled
		}
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
