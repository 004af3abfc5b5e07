package dedup

import (
	"errors"
	"fmt"
	"os"
)

// spill keeps the index's full slabs of kept texts in a file rather than
// in memory: a text is read back only when it is a candidate, at most
// [maxVerify] reads for a text added, while the index holds 1 MiB of
// texts at most. At a million prompts the texts are about 150 MB, the
// largest part of the index after its keys.
//
// The file is created when the first slab is full, so that a suite of a
// few thousand prompts never touches the disk, and removed as soon as it
// is created: it lives as long as the index keeps it open, and a crash
// leaves nothing behind.
type spill struct {
	dir string
	f   *os.File
	// size is how many bytes the file holds; off is, for each slab
	// written so far, its offset in the file, or -1 while the slab is in
	// memory (spillSlab extends it).
	size int64
	off  []int64
	buf  []byte
	// err is a failed read: a text that could not be compared. werr is a
	// failed write: the slab stayed in memory, and so do those after it.
	err, werr error
}

// SpillTo has the index keep the texts it has no room for in a file in
// dir (the system's temporary directory when dir is empty) instead of in
// memory. A file that cannot be created or written leaves the texts in
// memory, as without SpillTo, and [Index.SpillFailed] says why; a text
// that cannot be read back makes [Index.Err] say so. Close removes the
// file.
func (x *Index) SpillTo(dir string) { x.sp = &spill{dir: dir} }

// Err reports a kept text that could not be read back from the spill
// file, or an index used after Close: an [Index.Add] since may have
// missed a near-duplicate, so the suite should be read again.
func (x *Index) Err() error {
	if x.closed {
		return ErrClosed
	}
	if x.sp == nil {
		return nil
	}
	return x.sp.err
}

// ErrClosed is [Index.Err] once the index is closed: its texts and keys
// are gone, and [Index.Add] finds nothing.
var ErrClosed = errors.New("dedup: the near-duplicate index is closed")

// SpillFailed reports why the index keeps its texts in memory although
// it was told to spill them, or nil.
func (x *Index) SpillFailed() error {
	if x.sp == nil {
		return nil
	}
	return x.sp.werr
}

// Close releases the index's memory and its spill file; the index must
// not be used after it ([Index.Err] then says so).
func (x *Index) Close() error {
	x.closed = true
	x.exact.free()
	x.buckets.free()
	x.docs.Free()
	x.posts.Free()
	x.slabs = nil
	if x.sp == nil || x.sp.f == nil {
		return nil
	}
	err := x.sp.f.Close()
	x.sp.f = nil
	return err
}

// spillSlab writes slab i, which is full, to the file and drops it from
// memory; on a failure it stays in memory.
func (x *Index) spillSlab(i int) {
	sp := x.sp
	for len(sp.off) < len(x.slabs) {
		sp.off = append(sp.off, -1)
	}
	if sp.werr != nil {
		return
	}
	if sp.f == nil {
		f, err := os.CreateTemp(sp.dir, "assay-dedup-*")
		if err != nil {
			sp.werr = fmt.Errorf("creating the near-duplicate index's spill file: %w", err)
			return
		}
		// Unlinked at once: the open file is all that keeps it.
		if err := os.Remove(f.Name()); err != nil {
			f.Close()
			sp.werr = fmt.Errorf("unlinking the near-duplicate index's spill file: %w", err)
			return
		}
		sp.f = f
	}
	if _, err := sp.f.WriteAt(x.slabs[i], sp.size); err != nil {
		sp.werr = fmt.Errorf("writing the near-duplicate index's spill file: %w", err)
		return
	}
	sp.off[i] = sp.size
	sp.size += int64(len(x.slabs[i]))
	x.slabs[i] = nil
}

// text returns the encoded tokens of kept text dc, from memory or read
// back from the spill file; ok is false when the read failed (see
// [Index.Err]). The bytes are valid until the next call.
func (x *Index) text(dc doc) (enc []byte, ok bool) {
	if s := x.slabs[dc.slab]; s != nil {
		return s[dc.start:dc.end], true
	}
	sp := x.sp
	n := int(dc.end - dc.start)
	if cap(sp.buf) < n {
		sp.buf = make([]byte, n)
	}
	sp.buf = sp.buf[:n]
	if sp.f == nil {
		sp.err = fmt.Errorf("a kept text's spill file is closed")
		return nil, false
	}
	if _, err := sp.f.ReadAt(sp.buf, sp.off[dc.slab]+int64(dc.start)); err != nil {
		if sp.err == nil {
			sp.err = fmt.Errorf("reading a kept text back from the near-duplicate index's spill file: %w", err)
		}
		return nil, false
	}
	return sp.buf, true
}
