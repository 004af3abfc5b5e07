// Package render turns a [document.Report] into what people read: a
// report.md for pull requests, a self-contained report.html to open or
// attach anywhere, and a short summary table for the terminal.
//
// The three renderings show the same data in the same order: variants as in
// Report.Variants (the baseline first when it is missing there), suites and
// metrics as in Report.Suites, and map keys sorted, so a report renders to
// the same bytes every time and diffs between runs stay readable.
//
// Prompts and model outputs are untrusted input. The HTML is built with
// html/template, which escapes every value, and loads nothing from outside
// the file; the Markdown shows clipped outputs in fences they cannot close.
package render
