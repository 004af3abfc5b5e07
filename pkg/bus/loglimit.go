package bus

import (
	"sync"
	"time"
)

// logEvery is how often a repeated asynchronous error is logged: a stage
// looping on a refused publish would otherwise write a line per call.
const logEvery = time.Minute

// logLimit lets one log line a window (every) through for each key, and
// counts the others, so that the next line says how many were left out.
type logLimit struct {
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	seen map[string]*logWindow
}

// logWindow is a key's current window: when its line was logged, and
// how many of the same were not since.
type logWindow struct {
	since      time.Time
	suppressed int
}

// maxLogKeys bounds the keys remembered: the subjects of errors are many
// (one per run), and windows past are forgotten once there are this many.
const maxLogKeys = 1024

func newLogLimit(every time.Duration) *logLimit {
	return &logLimit{every: every, now: time.Now, seen: map[string]*logWindow{}}
}

// allow reports whether a line for key is logged now, and how many lines
// for it were left out since the last one logged.
func (l *logLimit) allow(key string) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.seen[key]
	if w != nil && now.Sub(w.since) < l.every {
		w.suppressed++
		return false, 0
	}
	if w == nil && len(l.seen) >= maxLogKeys {
		for k, old := range l.seen {
			if now.Sub(old.since) >= l.every {
				delete(l.seen, k)
			}
		}
	}
	if w != nil {
		suppressed = w.suppressed
	}
	l.seen[key] = &logWindow{since: now}
	return true, suppressed
}
