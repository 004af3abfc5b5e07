package contam

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzTokens(f *testing.F) {
	for _, s := range []string{"Hello, World!", "ＧＰＴ－４模型", "Cafe\u0301", "ab\xffcd", "カタカナ 한국어", "ǅ ﬃ ⅻ ㍿", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		toks := tokens(text)
		var tok tokenizer
		hs := tok.hash(text)
		if len(hs) != len(toks) {
			t.Fatalf("%d hashes, %d tokens", len(hs), len(toks))
		}
		for i, s := range toks {
			if s == "" || !utf8.ValidString(s) {
				t.Fatalf("token %q", s)
			}
			if hs[i] != fnv1a(s) {
				t.Fatalf("hash of %q", s)
			}
			for _, r := range s {
				if unicode.IsSpace(r) || unicode.IsPunct(r) {
					t.Fatalf("token %q holds %q", s, r)
				}
			}
		}
	})
}

// FuzzSource reads any bytes as JSONL: every non-blank line is a document
// or a problem, and nothing panics.
func FuzzSource(f *testing.F) {
	for _, s := range []string{
		`{"id": "a", "text": "x"}` + "\n" + `{"id": 1, "prompt": "y"}`,
		"\xef\xbb\xbf{\"text\": \"bom\"}\r\n\r\n",
		`{"messages": [{"content": "a"}, {"content": 2}]}`,
		`{"text": ["a", "b"]}` + "\n[1]\n{\n\"text\"",
		`{"id": {"x": 1}, "text": "odd id"}`,
	} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), "messages.#.content")
	}
	f.Fuzz(func(t *testing.T, data []byte, field string) {
		src := &Source{Path: "-", Stdin: bytes.NewReader(data), Field: field, MaxLine: 1 << 10}
		docs, st, err := src.ReadAll(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		lines := 0
		for line := range bytes.Lines(data) {
			if lines == 0 {
				line = bytes.TrimPrefix(line, bom)
			}
			if len(bytes.TrimSpace(line)) > 0 {
				lines++
			}
		}
		if int64(len(docs)) != st.Docs || st.Docs+st.Failed != int64(lines) {
			t.Fatalf("%d docs, %d failed, %d non-blank lines", st.Docs, st.Failed, lines)
		}
		for _, d := range docs {
			if d.ID == "" {
				t.Fatal("empty id")
			}
		}
	})
}

// FuzzCheck: any text with a token is a contaminated copy of itself, and
// a near-copy of it inside a longer document is found too.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"one", "床前明月光，疑是地上霜。", storm, "a a a a a a a a", "x\x00y z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(tokens(text)) == 0 {
			return
		}
		ix, err := NewIndex([]Doc{{ID: "i", Text: text}}, Options{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		training := []Doc{{ID: "other", Text: "unrelated words"}, {ID: "self", Text: "before. " + text + " .after"}}
		rep, err := ix.Check(t.Context(), Source{Path: "-", Stdin: strings.NewReader(string(jsonl(t, training)))})
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Results[0]; r.Score != 1 || !r.Contaminated || (r.Match != "self" && r.Match != "other") {
			t.Fatalf("%+v", r)
		}
	})
}
