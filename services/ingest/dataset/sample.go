package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/schema"
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
			return fail("", "not valid JSON at column %d: %v", column(line, se), err)
		}
		return fail("", "not valid JSON: %v", err)
	}
	root := gjson.ParseBytes(line)
	if !root.IsObject() {
		return fail("", "a line must be a JSON object, not %s", Kind(root))
	}
	f := rd.fields
	s := &eval.Sample{V: eval.Version, Run: rd.Run, Suite: rd.Suite.Name, Role: rd.Suite.Role, Source: fmt.Sprintf("%s:%d", rd.File, n)}

	rd.lastAnswer = ""
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
	s.TurnReferences = rd.turnReferences(root, msgs)

	if t := root.Get(f.Tags); Present(t) {
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
	if p := rd.needs(root, ref, n); p != nil {
		return nil, p
	}
	if s.Cluster, p = rd.cluster(root, n); p != nil {
		return nil, p
	}

	key := Normalize(msgs)
	id := root.Get(f.ID)
	switch {
	case !id.Exists() || id.Type == gjson.Null:
		sum := sha256.Sum256([]byte(rd.Suite.Name + "\x00" + key))
		s.ID = "s-" + hex.EncodeToString(sum[:8])
	case id.Type == gjson.String || id.Type == gjson.Number:
		// A copy: the id outlives the sample (duplicates are found by
		// it), and gjson's string shares the whole line's bytes.
		s.ID = strings.Clone(id.String())
		if s.ID == "" {
			return fail(f.ID, "must not be empty")
		}
		if len(s.ID) > 256 {
			return fail(f.ID, "is longer than 256 bytes")
		}
		// The id ends message ids (Nats-Msg-Id), whose values NATS trims
		// and whose line breaks it turns into spaces: "a " or "a\nb" would
		// collide with "a" or "a b" and be dropped as a republish.
		if strings.ContainsFunc(s.ID, unicode.IsControl) {
			return fail(f.ID, "%q contains a control character", s.ID)
		}
		if len(rd.Suite.Perturbations) > 0 && strings.Contains(s.ID, "~") {
			return fail(f.ID, "%q contains ~, which marks robustness copies (id~kind) in a suite with perturbations: rename it", s.ID)
		}
		if strings.TrimSpace(s.ID) != s.ID {
			return fail(f.ID, "%q starts or ends with white space", s.ID)
		}
	default:
		return fail(f.ID, "must be a string or a number, not %s", Kind(id))
	}
	sum := sha256.Sum256([]byte(key))
	textKey := [16]byte(sum[:16])
	if twin, dup := rd.kept.text(textKey); dup {
		rd.dropped = append(rd.dropped, eval.DroppedDuplicate{ID: s.ID, Twin: twin, Source: s.Source})
		return nil, nil
	}
	if prev, used := rd.kept.id(s.ID); used {
		return fail(f.ID, "id %q is already used on line %d: ids must be unique within a suite", s.ID, prev)
	}
	rd.kept.add(textKey, s.ID, n)
	return s, nil
}

// column is the 1-based column, in characters, where a syntax error was
// found: the one of the offending character, or just past the end of the
// line when it ended too soon.
func column(line []byte, se *json.SyntaxError) int {
	off := int(min(max(se.Offset, 0), int64(len(line))))
	col := utf8.RuneCount(line[:off])
	if off == len(line) && strings.HasPrefix(se.Error(), "unexpected end") {
		col++
	}
	return max(col, 1)
}

// present reports whether a field is given: null counts as absent.
// Present reports whether a field is there and not null.
func Present(r gjson.Result) bool { return r.Exists() && r.Type != gjson.Null }

// Kind names a JSON value's type for an error message: "a list", "null".
func Kind(r gjson.Result) string {
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
	if len(rd.template) > 0 {
		text, field, err := render(rd.template, root)
		if err != nil {
			return fail(field, "%v", err)
		}
		prompt = gjson.Result{Type: gjson.String, Str: text}
	}
	switch {
	case prompt.Type == gjson.String:
		if strings.TrimSpace(prompt.String()) == "" {
			return fail(f.Prompt, "is empty")
		}
		msgs = append(msgs, eval.Message{Role: "user", Content: prompt.String()})
	case prompt.IsArray():
		conv = prompt
		f.Messages = f.Prompt
		fallthrough
	case conv.IsArray():
		turns := conv.Array()
		for i, m := range turns {
			field := fmt.Sprintf("%s[%d]", f.Messages, i)
			if m.Type == gjson.String && rd.Suite.TurnByTurn() {
				// MT-Bench's turns: the user's messages alone.
				msgs = append(msgs, eval.Message{Role: "user", Content: m.String()})
				continue
			}
			if !m.IsObject() {
				return fail(field, "a chat message is an object with role and content, not %s", Kind(m))
			}
			role, content, p := rd.turn(m, field, n)
			if p != nil {
				return nil, p
			}
			msgs = append(msgs, eval.Message{Role: role, Content: content})
		}
		if rd.Suite.TurnByTurn() && len(msgs) > 1 {
			// The model answers every turn itself: recorded answers other
			// than the last (the reference) are never shown to it, nor to
			// the judges.
			last := len(msgs) - 1
			kept := msgs[:0]
			for i, m := range msgs {
				if m.Role != "assistant" || i == last {
					kept = append(kept, m)
				}
			}
			msgs = kept
		}
		if len(msgs) > 1 && msgs[len(msgs)-1].Role == "assistant" && rd.Suite.Preset != "" {
			// A recorded conversation's last answer is what the model is
			// compared with (reference), not part of its prompt.
			rd.lastAnswer = msgs[len(msgs)-1].Content
			msgs = msgs[:len(msgs)-1]
		}
		if len(msgs) == 0 || msgs[len(msgs)-1].Role != "user" {
			return fail(f.Messages, "the conversation must end with a user message for the model to answer")
		}
		if strings.TrimSpace(msgs[len(msgs)-1].Content) == "" {
			return fail(fmt.Sprintf("%s[%d].content", f.Messages, len(turns)-1), "is empty: the last user message is what the model answers")
		}
	case Present(prompt):
		return fail(f.Prompt, "must be a string or a list of chat messages, not %s", Kind(prompt))
	case Present(conv):
		return fail(f.Messages, "must be a list of chat messages, not %s", Kind(conv))
	default:
		return fail(f.Prompt, "missing: map the prompt with fields.prompt (text) or fields.messages (chat messages)")
	}
	return msgs, nil
}

// shareGPTRoles are ShareGPT's speakers as chat roles.
var shareGPTRoles = map[string]string{"human": "user", "user": "user", "gpt": "assistant", "chatgpt": "assistant", "bing": "assistant", "bard": "assistant", "assistant": "assistant", "system": "system"}

// turn reads one chat message: OpenAI's {role, content} or ShareGPT's
// {from, value}.
func (rd *Reader) turn(m gjson.Result, field string, n int) (string, string, *Problem) {
	fail := func(f, format string, args ...any) (string, string, *Problem) {
		return "", "", &Problem{rd.File, n, f, fmt.Sprintf(format, args...)}
	}
	if from := m.Get("from"); from.Exists() && !m.Get("role").Exists() {
		role, ok := shareGPTRoles[strings.ToLower(from.String())]
		if from.Type != gjson.String || !ok {
			return fail(field+".from", "must be human, gpt or system, not %s", from.Raw)
		}
		value := m.Get("value")
		if value.Type != gjson.String {
			return fail(field+".value", "must be a string")
		}
		return role, value.String(), nil
	}
	role := m.Get("role")
	switch {
	case !role.Exists():
		return fail(field+".role", "missing: give system, user or assistant")
	case role.Type != gjson.String || !slices.Contains(roles, role.String()):
		return fail(field+".role", "must be system, user or assistant, not %s", role.Raw)
	}
	content, ok := messageContent(m.Get("content"))
	if !ok {
		return fail(field+".content", "must be a string or a list of text parts")
	}
	return role.String(), content, nil
}

// messageContent accepts OpenAI content as a string or as a list of parts,
// of which the text parts are kept, one per line as vLLM joins them (run
// together, "Question:" and "What is…" would read "Question:What is…").
func messageContent(c gjson.Result) (string, bool) {
	if c.Type == gjson.String {
		return c.String(), true
	}
	if !c.IsArray() {
		return "", false
	}
	var texts []string
	for _, part := range c.Array() {
		if part.Get("type").String() == "text" {
			texts = append(texts, part.Get("text").String())
		}
	}
	return strings.Join(texts, "\n"), true
}

// turnReferences reads a reference answer per user turn of a multi-turn
// question, where the suite's preset keeps them: a list of texts, one per
// user turn. Anything else (no list, a list of another length, a question
// of one turn) gives none, and the judge is shown the last turn's
// reference alone, as before.
func (rd *Reader) turnReferences(root gjson.Result, msgs []eval.Message) []string {
	if rd.turnRefs == "" {
		return nil
	}
	r := root.Get(rd.turnRefs)
	if !r.IsArray() {
		return nil
	}
	users := 0
	for _, m := range msgs {
		if m.Role == "user" {
			users++
		}
	}
	items := r.Array()
	if users < 2 || len(items) != users {
		return nil
	}
	refs := make([]string, len(items))
	for i, x := range items {
		if x.Type != gjson.String && x.Type != gjson.Number {
			return nil
		}
		refs[i] = x.String()
	}
	return refs
}

func (rd *Reader) reference(root gjson.Result, n int) (*eval.Reference, *Problem) {
	f := rd.fields
	fail := func(field, format string, args ...any) (*eval.Reference, *Problem) {
		return nil, &Problem{rd.File, n, field, fmt.Sprintf(format, args...)}
	}
	ref := &eval.Reference{}
	if r := root.Get(f.Reference); !Present(r) && rd.lastAnswer != "" {
		ref.Answers = []string{rd.lastAnswer}
	}
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
			// {"A": "...", "B": "..."}: placed by letter, whatever the
			// order of the keys in the line.
			byLetter := map[int]string{}
			var bad string
			c.ForEach(func(k, v gjson.Result) bool {
				l := optionLetter(k.String())
				_, twice := byLetter[l]
				switch {
				case l < 0:
					bad = fmt.Sprintf("%q is not an option letter (A, B, C, …)", k.String())
				case twice:
					bad = fmt.Sprintf("%q gives option %c a second time", k.String(), 'A'+l)
				case v.Type != gjson.String && v.Type != gjson.Number:
					bad = "choices must be strings"
				default:
					byLetter[l] = v.String()
					return true
				}
				return false
			})
			if bad != "" {
				return fail(f.Choices, "%s", bad)
			}
			for i := range len(byLetter) {
				v, ok := byLetter[i]
				if !ok {
					return fail(f.Choices, "option %c is missing: letters must run A, B, C, … without gaps", 'A'+i)
				}
				ref.Choices = append(ref.Choices, v)
			}
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
	if sa := root.Get(f.ShouldAbstain); sa.Exists() && sa.Type != gjson.Null {
		if sa.Type != gjson.True && sa.Type != gjson.False {
			return fail(f.ShouldAbstain, "must be true or false")
		}
		v := sa.Bool()
		ref.ShouldAbstain = &v
	}
	if t := root.Get(f.Test); t.Exists() && t.Type != gjson.Null {
		code, p := rd.codeTest(root, t, n)
		if p != nil {
			return nil, p
		}
		ref.Code = code
	}
	return ref, nil
}

// codeTest reads a code item's tests: HumanEval's test code with its
// entry_point (the prompt is the code to complete), or MBPP's list of
// asserts with optional setup code.
func (rd *Reader) codeTest(root, t gjson.Result, n int) (*eval.CodeTest, *Problem) {
	f := rd.fields
	fail := func(field, format string, args ...any) (*eval.CodeTest, *Problem) {
		return nil, &Problem{rd.File, n, field, fmt.Sprintf(format, args...)}
	}
	code := &eval.CodeTest{}
	switch {
	case t.Type == gjson.String:
		code.Test = t.String()
	case t.IsArray():
		var lines []string
		for i, a := range t.Array() {
			if a.Type != gjson.String {
				return fail(fmt.Sprintf("%s[%d]", f.Test, i), "must be a string (one assert statement)")
			}
			lines = append(lines, a.String())
		}
		code.Test = strings.Join(lines, "\n")
	default:
		return fail(f.Test, "must be Python test code (a string) or a list of assert statements, not %s", Kind(t))
	}
	if strings.TrimSpace(code.Test) == "" {
		return fail(f.Test, "is empty: a code item needs tests")
	}
	for _, x := range []struct {
		path string
		dst  *string
	}{{f.EntryPoint, &code.EntryPoint}, {f.Setup, &code.Setup}} {
		if v := root.Get(x.path); v.Exists() && v.Type != gjson.Null {
			if v.Type != gjson.String {
				return fail(x.path, "must be a string, not %s", Kind(v))
			}
			*x.dst = v.String()
		}
	}
	if code.EntryPoint != "" {
		if p := root.Get(f.Prompt); p.Type == gjson.String {
			code.Prompt = p.String()
		}
	}
	return code, nil
}

func letter(r gjson.Result, n int) (string, bool) {
	if r.Type == gjson.Number {
		i := int(r.Int())
		if float64(i) != r.Num || i < 0 || i >= n {
			return "", false
		}
		return string(rune('A' + i)), true
	}
	if r.Type != gjson.String {
		return "", false
	}
	s := trimOption(r.String())
	if i := optionLetter(s); i >= 0 && i < n {
		return string(rune('A' + i)), true
	}
	if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < n {
		return string(rune('A' + i)), true
	}
	return "", false
}

// trimOption strips the decoration of an option label: "(B)", "B." or "Ｂ".
func trimOption(s string) string {
	return strings.ToUpper(strings.Trim(strings.TrimSpace(norm.NFKC.String(s)), "()."))
}

// optionLetter is the index of an option letter (A = 0, up to J), or -1.
func optionLetter(s string) int {
	s = trimOption(s)
	if len(s) == 1 && s[0] >= 'A' && s[0] <= 'J' {
		return int(s[0] - 'A')
	}
	return -1
}

// checkSchema compiles a sample's schema the way score will.
func checkSchema(raw string) error {
	_, err := schema.Compile([]byte(raw))
	return err
}

// needs checks that a sample carries what its suite's metrics read.
func (rd *Reader) needs(root gjson.Result, ref *eval.Reference, n int) *Problem {
	f := rd.fields
	fail := func(field, format string, args ...any) *Problem {
		return &Problem{rd.File, n, field, fmt.Sprintf(format, args...)}
	}
	given := root.Get(f.Reference)
	for _, m := range rd.Suite.Metrics {
		var field string
		switch m {
		case "em", "f1", "bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum", "num_match", "num_strict", "num_flexible":
			if len(ref.Answers) == 0 && Present(given) {
				return fail(f.Reference, "is %s, but the suite's metric %s needs a text answer (a string, a number or a list of them)", Kind(given), m)
			}
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
			if Present(given) && !given.IsObject() {
				return fail(f.Reference, "is %s, but the suite's metric json_fields needs a JSON object", Kind(given))
			}
			if len(ref.JSON) == 0 {
				field = f.Reference
			}
		case "safety":
			if ref.ShouldRefuse == nil {
				field = f.ShouldRefuse
			}
		case "code_pass":
			if ref.Code == nil {
				field = f.Test
			}
		}
		if field != "" {
			return fail(field, "missing, but the suite's metric %s needs it", m)
		}
	}
	if slices.Contains(rd.Suite.Metrics, "num_match") {
		if _, ok := referenceNumber(ref.Answers[0]); !ok {
			return fail(f.Reference, "%s is not a number and does not end in \"#### <number>\", but the suite's metric num_match needs one", clip(ref.Answers[0]))
		}
	}
	return nil
}

// gsm8kMarker introduces the final answer of a GSM8K solution ("… #### 18").
const gsm8kMarker = "#### "

// referenceNumber is the number num_match reads from a reference, by the
// score stage's rule (services/score/metric), so that a reference passes
// here only if it can be scored there: the text after the first "#### "
// when there is one (GSM8K's answers are a worked solution ending in
// "#### 18", whose target lm-evaluation-harness takes the same way), else
// the whole reference; then white space around it trimmed, a leading "−"
// (U+2212) read as "-", every "," and "$" removed, trailing periods
// trimmed, and what is left parsed as a finite decimal or float.
func referenceNumber(ref string) (float64, bool) {
	if _, after, ok := strings.Cut(ref, gsm8kMarker); ok {
		ref = after
	}
	return parseNumber(ref)
}

// parseNumber reads a number as the score stage does: "1,234.5", "$12",
// "−3", "12.".
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "−"); ok {
		s = "-" + rest
	}
	s = strings.NewReplacer(",", "", "$", "").Replace(s)
	s = strings.TrimRight(s, ".")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// clip quotes s for a problem, its middle left out when long: a GSM8K
// solution is a paragraph, and its end says most.
func clip(s string) string {
	const most = 60
	r := []rune(s)
	if len(r) <= most {
		return strconv.Quote(s)
	}
	return strconv.Quote(string(r[:most/2]) + "…" + string(r[len(r)-most/2:]))
}

// Normalize is the text duplicates are compared on: NFKC (full-width to
// half-width), lowercase, whitespace collapsed, over every turn.
func Normalize(msgs []eval.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Role)
		b.WriteByte(':')
		b.WriteString(strings.Join(strings.Fields(strings.ToLower(norm.NFKC.String(m.Content))), " "))
		b.WriteByte('\n')
	}
	return b.String()
}
