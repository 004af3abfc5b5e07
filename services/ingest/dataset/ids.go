package dataset

// IDs is a list of sample ids held in one byte array: a million short ids
// take about 20 MB, where a []string of them takes 32 MB in a million
// objects the garbage collector visits at every cycle.
type IDs struct {
	data []byte
	end  []uint64 // where each id ends in data
}

// Append adds id at the end of the list.
func (l *IDs) Append(id string) {
	l.data = append(l.data, id...)
	l.end = append(l.end, uint64(len(l.data)))
}

// Len is the number of ids in the list.
func (l *IDs) Len() int { return len(l.end) }

// At returns the ith id.
func (l *IDs) At(i int) string { return string(l.bytes(i)) }

// Is reports whether the ith id is id.
func (l *IDs) Is(i int, id string) bool { return string(l.bytes(i)) == id }

func (l *IDs) bytes(i int) []byte {
	start := uint64(0)
	if i > 0 {
		start = l.end[i-1]
	}
	return l.data[start:l.end[i]]
}
