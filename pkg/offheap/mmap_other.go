//go:build !unix

package offheap

import "errors"

// Elsewhere every array is made on the heap.
const canMap = false

func mapBytes(int) ([]byte, error) { return nil, errors.ErrUnsupported }

func unmapBytes([]byte) {}
