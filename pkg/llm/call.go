package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// How long a request may outlive its caller, and what marks a streamed
// answer as sure to come: the lifecycle of one attempt (see
// [Client.post]).

// max1xx is how many informational (1xx) responses a call takes before
// the final one: enough for a proxy's keep-alives (102) through a long
// generation, and an end to an endpoint that sends nothing else.
const max1xx = 100

// paidTimeout bounds how long an answer the endpoint has begun to send is
// still read and stored after the caller gave up (Ctrl-C): the answer is
// paid for, and a few seconds cost less than asking for it again.
const paidTimeout = 5 * time.Second

// streamGrace is how long a stream still generating when the caller gives
// up may take to deliver its finish: one whose last chunk is on the way
// is kept, one with more to generate is cut without delaying the exit.
const streamGrace = 500 * time.Millisecond

// paidContext is ctx without its cancellation, bounded by paidTimeout: for
// storing an answer that is paid for.
func paidContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), paidTimeout)
}

// call is what one request has received, which decides how long it may
// outlive its caller's context.
type call struct {
	mu sync.Mutex
	// generating is set once a stream's headers are in; paid once the
	// answer is sure to come: a non-streamed response's headers, or a
	// stream's finish.
	generating, paid bool
	// ended is when the caller's context ended (zero until then); grace
	// is the timer that then ends the request.
	ended time.Time
	grace *time.Timer
	end   func()
}

// outliving returns the context of one request sent under ctx, bounded by
// timeout when it is positive, and the call that says how far the request
// has come. Until the call is paid or generating, ending ctx ends the
// request at once; a stream still generating gets streamGrace to deliver
// its finish; a paid call may outlive ctx by paidTimeout, so that an
// answer the endpoint is sending is read rather than lost. done releases
// the context.
//
// The request's context is cancelled with ctx's cause: its Err is
// context.Canceled even when ctx's deadline passed (context.Cause on it
// says DeadlineExceeded), so callers report ctx.Err(), not the request's.
func outliving(ctx context.Context, timeout time.Duration) (req context.Context, c *call, done func()) {
	req, cancelCause := context.WithCancelCause(context.WithoutCancel(ctx))
	cancelTimeout := context.CancelFunc(func() {})
	if timeout > 0 {
		req, cancelTimeout = context.WithTimeout(req, timeout)
	}
	c = &call{end: func() { cancelCause(context.Cause(ctx)) }}
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.ended = time.Now()
		switch {
		case c.paid:
			c.grace = time.AfterFunc(paidTimeout, c.end)
		case c.generating:
			c.grace = time.AfterFunc(streamGrace, c.end)
		default:
			c.end()
		}
	})
	done = func() {
		stop()
		c.mu.Lock()
		if c.grace != nil {
			c.grace.Stop()
		}
		c.mu.Unlock()
		cancelTimeout()
		c.end()
	}
	return req, c, done
}

// streaming records that a stream's headers are in: the endpoint has begun
// generating, and the answer is not yet sure to come.
func (c *call) streaming() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generating = true
}

// informational records that what came was an informational (1xx)
// response: nothing is on its way yet, and a caller that gave up ends the
// request now.
func (c *call) informational() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paid || !c.generating {
		return
	}
	c.generating = false
	if c.grace != nil && c.grace.Stop() {
		c.grace = nil
		c.end()
	}
}

// answered records that the answer is sure to come. A stream that
// finishes within its grace after the caller gave up is given the rest of
// paidTimeout to be read.
func (c *call) answered() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paid {
		return
	}
	c.paid = true
	if c.grace != nil && c.grace.Stop() {
		c.grace = time.AfterFunc(paidTimeout-time.Since(c.ended), c.end)
	}
}

// finishWatch passes a stream's body through and calls finished once it
// has delivered the answer's finish: a finish_reason for the first choice,
// or [DONE]. readStream parses the events; this only looks for the end.
type finishWatch struct {
	r        io.Reader
	finished func()
	line     []byte
	// skip drops the rest of a line longer than readStream accepts.
	skip, done bool
}

func (w *finishWatch) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	b := p[:n]
	for len(b) > 0 && !w.done {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.keep(b)
			break
		}
		w.keep(b[:i])
		b = b[i+1:]
		if !w.skip && streamFinished(w.line) {
			w.done = true
			w.finished()
		}
		w.line, w.skip = w.line[:0], false
	}
	return n, err
}

func (w *finishWatch) keep(b []byte) {
	if w.skip || len(w.line)+len(b) > maxEvent {
		w.line, w.skip = w.line[:0], true
		return
	}
	w.line = append(w.line, b...)
}

// maxEvent is the longest event line readStream reads.
const maxEvent = 8 << 20

// streamFinished reports whether an event line ends the answer.
func streamFinished(line []byte) bool {
	data, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return false
	}
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("[DONE]")) {
		return true
	}
	if !bytes.Contains(data, []byte(`"finish_reason"`)) {
		return false
	}
	var ch struct {
		Choices []struct {
			Index        int    `json:"index"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if json.Unmarshal(data, &ch) != nil {
		return false
	}
	for _, c := range ch.Choices {
		if c.Index == 0 && c.FinishReason != "" {
			return true
		}
	}
	return false
}
