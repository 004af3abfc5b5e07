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
	// MarkAnswerStart and MarkAnswerEnd enclose the one answer of a
	// single-mode request (MT-Bench's single-v1); its multi-turn form
	// shows the conversation as Assistant A's.
	MarkAnswerStart = "[The Start of Assistant's Answer]"
	MarkAnswerEnd   = "[The End of Assistant's Answer]"
)

// The markers of the multi-turn pairwise judge prompt, MT-Bench's
// pair-v2-multi-turn (FastChat fastchat/llm_judge/data/judge_prompts.jsonl):
// each assistant's whole conversation with the user, its turns headed by
// MarkTurnUser and the assistant's own heading, so that a later turn that
// refers to an earlier answer ("rewrite your previous response") can be
// judged.
const (
	MarkConvAStart   = "<|The Start of Assistant A's Conversation with User|>"
	MarkConvAEnd     = "<|The End of Assistant A's Conversation with User|>"
	MarkConvBStart   = "<|The Start of Assistant B's Conversation with User|>"
	MarkConvBEnd     = "<|The End of Assistant B's Conversation with User|>"
	MarkRefConvStart = "<|The Start of Reference Answer|>"
	MarkRefConvEnd   = "<|The End of Reference Answer|>"
	MarkTurnUser     = "### User:"
	MarkTurnA        = "### Assistant A:"
	MarkTurnB        = "### Assistant B:"
	MarkTurnRef      = "### Reference answer:"
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
