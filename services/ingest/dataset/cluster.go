package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/tidwall/gjson"
)

// MaxCluster is the longest cluster value kept as it is, in bytes: a
// longer one (a shared passage used as the cluster) is replaced by a
// digest, so that it does not ride along in every message downstream.
const MaxCluster = 128

// ClusterOf is the cluster a record's value at a suite's cluster path
// puts its sample in: a string as it is, a number as written (7, 7.0 and
// "7" are one cluster), and "" — the sample is a cluster of its own — for
// an absent, null or empty value. A value longer than [MaxCluster] bytes
// becomes "sha256:" and 32 hex digits of its digest. A boolean, list or
// object is an error: it names a group too coarse, or none.
func ClusterOf(v gjson.Result) (string, error) {
	if !Present(v) {
		return "", nil
	}
	if v.Type != gjson.String && v.Type != gjson.Number {
		return "", fmt.Errorf("the cluster must be a string or a number, not %s", Kind(v))
	}
	c := v.String()
	if len(c) > MaxCluster {
		sum := sha256.Sum256([]byte(c))
		c = "sha256:" + hex.EncodeToString(sum[:16])
	}
	return c, nil
}

// cluster reads the record's cluster at the suite's cluster path, if it
// has one.
func (rd *Reader) cluster(root gjson.Result, n int) (string, *Problem) {
	path := rd.Suite.Cluster
	if path == "" {
		return "", nil
	}
	c, err := ClusterOf(root.Get(path))
	if err != nil {
		return "", &Problem{rd.File, n, path, err.Error()}
	}
	return c, nil
}
