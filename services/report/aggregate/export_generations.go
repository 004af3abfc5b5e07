package aggregate

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// generationSchema is the schema of an exported generations Parquet file:
// the fields of [GenerationLine] in its order, the conversation, reference
// and turns as JSON text and the usage as three columns.
var generationSchema = arrow.NewSchema([]arrow.Field{
	stringField("id", false),
	stringField("suite", false),
	stringField("variant", false),
	stringField("model", false),
	stringField("params", false),
	stringField("prompt", true),
	stringField("messages", true),
	stringField("output", true),
	stringField("reasoning", false),
	stringField("reference", true),
	stringField("turns", true),
	stringField("finish_reason", false),
	{Name: "prompt_tokens", Type: arrow.PrimitiveTypes.Int64},
	{Name: "completion_tokens", Type: arrow.PrimitiveTypes.Int64},
	{Name: "total_tokens", Type: arrow.PrimitiveTypes.Int64},
	{Name: "latency_ms", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ttft_ms", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "itl_ms", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	stringField("error", false),
	stringField("cause", false),
	stringField("run", false),
	stringField("fingerprint", false),
	{Name: "sample_seq", Type: arrow.PrimitiveTypes.Uint64},
	{Name: "gen_seq", Type: arrow.PrimitiveTypes.Uint64},
}, nil)

// GenerationsSchema is the schema of an exported generations Parquet file.
func GenerationsSchema() *arrow.Schema { return generationSchema }

// GenerationWriter writes generation lines as a Parquet file, a row group
// every [batchRows] lines, so that memory holds one batch.
type GenerationWriter struct {
	fw      *pqarrow.FileWriter
	b       *array.RecordBuilder
	pending int
	rows    int
}

// NewGenerationWriter starts a generations Parquet file on w.
func NewGenerationWriter(w io.Writer) (*GenerationWriter, error) {
	fw, err := parquetWriter(w, generationSchema)
	if err != nil {
		return nil, err
	}
	return &GenerationWriter{fw: fw, b: array.NewRecordBuilder(memory.NewGoAllocator(), generationSchema)}, nil
}

// Write adds a line.
func (gw *GenerationWriter) Write(l *GenerationLine) error {
	str := func(i int, v string) { gw.b.Field(i).(*array.StringBuilder).Append(v) }
	opt := func(i int, v *string) {
		if v == nil {
			gw.b.Field(i).AppendNull()
			return
		}
		str(i, *v)
	}
	f64 := func(i int, v *float64) {
		if v == nil {
			gw.b.Field(i).AppendNull()
			return
		}
		gw.b.Field(i).(*array.Float64Builder).Append(*v)
	}
	i64 := func(i int, v int) { gw.b.Field(i).(*array.Int64Builder).Append(int64(v)) }
	u64 := func(i int, v uint64) { gw.b.Field(i).(*array.Uint64Builder).Append(v) }
	var messages, reference, turns *string
	if l.Prompt != nil {
		m := jsonText(l.Messages)
		r := ""
		if l.Reference != nil {
			r = jsonText(l.Reference)
		}
		messages, reference = &m, &r
	}
	if l.Turns != nil {
		t := jsonText(l.Turns)
		turns = &t
	}
	for i, v := range []string{l.ID, l.Suite, l.Variant, l.Model, l.Params} {
		str(i, v)
	}
	opt(5, l.Prompt)
	opt(6, messages)
	opt(7, l.Output)
	str(8, l.Reasoning)
	opt(9, reference)
	opt(10, turns)
	str(11, l.FinishReason)
	i64(12, l.Usage.PromptTokens)
	i64(13, l.Usage.CompletionTokens)
	i64(14, l.Usage.TotalTokens)
	f64(15, l.LatencyMS)
	f64(16, l.TTFTMS)
	f64(17, l.ITLMS)
	for i, v := range []string{l.Error, l.Cause, l.Run, l.Fingerprint} {
		str(18+i, v)
	}
	u64(22, l.SampleSeq)
	u64(23, l.GenSeq)
	gw.rows++
	if gw.pending++; gw.pending == batchRows {
		return gw.flush()
	}
	return nil
}

func (gw *GenerationWriter) flush() error {
	if gw.pending == 0 {
		return nil
	}
	rec := gw.b.NewRecordBatch()
	defer rec.Release()
	gw.pending = 0
	if err := gw.fw.Write(rec); err != nil {
		return fmt.Errorf("writing Parquet: %w", err)
	}
	return nil
}

// Close writes the last rows and the file's footer; it reports the rows
// written.
func (gw *GenerationWriter) Close() (int, error) {
	defer gw.b.Release()
	err := gw.flush()
	if cerr := gw.fw.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing Parquet: %w", cerr)
	}
	return gw.rows, err
}
