package bustest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
)

// Scan hands every message kept on b's server to scan: those of every
// stream, and so of every key-value bucket and object store, which are
// streams too. data is the message's subject, headers and payload; where
// names the stream, sequence and subject. It returns how many it scanned,
// so that a test can tell an empty scan from a clean one.
func Scan(t testing.TB, b *bus.Bus, scan func(where string, data []byte)) int {
	t.Helper()
	ctx := t.Context()
	n := 0
	names := b.JS.StreamNames(ctx)
	for name := range names.Name() {
		st, err := b.JS.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
			msg, err := st.GetMsg(ctx, seq)
			if err != nil {
				continue // deleted
			}
			var hdr bytes.Buffer
			for k, vs := range msg.Header {
				fmt.Fprintln(&hdr, k, vs)
			}
			n++
			scan(fmt.Sprintf("stream %s message %d (%s)", name, seq, msg.Subject), []byte(msg.Subject+"\n"+hdr.String()+"\n"+string(msg.Data)))
		}
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
