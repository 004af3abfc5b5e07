package abtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Spill keeps the units of a fold that have gone quiet — no event within
// the horizon, no conversation open — on disk, so that a fold's memory
// follows the units active within the horizon, not every unit the
// experiment ever had. A unit that comes back is read back. The file is
// scratch: the fold is rebuilt from the events' stream whenever the
// report starts, so it is created empty and unlinked as soon as it is
// open — a process killed leaves nothing behind.
type Spill struct {
	db *bolt.DB
}

var spillBucket = []byte("units")

// OpenSpill creates a spill file in dir, made if missing (empty: the
// system's temporary directory).
func OpenSpill(dir string) (*Spill, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("making the live experiments' spill directory %q (set the report's spill directory to a writable one): %w", dir, err)
		}
	}
	f, err := os.CreateTemp(dir, "assay-ab-units-*.db")
	if err != nil {
		return nil, fmt.Errorf("creating a live experiment's spill file in %q (set the report's spill directory to a writable one): %w", dir, err)
	}
	path := f.Name()
	f.Close()
	// Nothing is synced: the file is rebuilt from the stream after a
	// crash, never read by a later process.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true, NoFreelistSync: true, NoGrowSync: true})
	// Once open, bbolt works on its descriptor and mapping: the name can
	// go.
	os.Remove(path)
	if err == nil {
		err = db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(spillBucket)
			return err
		})
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, fmt.Errorf("opening a live experiment's spill file %s: %w", path, err)
	}
	return &Spill{db: db}, nil
}

// Close closes the file, which frees its space.
func (s *Spill) Close() error { return s.db.Close() }

// Size is the file's size in bytes.
func (s *Spill) Size() int64 {
	var n int64
	_ = s.db.View(func(tx *bolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n
}

// put writes units' records, by unit id, in one transaction.
func (s *Spill) put(recs map[string][]byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(spillBucket)
		for k, v := range recs {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// get reads a unit's record, if it was spilled.
func (s *Spill) get(unit string) (rec []byte, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(spillBucket).Get([]byte(unit)); v != nil {
			// The value is valid only inside the transaction.
			rec, ok = append([]byte(nil), v...), true
		}
		return nil
	})
	return rec, ok, err
}

// spillVersion is the record's layout.
const spillVersion = 1

// encodeUnit is a quiet unit's record: its arm, exposure and last event
// times, and its totals (those its arm's moments hold), zeros left out.
func encodeUnit(u *unit) []byte {
	b := make([]byte, 0, 64)
	b = append(b, spillVersion)
	b = binary.AppendUvarint(b, uint64(len(u.arm)))
	b = append(b, u.arm...)
	b = binary.AppendVarint(b, u.exposed.UnixNano())
	b = binary.AppendVarint(b, u.last.UnixNano())
	vals := u.values()
	var mask uint64
	for i, v := range vals {
		if v != 0 {
			mask |= 1 << i
		}
	}
	b = binary.AppendUvarint(b, mask)
	for i, v := range vals {
		if mask&(1<<i) != 0 {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

// values are the unit's totals since and before its exposure, flat.
func (u *unit) values() (out [4 * nMetrics]float64) {
	for m := range nMetrics {
		out[4*m], out[4*m+1], out[4*m+2], out[4*m+3] = u.cur[m][0], u.cur[m][1], u.pre[m][0], u.pre[m][1]
	}
	return out
}

// decodeUnit reads a record of [encodeUnit] into a unit whose totals are
// in its arm's moments, as they were when it was spilled.
func decodeUnit(b []byte) (*unit, error) {
	bad := errors.New("a spilled unit's record is corrupt")
	if len(b) == 0 || b[0] != spillVersion {
		return nil, bad
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, bad
	}
	u := &unit{arm: string(b[k : k+int(n)]), convs: map[string]*conv{}, in: true}
	b = b[k+int(n):]
	var times [2]int64
	for i := range times {
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, bad
		}
		times[i], b = v, b[k:]
	}
	u.exposed, u.last = time.Unix(0, times[0]).UTC(), time.Unix(0, times[1]).UTC()
	mask, k := binary.Uvarint(b)
	if k <= 0 || mask>>(4*nMetrics) != 0 {
		return nil, bad
	}
	b = b[k:]
	var vals [4 * nMetrics]float64
	for i := range vals {
		if mask&(1<<i) == 0 {
			continue
		}
		if len(b) < 8 {
			return nil, bad
		}
		vals[i], b = math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:]
	}
	if len(b) != 0 {
		return nil, bad
	}
	for m := range nMetrics {
		u.cur[m] = [2]float64{vals[4*m], vals[4*m+1]}
		u.pre[m] = [2]float64{vals[4*m+2], vals[4*m+3]}
	}
	u.inCur, u.inPre = u.cur, u.pre
	return u, nil
}
