package contam

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/services/ingest/internal/rss"
)

// synth generates a deterministic corpus of synthetic English-like text:
// words from a vocabulary of made-up words, drawn with Zipf's law as words
// are in real text, so that common n-grams are shared by many documents as
// they are in a real corpus.
type synth struct {
	vocab []string
	// zipf holds word indexes in proportion to their Zipf frequency: a
	// uniform pick from it is a Zipf pick of a word.
	zipf []uint32
}

func newSynth() *synth {
	const words = 50000
	r := rand.New(rand.NewPCG(7, 7))
	syll := []string{"ka", "to", "ri", "men", "sa", "lo", "ve", "dan", "pi", "qu", "el", "str", "on", "ba", "ti", "gor", "ne", "us", "al", "wi"}
	s := &synth{}
	for range words {
		var b strings.Builder
		for range 1 + r.IntN(3) {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		s.vocab = append(s.vocab, b.String())
	}
	// Zipf with exponent 1 over the vocabulary, in 1<<20 slots.
	var h float64
	for k := 1; k <= words; k++ {
		h += 1 / float64(k)
	}
	for k := 1; k <= words; k++ {
		for range int(math.Round(float64(1<<20) / (float64(k) * h))) {
			s.zipf = append(s.zipf, uint32(k-1))
		}
	}
	return s
}

// words appends about n words of document seed to b.
func (s *synth) words(b []byte, seed uint64, n int) []byte {
	// splitmix64: cheaper than math/rand, so that generating the stream
	// takes little of the CPU the check is measured on.
	x := seed * 0x9e3779b97f4a7c15
	for i := range n {
		x += 0x9e3779b97f4a7c15
		z := (x ^ x>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s.vocab[s.zipf[z%uint64(len(s.zipf))]]...)
		if z>>60 == 0 {
			b = append(b, '.')
		}
	}
	return b
}

// docWords is about 1 KB of synthetic text.
const docWords = 165

// trainJSONL streams docs training documents as JSONL through a pipe,
// generated as they are read.
func (s *synth) trainJSONL(docs int) io.Reader { return s.trainStream(docs, docWords, nil) }

// trainStream streams docs synthetic documents of about words words as
// JSONL through a pipe, generated as they are read, with planted's texts
// spread evenly among them (ids "p0", "p1", …).
func (s *synth) trainStream(docs, words int, planted []string) io.Reader {
	pr, pw := io.Pipe()
	every := docs / (len(planted) + 1)
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		var line []byte
		next := 0
		for i := range docs {
			line = append(line[:0], `{"id":"d`...)
			line = strconv.AppendInt(line, int64(i), 10)
			line = append(line, `","text":"`...)
			line = s.words(line, uint64(i), words)
			line = append(line, "\"}\n"...)
			if next < len(planted) && i == (next+1)*every {
				line = append(line, `{"id":"p`...)
				line = strconv.AppendInt(line, int64(next), 10)
				line = append(line, `","text":`...)
				line = strconv.AppendQuote(line, planted[next])
				line = append(line, "}\n"...)
				next++
			}
			if _, err := bw.Write(line); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(bw.Flush())
	}()
	return pr
}

// evalItems are items of 40 to 200 words, so that some are as long as the
// documents and get compared as near-duplicates: every tenth is an exact
// copy of a passage of a training document (or of all of it), every tenth
// (offset by five) a copy with 5% of its words replaced, the rest fresh
// text. planted maps an item to the document it copies.
func (s *synth) evalItems(n, docs int) (items []Doc, planted map[int]string) {
	r := rand.New(rand.NewPCG(11, 11))
	planted = map[int]string{}
	for i := range n {
		words := 40 + r.IntN(161)
		var text string
		switch i % 10 {
		case 0, 5:
			d := r.IntN(docs)
			all := strings.Fields(string(s.words(nil, uint64(d), docWords)))
			words = min(words, len(all))
			from := r.IntN(len(all) - words + 1)
			passage := all[from : from+words]
			if i%10 == 5 {
				for _, k := range r.Perm(words)[:(words+10)/20] {
					passage[k] = s.vocab[r.IntN(len(s.vocab))]
				}
			}
			text = strings.Join(passage, " ")
			planted[i] = "d" + strconv.Itoa(d)
		default:
			text = string(s.words(nil, uint64(1<<40+i), words))
		}
		items = append(items, Doc{ID: "e" + strconv.Itoa(i), Text: text})
	}
	return items, planted
}

// BenchmarkContamination checks 10,000 eval items against a stream of
// synthetic ~1 KB training documents: 1,000,000 of them for the figures
// the issue asks for (run it once: -bench Contamination/docs=1000000
// -benchtime 1x), 20,000 for a quick run.
func BenchmarkContamination(b *testing.B) {
	s := newSynth()
	for _, docs := range []int{20_000, 1_000_000} {
		b.Run(fmt.Sprintf("docs=%d", docs), func(b *testing.B) {
			items, planted := s.evalItems(10_000, docs)
			var rep *Report
			start := time.Now()
			for b.Loop() {
				ix, err := NewIndex(items, Options{})
				if err != nil {
					b.Fatal(err)
				}
				rep, err = ix.Check(b.Context(), Source{Path: "-", Stdin: s.trainJSONL(docs)})
				if err != nil {
					b.Fatal(err)
				}
			}
			secs := time.Since(start).Seconds() / float64(b.N)
			if rep.Train.Docs != int64(docs) || rep.Train.Failed != 0 {
				b.Fatalf("read %d documents, %d failed; want %d", rep.Train.Docs, rep.Train.Failed, docs)
			}
			found, flagged := 0, 0
			for i, res := range rep.Results {
				if _, ok := planted[i]; ok {
					if res.Contaminated {
						found++
					}
				} else if res.Contaminated {
					flagged++
				}
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(secs, "s/op")
			b.ReportMetric(float64(docs)/secs, "docs/s")
			b.ReportMetric(float64(rep.Train.Bytes)/float64(docs), "bytes/doc")
			b.ReportMetric(float64(found)/float64(len(planted)), "recall")
			b.ReportMetric(float64(flagged)/float64(len(items)-len(planted)), "false-flags")
			b.ReportMetric(float64(rss.Peak())/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MiB")
		})
	}
}
