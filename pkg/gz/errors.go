package gz

import "errors"

// ErrCompressed is the cause of every failure to decompress: a file named
// .gz that is not gzip, corrupt or cut-short data, or more than the limit
// of it. The file is the problem, so reading it again cannot help.
var ErrCompressed = errors.New("the gzip-compressed file cannot be read")
