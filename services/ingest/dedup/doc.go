// Package dedup finds the near-duplicates within an eval suite: samples
// that ask the same question in a slightly different hand, so that one
// is kept and the copies dropped.
//
// # The rule
//
// A question that differs from another in a number, a name or an entity,
// at any position, is a different question, and so is one that differs in
// a symbol or in code; whitespace, punctuation, case, full/half width and
// a typo in the prose are not differences, but in code and in a quoted
// literal a mark's width, a letter's case and a space are: s.split('，')
// and s.split(','), `%Y` and `%y`, `', '.join` and `','.join` are other
// programs. Benchmarks are full of templated items that differ in one
// number or one name ("43乘以73等于多少" and "11乘以73等于多少",
// HumanEval/56 and /61 with "<>" and "()"), and dropping one of them
// removes an item the suite means to ask; a copy that differs only in spacing or a typo asks nothing
// new and weighs its item twice.
//
// Code is compared verbatim. Each text's code-like segments (fenced
// blocks, `inline code`, quoted literals, and code tokens in prose such
// as x[::-1], a.b(c), A1:A5 or %Y-%m-%d) must be the same in both texts,
// in the same order, byte for byte: no case, width or spacing folded
// inside them, so that no patch per kind of change can miss one. Only the
// prose around them may differ, by the rule below; a text shouted or
// typed wholly in full-width forms is read lower-cased or narrowed, in
// its code too (see segment.go).
//
// A similarity of word shingles (Jaccard, MinHash) cannot tell the two
// apart: one changed number in a twelve-word question leaves most
// shingles shared, so such a measure either drops distinct questions or
// misses copies. This package compares the texts' tokens instead, and
// allows only the differences the rule allows.
//
// # Tokens
//
// Text is NFKC-normalised (full-width forms become plain ones) and
// lower-cased, but for the marks in code and in a literal that a straight
// quote opens, which keep their width ('，', `=SUM(A1：A5)`; a Chinese
// quotation 「：」 is 「:」), and the letters in code, which keep their case
// unless the whole text is shouted. A word is a run of letters; a number
// is a run of digits with the points inside it, an English number word
// (seven, twice) or a Chinese numeral; each Han, kana or hangul character
// is a token, since Chinese puts no spaces between words; each character
// that means something in code or math (< > ( ) [ ] { } + - * / = ! % ^ &
// | ~ # $ @ \, currency and other symbols) is a token. Spaces and sentence
// punctuation only separate tokens (an apostrophe inside a word joins it,
// a hyphen between letters separates it, a "!" that ends a sentence is
// punctuation, one in != or 5! is a symbol). A punctuation mark that is
// not a sentence's is a symbol too (see literal.go): in code (``` fences,
// `backticks`), in a quoted literal ("count the ',' in the line",
// s.split('.'), 「；」) and between code on both sides or against a bracket
// inside it (os.path, YYYY.MM.DD, f(x,y), a;b, a[1:], a[:1], (1,)), so
// that s.split(',') and s.split('.') are two questions; the quote marks
// themselves separate. A space is a symbol inside a string in code
// (`' '.join`) and after a literal's mark before its closing quote
// (', '); elsewhere spaces separate, also around and inside code.
//
// # Near-duplicates
//
// Two texts are near-duplicates when their tokens are the same but for at
// most a share (1 - similarity) of them, and at least one (one in five by
// default, [DefaultMinSimilarity]; none at similarity 1), each of which is
//   - a typo in a word: one letter substituted, dropped or doubled inside
//     the word, or two neighbouring letters swapped (recieve, langauge);
//     never the first letter, and never the last but by a swap, since
//     words that differ there are usually other words (cat and cats, able
//     and unable); never in a word of fewer than three letters, a number
//     word, an identifier in code (snake_case, camelCase) or a name (a
//     word capitalised inside a sentence, or opening one unless it is a
//     common word);
//   - a Chinese character confused with a sound-alike or look-alike (的
//     and 得, 在 and 再, 己 and 已; see hanzi.go). Two neighbouring
//     characters swapped are not a typo: 蜂蜜 and 蜜蜂, 故事 and 事故 are
//     other words;
//   - a space dropped or added between two words (cannot, can not).
//
// Numbers, symbols and every other word or character must match exactly.
// [Match.Similarity] is the share of tokens the texts have in common:
// 1 for a copy that differs only in the case, width, spacing or
// punctuation of its prose.
//
// # Cost
//
// An [Index] stores each kept text's tokens compactly and keys it by its
// exact tokens and by a few candidate keys (see keys.go): a new text is
// compared only with the texts that share a rare key, at most [maxVerify]
// of them, each comparison a banded alignment linear in the text's length.
// So adding n texts takes time linear in n, also for templated suites
// where every text shares most words with every other.
package dedup
