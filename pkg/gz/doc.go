// Package gz reads gzip-compressed input from outside — datasets, training
// corpora, generations to score — the one way every stage does: all of its
// members (as `cat a.gz b.gz` makes), up to a limit on what it
// decompresses to (a small file that decompresses without end is refused,
// not read for hours), with errors that wrap [ErrCompressed] and say what
// to do.
package gz
