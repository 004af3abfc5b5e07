package dataset

import (
	"runtime"

	"github.com/assay-eval/assay/pkg/offheap"
)

// IDs is a list of sample ids kept outside the Go heap (package offheap),
// in chunks of bytes and a place for each: a million short ids take about
// 24 MB that the collector neither scans nor lets the process hold twice,
// where a []string of them took 32 MB in a million objects it visited at
// every cycle. The zero IDs is empty and ready; a copy shares its ids.
// The memory is released some time after the list is collected.
type IDs struct{ st *idStore }

type idStore struct {
	// chunks hold the ids' bytes, an id never across two; fill is how
	// much of the last is used. chunks is apart from idStore, so that the
	// cleanup that releases it does not keep the store reachable.
	chunks *[][]byte
	fill   int
	at     offheap.Vec[idPlace]
}

type idPlace struct{ chunk, start, end uint32 }

// idChunk is the size of a chunk of ids; a longer id has a chunk of its
// own.
const idChunk = 1 << 20

// Append adds id at the end of the list.
func (l *IDs) Append(id string) {
	if l.st == nil {
		l.st = &idStore{chunks: new([][]byte)}
		runtime.AddCleanup(l.st, offheap.FreeAll[byte], l.st.chunks)
	}
	st := l.st
	chunks := *st.chunks
	if len(chunks) == 0 || st.fill+len(id) > len(chunks[len(chunks)-1]) {
		chunks = append(chunks, offheap.Make[byte](max(idChunk, len(id))))
		*st.chunks, st.fill = chunks, 0
	}
	c := len(chunks) - 1
	copy(chunks[c][st.fill:], id)
	st.at.Append(idPlace{chunk: uint32(c), start: uint32(st.fill), end: uint32(st.fill + len(id))})
	st.fill += len(id)
}

// Len is the number of ids in the list.
func (l *IDs) Len() int {
	if l.st == nil {
		return 0
	}
	return l.st.at.Len()
}

// At returns the ith id.
func (l *IDs) At(i int) string { return string(l.bytes(i)) }

// Is reports whether the ith id is id.
func (l *IDs) Is(i int, id string) bool { return string(l.bytes(i)) == id }

func (l *IDs) bytes(i int) []byte {
	if l.st == nil {
		panic("dataset: id out of range")
	}
	p := l.st.at.At(i)
	return (*l.st.chunks)[p.chunk][p.start:p.end]
}
