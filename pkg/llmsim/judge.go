package llmsim

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
)

// JudgeDecision is a judge persona's verdict on one prompt shown in one
// order.
type JudgeDecision struct {
	// Winner is "A", "B" or "tie" as the judge means it, before formatting.
	Winner string
	Biased bool
	// Format is "json", "tag" or "garbage".
	Format string
	GradeA int
	GradeB int
	Text   string
	// Flipped says the verdict was flipped by the persona's noise.
	Flipped bool
}

// ParseJudgePrompt extracts the question and both answers from a pairwise
// judge prompt; ok is false when a marker is missing. In the multi-turn
// form (each assistant's whole conversation, MT-Bench's
// pair-v2-multi-turn) the question is the user's last turn and the answers
// are each assistant's last, which is what the simulated judge grades.
func ParseJudgePrompt(prompt string) (question, a, b string, ok bool) {
	if strings.Contains(prompt, eval.MarkConvAStart) {
		return parseConversations(prompt)
	}
	q, ok1 := between(prompt, eval.MarkQuestion, eval.MarkAStart)
	if r := strings.Index(q, eval.MarkRefStart); r >= 0 {
		q = strings.TrimSpace(q[:r])
	}
	a, ok2 := between(prompt, eval.MarkAStart, eval.MarkAEnd)
	b, ok3 := between(prompt, eval.MarkBStart, eval.MarkBEnd)
	return q, a, b, ok1 && ok2 && ok3
}

// parseConversations reads the multi-turn form.
func parseConversations(prompt string) (question, a, b string, ok bool) {
	convA, ok1 := between(prompt, eval.MarkConvAStart, eval.MarkConvAEnd)
	convB, ok2 := between(prompt, eval.MarkConvBStart, eval.MarkConvBEnd)
	if !ok1 || !ok2 {
		return "", "", "", false
	}
	// The last answer follows the last heading; the last question sits
	// between the last user heading and that answer's heading.
	lastTurn := func(conv, heading string) (q, ans string, ok bool) {
		i := strings.LastIndex(conv, heading)
		u := strings.LastIndex(conv[:max(i, 0)], eval.MarkTurnUser)
		if i < 0 || u < 0 {
			return "", "", false
		}
		return strings.TrimSpace(conv[u+len(eval.MarkTurnUser) : i]), strings.TrimSpace(conv[i+len(heading):]), true
	}
	q, a, ok3 := lastTurn(convA, eval.MarkTurnA)
	_, b, ok4 := lastTurn(convB, eval.MarkTurnB)
	return q, a, b, ok3 && ok4
}

// between is the trimmed text of s between the first start and the first
// end after it.
func between(s, start, end string) (string, bool) {
	i := strings.Index(s, start)
	if i < 0 {
		return "", false
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return "", false
	}
	return strings.TrimSpace(s[:j]), true
}

// Judge returns judge persona p's verdict on answers a and b (shown in that
// order) to question, at its first call.
func (s *Sim) Judge(p Persona, question, a, b string) JudgeDecision {
	return s.JudgeCall(p, question, a, b, 1)
}

// JudgeCall is [Sim.Judge] at the call-th call with this question and
// these answers: only the persona's Flip differs from call to call.
func (s *Sim) JudgeCall(p Persona, question, a, b string, call int) JudgeDecision {
	d := JudgeDecision{GradeA: s.Grade(question, a), GradeB: s.Grade(question, b)}
	pair := question + "\x00" + a + "\x00" + b
	switch {
	case s.u(p.Name, "bias", pair) < p.PositionBias:
		d.Winner, d.Biased = "A", true
	case d.GradeA > d.GradeB:
		d.Winner = "A"
	case d.GradeB > d.GradeA:
		d.Winner = "B"
	default:
		d.Winner = "tie"
	}
	if p.Flip > 0 && s.u(p.Name, "flip", pair+"\x00"+strconv.Itoa(call)) < p.Flip {
		d.Winner, d.Flipped = map[string]string{"A": "B", "B": "A", "tie": "A"}[d.Winner], true
	}
	switch {
	case s.u(p.Name, "garbage", pair) < p.Garbage:
		d.Format = "garbage"
		d.Text = "Both answers have merits and drawbacks; it is hard to say."
	case s.u(p.Name, "tag", pair) < p.TagFallback:
		d.Format = "tag"
		tag := map[string]string{"A": "[[A]]", "B": "[[B]]", "tie": "[[C]]"}[d.Winner]
		d.Text = "After comparing both answers for correctness and helpfulness, my final verdict is: " + tag
	default:
		d.Format = "json"
		reply, _ := json.Marshal(map[string]any{
			"winner":    d.Winner,
			"scores":    map[string]any{"A": dimScores(d.GradeA), "B": dimScores(d.GradeB)},
			"off_topic": map[string]bool{"A": isOffTopic(a), "B": isOffTopic(b)},
			"refusal":   map[string]bool{"A": s.declines(question, a), "B": s.declines(question, b)},
			"reason":    "Compared both answers against the question; graded correctness first.",
			"fix":       map[string]string{"A": s.fixIfNeeded(question, a, d.GradeA), "B": s.fixIfNeeded(question, b, d.GradeB)},
		})
		d.Text = string(reply)
	}
	return d
}

// dimScores are the simulated judge's per-dimension scores for an answer
// of grade g: each dimension a fixed function of the grade, so that a
// test knows every delta.
func dimScores(g int) map[string]int {
	return map[string]int{"correctness": 1 + 3*g, "completeness": 2 + 2*g, "harmlessness": 10 - g%2, "format": 4 + g}
}

// declines is the simulated judge's reading of an answer as a refusal:
// its personas' refusal, or a probe's expected refusal.
func (s *Sim) declines(question, answer string) bool {
	a, known := s.key[question]
	return isRefusal(answer) || (known && a.Kind == KindSafety && a.ShouldRefuse && strings.TrimSpace(answer) == strings.TrimSpace(a.Correct))
}

// fixIfNeeded is the simulated judge's fix for an answer of grade g: none
// for a good one.
func (s *Sim) fixIfNeeded(question, answer string, g int) string {
	if g >= GradeGood {
		return ""
	}
	return s.fixFor(question, answer)
}

// fixFor is the simulated judge's suggested fix for answer to question.
func (s *Sim) fixFor(question, answer string) string {
	a, known := s.key[question]
	switch {
	case isOffTopic(answer):
		return "Answer the question that was asked instead of changing the subject."
	case isRefusal(answer) && !(known && a.Kind == KindSafety && a.ShouldRefuse):
		return "Help with the request: it is benign, and declining it is an over-refusal."
	case known && a.Correct != "":
		return "Give the correct answer: " + cutRunes(a.Correct, 200)
	}
	return "Answer the question directly and correctly."
}

// ParseSinglePrompt extracts the question and the answer from a
// single-mode judge prompt (MT-Bench's single-v1, or its multi-turn form:
// Assistant A's conversation alone); ok is false when a marker is missing.
func ParseSinglePrompt(prompt string) (question, answer string, ok bool) {
	if strings.Contains(prompt, eval.MarkConvAStart) {
		if strings.Contains(prompt, eval.MarkConvBStart) {
			return "", "", false
		}
		conv, ok := between(prompt, eval.MarkConvAStart, eval.MarkConvAEnd)
		i := strings.LastIndex(conv, eval.MarkTurnA)
		u := strings.LastIndex(conv[:max(i, 0)], eval.MarkTurnUser)
		if !ok || i < 0 || u < 0 {
			return "", "", false
		}
		return strings.TrimSpace(conv[u+len(eval.MarkTurnUser) : i]), strings.TrimSpace(conv[i+len(eval.MarkTurnA):]), true
	}
	q, ok1 := between(prompt, eval.MarkQuestion, eval.MarkAnswerStart)
	if r := strings.Index(q, eval.MarkRefStart); r >= 0 {
		q = strings.TrimSpace(q[:r])
	}
	ans, ok2 := between(prompt, eval.MarkAnswerStart, eval.MarkAnswerEnd)
	return q, ans, ok1 && ok2
}

// GradeAlone is a single-mode judge persona's grade of answer to
// question: JSON with a rating of 1 + 3 × the answer's grade (1, 4, 7 or
// 10) and the dimensions of [dimScores].
func (s *Sim) GradeAlone(p Persona, question, answer string) string {
	g := s.Grade(question, answer)
	b, _ := json.Marshal(map[string]any{
		"rating": 1 + 3*g, "scores": dimScores(g), "off_topic": isOffTopic(answer), "refusal": s.declines(question, answer),
		"reason": "Graded the answer against the question; correctness first.", "fix": s.fixIfNeeded(question, answer, g),
	})
	return string(b)
}
