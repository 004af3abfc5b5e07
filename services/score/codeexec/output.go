package codeexec

import (
	"fmt"
	"unicode/utf8"
)

// capture keeps the first and the last half of at most max bytes written to
// it and counts the rest, so that a flood of output costs no memory and the
// traceback at the end of stderr survives.
type capture struct {
	headCap, tailCap int
	head, tail       []byte
	total            int64
}

func newCapture(max int) *capture {
	return &capture{headCap: max - max/2, tailCap: max / 2}
}

func (c *capture) Write(p []byte) (int, error) {
	n := len(p)
	c.total += int64(n)
	if room := c.headCap - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	if len(p) == 0 || c.tailCap == 0 {
		return n, nil
	}
	if len(p) >= c.tailCap {
		c.tail = append(c.tail[:0], p[len(p)-c.tailCap:]...)
		return n, nil
	}
	c.tail = append(c.tail, p...)
	// Slide only when twice full, so that keeping the tail costs amortised
	// constant time per byte.
	if len(c.tail) >= 2*c.tailCap {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-c.tailCap:]...)
	}
	return n, nil
}

// String is everything written when it fit, else head, marker and tail,
// cut at character boundaries.
func (c *capture) String() string {
	tail := c.tail
	if len(tail) > c.tailCap {
		tail = tail[len(tail)-c.tailCap:]
	}
	dropped := c.total - int64(len(c.head)) - int64(len(tail))
	if dropped == 0 {
		return string(c.head) + string(tail)
	}
	head := cutPartialRune(c.head)
	for i := 0; i < utf8.UTFMax && len(tail) > 0 && !utf8.RuneStart(tail[0]); i++ {
		tail = tail[1:]
	}
	dropped = c.total - int64(len(head)) - int64(len(tail))
	return fmt.Sprintf("%s\n[codeexec: %d bytes truncated]\n%s", head, dropped, tail)
}

// Tail is at least the last max/2 bytes written, for reading the
// exception's name.
func (c *capture) Tail() string {
	if c.total == int64(len(c.head)+len(c.tail)) {
		return string(c.head) + string(c.tail)
	}
	return string(c.tail)
}

// cutPartialRune drops an incomplete UTF-8 sequence from the end of b.
func cutPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}
