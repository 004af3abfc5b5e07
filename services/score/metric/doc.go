// Package metric scores a model's answer against a sample's reference: exact
// match and token F1 (SQuAD normalisation; character tokens for Chinese),
// multiple-choice accuracy with the letter extracted from free text, numeric
// answer match, JSON validity, JSON Schema conformance and field-level JSON
// match, refusal detection (Chinese and English), ROUGE-L and length. Every
// scored answer also gets an error bucket for the report.
//
// Everything here takes values and returns values: no I/O, no clock.
package metric
