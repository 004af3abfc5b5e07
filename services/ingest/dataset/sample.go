package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tidwall/gjson"
	"golang.org/x/text/unicode/norm"
)

// sample maps one JSON line to a sample. It returns (nil, nil) for a
// duplicate, which it records.
func (rd *Reader) sample(line []byte, n int) (*eval.Sample, *Problem) {
	fail := func(field, format string, args ...any) (*eval.Sample, *Problem) {
		return nil, &Problem{rd.File, n, field, fmt.Sprintf(format, args...)}
	}
	if !utf8.Valid(line) {
		return fail("", "invalid UTF-8: re-encode the file as UTF-8")
	}
	if err := json.Unmarshal(line, new(json.RawMessage)); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fail("", "not valid JSON at column %d: %v", se.Offset, err)
		}
		return fail("", "not valid JSON: %v", err)
	}
	root := gjson.ParseBytes(line)
	if !root.IsObject() {
		return fail("", "a line must be a JSON object, not %s", kind(root))
	}
	f := rd.fields
	s := &eval.Sample{V: eval.Version, Run: rd.Run, Suite: rd.Suite.Name, Role: rd.Suite.Role, Source: fmt.Sprintf("%s:%d", rd.File, n)}

	msgs, p := rd.messages(root, n)
	if p != nil {
		return nil, p
	}
	s.Messages = msgs

	ref, p := rd.reference(root, n)
	if p != nil {
		return nil, p
	}
	s.Reference = ref

	if t := root.Get(f.Tags); t.Exists() {
		switch {
		case t.Type == gjson.String:
			s.Tags = []string{t.String()}
		case t.IsArray():
			for _, x := range t.Array() {
				if x.Type != gjson.String {
					return fail(f.Tags, "tags must be strings")
				}
				s.Tags = append(s.Tags, x.String())
			}
		default:
			return fail(f.Tags, "must be a string or a list of strings")
		}
	}
	if p := rd.needs(ref, n); p != nil {
		return nil, p
	}

	key := normalize(msgs)
	id := root.Get(f.ID)
	switch {
	case !id.Exists() || id.Type == gjson.Null:
		sum := sha256.Sum256([]byte(rd.Suite.Name + "\x00" + key))
		s.ID = "s-" + hex.EncodeToString(sum[:8])
	case id.Type == gjson.String || id.Type == gjson.Number:
		s.ID = id.String()
		if s.ID == "" {
			return fail(f.ID, "must not be empty")
		}
		if len(s.ID) > 256 {
			return fail(f.ID, "is longer than 256 bytes")
		}
	default:
		return fail(f.ID, "must be a string or a number, not %s", kind(id))
	}
	if twin, dup := rd.seen[key]; dup {
		rd.dropped = append(rd.dropped, eval.DroppedDuplicate{ID: s.ID, Twin: twin, Source: s.Source})
		return nil, nil
	}
	if prev, used := rd.ids[s.ID]; used {
		return fail(f.ID, "id %q is already used on line %d: ids must be unique within a suite", s.ID, prev)
	}
	rd.seen[key] = s.ID
	rd.ids[s.ID] = n
	return s, nil
}

func kind(r gjson.Result) string {
	switch {
	case r.IsObject():
		return "an object"
	case r.IsArray():
		return "a list"
	case r.Type == gjson.String:
		return "a string"
	case r.Type == gjson.Number:
		return "a number"
	case r.Type == gjson.True || r.Type == gjson.False:
		return "a boolean"
	}
	return "null"
}

var roles = []string{"system", "user", "assistant"}

func (rd *Reader) messages(root gjson.Result, n int) ([]eval.Message, *Problem) {
	f := rd.fields
	fail := func(field, format string, args ...any) ([]eval.Message, *Problem) {
		return nil, &Problem{rd.File, n, field, fmt.Sprintf(format, args...)}
	}
	var msgs []eval.Message
	if sys := root.Get(f.System); sys.Exists() && sys.Type != gjson.Null {
		if sys.Type != gjson.String {
			return fail(f.System, "must be a string")
		}
		if sys.String() != "" {
			msgs = append(msgs, eval.Message{Role: "system", Content: sys.String()})
		}
	}
	prompt, conv := root.Get(f.Prompt), root.Get(f.Messages)
	switch {
	case prompt.Exists() && prompt.Type == gjson.String:
		if strings.TrimSpace(prompt.String()) == "" {
			return fail(f.Prompt, "is empty")
		}
		msgs = append(msgs, eval.Message{Role: "user", Content: prompt.String()})
	case prompt.Exists() && prompt.IsArray():
		conv = prompt
		f.Messages = f.Prompt
		fallthrough
	case conv.Exists() && conv.IsArray():
		for i, m := range conv.Array() {
			field := fmt.Sprintf("%s[%d]", f.Messages, i)
			role := m.Get("role")
			if !slices.Contains(roles, role.String()) {
				return fail(field+".role", "must be system, user or assistant, not %q", role.String())
			}
			content, ok := messageContent(m.Get("content"))
			if !ok {
				return fail(field+".content", "must be a string or a list of text parts")
			}
			msgs = append(msgs, eval.Message{Role: role.String(), Content: content})
		}
		if len(msgs) == 0 || msgs[len(msgs)-1].Role != "user" {
			return fail(f.Messages, "the conversation must end with a user message for the model to answer")
		}
	case prompt.Exists():
		return fail(f.Prompt, "must be a string or a list of chat messages, not %s", kind(prompt))
	default:
		return fail(f.Prompt, "missing: map the prompt with fields.prompt (text) or fields.messages (chat messages)")
	}
	return msgs, nil
}

// messageContent accepts OpenAI content as a string or as a list of parts,
// of which the text parts are kept.
func messageContent(c gjson.Result) (string, bool) {
	if c.Type == gjson.String {
		return c.String(), true
	}
	if !c.IsArray() {
		return "", false
	}
	var b strings.Builder
	for _, part := range c.Array() {
		if part.Get("type").String() == "text" {
			b.WriteString(part.Get("text").String())
		}
	}
	return b.String(), true
}

func (rd *Reader) reference(root gjson.Result, n int) (*eval.Reference, *Problem) {
	f := rd.fields
	fail := func(field, format string, args ...any) (*eval.Reference, *Problem) {
		return nil, &Problem{rd.File, n, field, fmt.Sprintf(format, args...)}
	}
	ref := &eval.Reference{}
	if r := root.Get(f.Reference); r.Exists() && r.Type != gjson.Null {
		switch {
		case r.Type == gjson.String || r.Type == gjson.Number:
			ref.Answers = []string{r.String()}
		case r.Type == gjson.True || r.Type == gjson.False:
			ref.Answers = []string{r.Raw}
		case r.IsObject():
			ref.JSON = json.RawMessage(r.Raw)
		case r.IsArray():
			scalars := true
			for _, x := range r.Array() {
				if x.Type != gjson.String && x.Type != gjson.Number {
					scalars = false
				}
			}
			if scalars {
				for _, x := range r.Array() {
					ref.Answers = append(ref.Answers, x.String())
				}
			} else {
				ref.JSON = json.RawMessage(r.Raw)
			}
		}
	}
	if c := root.Get(f.Choices); c.Exists() && c.Type != gjson.Null {
		switch {
		case c.IsArray():
			for _, x := range c.Array() {
				if x.Type != gjson.String && x.Type != gjson.Number {
					return fail(f.Choices, "choices must be strings")
				}
				ref.Choices = append(ref.Choices, x.String())
			}
		case c.IsObject():
			// {"A": "...", "B": "..."}: letter keys in order.
			c.ForEach(func(k, v gjson.Result) bool {
				ref.Choices = append(ref.Choices, v.String())
				return true
			})
		default:
			return fail(f.Choices, "must be a list of options")
		}
		if len(ref.Choices) < 2 || len(ref.Choices) > 10 {
			return fail(f.Choices, "a multiple-choice item has 2 to 10 options, not %d", len(ref.Choices))
		}
		label := root.Get(f.Label)
		if !label.Exists() {
			return fail(f.Label, "missing: a multiple-choice item needs the correct option")
		}
		l, ok := letter(label, len(ref.Choices))
		if !ok {
			return fail(f.Label, "%s is not an option letter (A-%c) or index", label.Raw, 'A'+len(ref.Choices)-1)
		}
		ref.Label = l
	}
	if sc := root.Get(f.Schema); sc.Exists() && sc.Type != gjson.Null {
		if !sc.IsObject() && sc.Type != gjson.True && sc.Type != gjson.False {
			return fail(f.Schema, "a JSON Schema is an object")
		}
		if err := checkSchema(sc.Raw); err != nil {
			return fail(f.Schema, "%v", err)
		}
		ref.Schema = json.RawMessage(sc.Raw)
	}
	if sr := root.Get(f.ShouldRefuse); sr.Exists() && sr.Type != gjson.Null {
		if sr.Type != gjson.True && sr.Type != gjson.False {
			return fail(f.ShouldRefuse, "must be true or false")
		}
		v := sr.Bool()
		ref.ShouldRefuse = &v
	}
	return ref, nil
}

func letter(r gjson.Result, n int) (string, bool) {
	if r.Type == gjson.Number {
		i := int(r.Int())
		if float64(i) != r.Num || i < 0 || i >= n {
			return "", false
		}
		return string(rune('A' + i)), true
	}
	s := strings.ToUpper(strings.Trim(strings.TrimSpace(r.String()), "()（）."))
	if len(s) == 1 && s[0] >= 'A' && int(s[0]-'A') < n {
		return s, true
	}
	if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < n {
		return string(rune('A' + i)), true
	}
	return "", false
}

type refusedLoader struct{}

func (refusedLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external reference %q is not allowed", url)
}

func checkSchema(raw string) error {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(raw))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refusedLoader{})
	if err := c.AddResource("assay:schema.json", doc); err != nil {
		return err
	}
	if _, err := c.Compile("assay:schema.json"); err != nil {
		return fmt.Errorf("not a usable JSON Schema: %v", err)
	}
	return nil
}

// needs checks that a sample carries what its suite's metrics read.
func (rd *Reader) needs(ref *eval.Reference, n int) *Problem {
	f := rd.fields
	for _, m := range rd.Suite.Metrics {
		var field string
		switch m {
		case "em", "f1", "rougeL", "num_match":
			if len(ref.Answers) == 0 {
				field = f.Reference
			}
		case "mc_acc":
			if ref.Label == "" {
				field = f.Choices
			}
		case "json_schema":
			if len(ref.Schema) == 0 {
				field = f.Schema
			}
		case "json_fields":
			if len(ref.JSON) == 0 {
				field = f.Reference
			}
		case "safety":
			if ref.ShouldRefuse == nil {
				field = f.ShouldRefuse
			}
		}
		if field != "" {
			return &Problem{rd.File, n, field, fmt.Sprintf("missing, but the suite's metric %s needs it", m)}
		}
	}
	if slices.Contains(rd.Suite.Metrics, "num_match") {
		if _, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(ref.Answers[0]), ",", ""), 64); err != nil {
			return &Problem{rd.File, n, f.Reference, fmt.Sprintf("%q is not a number, but the suite's metric num_match needs one", ref.Answers[0])}
		}
	}
	return nil
}

// normalize is the text duplicates are compared on: NFKC (full-width to
// half-width), lowercase, whitespace collapsed, over every turn.
func normalize(msgs []eval.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Role)
		b.WriteByte(':')
		b.WriteString(strings.Join(strings.Fields(strings.ToLower(norm.NFKC.String(m.Content))), " "))
		b.WriteByte('\n')
	}
	return b.String()
}
