// Package gztest makes gzip data for tests of readers of compressed input.
package gztest

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// Gzipped is data compressed with gzip.
func Gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
