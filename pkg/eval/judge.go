package eval

import "strings"

// The markers of the pairwise judge prompt (MT-Bench's), part of the judge
// contract: assay's built-in prompt uses them and the simulated judge reads
// them.
const (
	MarkQuestion = "[Question]"
	MarkRefStart = "[The Start of Reference Answer]"
	MarkRefEnd   = "[The End of Reference Answer]"
	MarkAStart   = "[The Start of Assistant A's Answer]"
	MarkAEnd     = "[The End of Assistant A's Answer]"
	MarkBStart   = "[The Start of Assistant B's Answer]"
	MarkBEnd     = "[The End of Assistant B's Answer]"
)

// LastUserMessage is the text a conversation asks the model to answer: its
// last user message, trimmed.
func LastUserMessage(msgs []Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return strings.TrimSpace(msgs[i].Content)
		}
	}
	return ""
}
