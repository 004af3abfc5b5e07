package dedup

import (
	"os"
	"path/filepath"
	"testing"
)

// spillSuite is a templated suite of several slabs of kept texts, with
// near-copies planted throughout, so that most copies' twins are in
// slabs written to the spill file by the time the copy comes.
func spillSuite() []string {
	prompts, _ := templatedSuite(30_000)
	return prompts
}

// addAll adds prompts to x and returns its answers.
func addAll(x *Index, prompts []string) (matches []Match, dups []bool) {
	for _, p := range prompts {
		m, dup := x.Add(p)
		matches, dups = append(matches, m), append(dups, dup)
	}
	return matches, dups
}

// TestSpilledIndexFindsTheSame: an index that keeps its full slabs in a
// file gives every answer an index in memory gives, holds one slab of
// texts in memory, and leaves no file in its directory.
func TestSpilledIndexFindsTheSame(t *testing.T) {
	prompts := spillSuite()
	wantM, wantDup := addAll(NewIndex(DefaultMinSimilarity), prompts)

	dir := t.TempDir()
	x := NewIndex(DefaultMinSimilarity)
	x.SpillTo(dir)
	defer x.Close()
	gotM, gotDup := addAll(x, prompts)
	if err := x.Err(); err != nil {
		t.Fatal(err)
	}
	if err := x.SpillFailed(); err != nil {
		t.Fatal(err)
	}
	dropped := 0
	for i := range prompts {
		if gotM[i] != wantM[i] || gotDup[i] != wantDup[i] {
			t.Fatalf("prompt %d: spilled %+v %v, in memory %+v %v", i, gotM[i], gotDup[i], wantM[i], wantDup[i])
		}
		if gotDup[i] {
			dropped++
		}
	}
	if dropped < 100 {
		t.Fatalf("%d prompts dropped: the suite plants too few copies to test anything", dropped)
	}
	inMemory := 0
	for _, s := range x.slabs {
		if s != nil {
			inMemory++
		}
	}
	if len(x.slabs) < 3 || inMemory != 1 {
		t.Errorf("%d slabs, %d of them in memory; want several, one in memory", len(x.slabs), inMemory)
	}
	if x.sp.size == 0 {
		t.Error("nothing was written to the spill file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the spill file is in %s while the index is open: %v", dir, ents)
	}
}

// TestSpillThatCannotBeWrittenStaysInMemory: a spill directory that does
// not exist leaves the texts in memory, with the same answers, and says
// why.
func TestSpillThatCannotBeWrittenStaysInMemory(t *testing.T) {
	prompts := spillSuite()
	wantM, wantDup := addAll(NewIndex(DefaultMinSimilarity), prompts)
	x := NewIndex(DefaultMinSimilarity)
	x.SpillTo(filepath.Join(t.TempDir(), "missing"))
	gotM, gotDup := addAll(x, prompts)
	if x.SpillFailed() == nil {
		t.Fatal("SpillFailed is nil for a directory that does not exist")
	}
	if err := x.Err(); err != nil {
		t.Fatal(err)
	}
	for i := range prompts {
		if gotM[i] != wantM[i] || gotDup[i] != wantDup[i] {
			t.Fatalf("prompt %d: %+v %v, want %+v %v", i, gotM[i], gotDup[i], wantM[i], wantDup[i])
		}
	}
	for i, s := range x.slabs {
		if s == nil {
			t.Fatalf("slab %d of %d is gone although nothing could be written", i, len(x.slabs))
		}
	}
}

// TestSpillThatCannotBeReadIsAnError: a kept text that cannot be read
// back makes Err say so, rather than the index answering as if the text
// were not there.
func TestSpillThatCannotBeReadIsAnError(t *testing.T) {
	prompts := spillSuite()
	x := NewIndex(DefaultMinSimilarity)
	x.SpillTo(t.TempDir())
	addAll(x, prompts)
	if x.sp.f == nil {
		t.Fatal("nothing was spilled")
	}
	x.sp.f.Close() // the file fails every read from now on
	if m, dup := x.Add(prompts[0]); dup {
		t.Errorf("a copy of a text that cannot be read back was matched: %+v", m)
	}
	if x.Err() == nil {
		t.Error("Err is nil after a kept text could not be read")
	}
}
