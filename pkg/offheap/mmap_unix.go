//go:build unix

package offheap

import "syscall"

const canMap = true

func mapBytes(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}

func unmapBytes(b []byte) {
	// Only a whole mapping Make made comes here: unmapping it cannot fail
	// but for a bug (an array freed twice, or not from Make), which must
	// not go unnoticed.
	if err := syscall.Munmap(b); err != nil {
		panic("offheap: releasing an array: " + err.Error())
	}
}
