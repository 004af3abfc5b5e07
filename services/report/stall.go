package report

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultFollowerStall is how long a run's follower may go without a
// message while its stream holds a newer one for it (see
// [Config.FollowerStall]).
const DefaultFollowerStall = 2 * time.Minute

// errFollowerStalled ends a run's following when one of its ordered
// consumers no longer receives what its stream holds for it: the run is
// then followed again from the start, as by a restarted report stage.
var errFollowerStalled = errors.New("a follower of the run stalled")

// follower is one of a run's ordered consumers as its watchdog sees it:
// what it reads and how far it got. An ordered consumer is not replicated:
// when the NATS node holding it goes, the client makes a new one, but not
// after every way of going (a consumer made on a node that then dies
// before its first heartbeat, a pull the server keeps answering with
// heartbeats and no message): a follower left so would keep the run from
// ever completing.
type follower struct {
	stream, filter string
	// seq is the stream sequence of the last message handled.
	seq atomic.Uint64
	// moved is when (Unix nanoseconds) the follower began following or
	// last finished a message; busy counts the messages being handled (a
	// payload fetched again until it can be, for one; the callbacks of an
	// ordered consumer and of its successor may overlap).
	moved atomic.Int64
	busy  atomic.Int32
	// suspect is the stream's last sequence for filter when the follower
	// was first seen behind it and idle: a message already waiting at one
	// check and still not received at the next is a stall, one published
	// just before a check is not.
	suspect uint64
}

func newFollower(stream, filter string) *follower {
	f := &follower{stream: stream, filter: filter}
	f.moved.Store(time.Now().UnixNano())
	return f
}

// begin and end bracket the handling of the message at stream sequence seq.
func (f *follower) begin() { f.busy.Add(1) }

func (f *follower) end(seq uint64) {
	for {
		cur := f.seq.Load()
		if seq <= cur || f.seq.CompareAndSwap(cur, seq) {
			break
		}
	}
	f.moved.Store(time.Now().UnixNano())
	f.busy.Add(-1)
}

// lastOf returns the stream sequence of the last message stored on
// filter, 0 when there is none.
type lastOf func(ctx context.Context, stream, filter string) (uint64, error)

// check says whether f has stalled: idle for stall or longer while a
// message its stream stored for it at the previous check has still not
// come. last is asked only of a follower idle that long.
func (f *follower) check(ctx context.Context, stall time.Duration, last lastOf) (bool, error) {
	// moved before busy: a message begun after moved was read shows as
	// busy, one finished after it leaves moved recent.
	moved := f.moved.Load()
	if f.busy.Load() > 0 || time.Since(time.Unix(0, moved)) < stall || f.moved.Load() != moved {
		f.suspect = 0
		return false, nil
	}
	stored, err := last(ctx, f.stream, f.filter)
	if err != nil {
		return false, err
	}
	if stored <= f.seq.Load() {
		f.suspect = 0
		return false, nil
	}
	if f.suspect != 0 && f.seq.Load() < f.suspect {
		return true, nil
	}
	f.suspect = stored
	return false, nil
}

// lastStored asks a stream of b for the last message on filter (a
// wildcard subject): its sequence, or 0 when it holds none.
func lastStored(b *bus.Bus) lastOf {
	return func(ctx context.Context, stream, filter string) (uint64, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		m, err := b.Stream(stream).GetLastMsgForSubject(ctx, filter)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("last message of %s on %s: %w", stream, filter, err)
		}
		return m.Sequence, nil
	}
}
