package contam

import (
	"fmt"
	"testing"
)

func TestNearIndex(t *testing.T) {
	x := NewNearIndex(0)
	base := "Which planet in our solar system has the most known moons, and roughly how many does it have today?"
	for i, c := range []struct {
		text string
		twin int
	}{
		{base, -1},
		// Other case, punctuation and spacing: the same words, a near-
		// duplicate of 0 that exact deduplication (which keeps
		// punctuation) lets through.
		{"Which planet in our Solar System has the MOST known moons -- and roughly how many does it have today", 0},
		// One word changed is another question (similarity 0.70), and so
		// is one word added to a short one (0.75): both are kept.
		{"Which planet in our solar system has the most known rings, and roughly how many does it have today?", -1},
		{"Which planet in our solar system has the most known moons, and roughly how many moons does it have today?", -1},
		// In a longer text, one added word is a near-duplicate.
		{"Describe, in plain words for a reader of twelve, how the water cycle moves water from the sea to the clouds, onto the hills as rain, and back to the sea through rivers and the ground.", -1},
		{"Describe, in plain words for a reader of twelve, how the water cycle moves water from the sea to the clouds, onto the hills as rain, and back again to the sea through rivers and the ground.", 3},
		// Unrelated.
		{"Explain how a refrigerator moves heat from its inside to the room around it, step by step.", -1},
		// Chinese, by characters: a copy with one character changed.
		{"请用三句话解释为什么天空在白天看起来是蓝色的，并举一个生活中的例子。", -1},
		{"请用三句话解释为什么天空在白天看起来是蓝色的，并举一个生活里的例子。", 5},
		// Too short to judge: kept, whatever it looks like.
		{"What is 2+2?", -1},
		{"What is 2+3?", -1},
	} {
		twin, sim := x.Add(c.text)
		if twin != c.twin {
			t.Errorf("text %d: twin %d (similarity %.2f), want %d", i, twin, sim, c.twin)
		}
		if twin >= 0 && sim < DefaultNearThreshold {
			t.Errorf("text %d: similarity %.2f under the threshold", i, sim)
		}
	}
}

func TestNearIndexScales(t *testing.T) {
	// 3,000 distinct long texts, each followed by a lightly edited copy:
	// every copy is found, and no original is taken for a copy.
	x := NewNearIndex(0)
	kept := 0
	for i := range 3000 {
		text := fmt.Sprintf("item %d asks about topic %d in domain %d with details %d and %d and a closing remark %d", i, i*7, i*13, i*17, i*19, i*23)
		if twin, _ := x.Add(text); twin != -1 {
			t.Fatalf("original %d taken for a copy of %d", i, twin)
		}
		if twin, _ := x.Add(text + " please"); twin != kept {
			t.Fatalf("copy of %d: twin %d", kept, twin)
		}
		kept++
	}
}
