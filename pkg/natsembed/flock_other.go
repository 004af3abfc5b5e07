//go:build !unix

package natsembed

import "os"

// tryLock does not lock where flock does not exist: the data directory is
// then not protected against a second server.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlock(*os.File) {}
