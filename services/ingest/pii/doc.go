// Package pii redacts personal data from sampled production queries before
// anything is stored: email addresses, phone numbers (Chinese mobiles and
// landlines, E.164, North American), Chinese resident ID numbers, bank card
// numbers and IP addresses (v4 and v6). [Redact] replaces each with a
// placeholder and reports what it replaced.
//
// Queries are full of numbers that are not personal data: order and invoice
// ids, dates, prices, versions, quantities, years, times, ISBNs, postal codes.
// So every detector wants a shape and, where one exists, a checksum (the ID's
// ISO 7064 MOD 11-2 digit, the card's Luhn digit) or a range check (IPv4
// octets, the ID's birth date, North American area codes), and a number only
// counts when it stands alone: a digit run is never matched in part, and a
// phone number glued to letters ("SO13812345678") or hyphenated onto another
// number ("INV-2024-0417") is an identifier, not a phone. Chinese text has no
// spaces, so a CJK character is as good a boundary as a space.
//
// When matches overlap, the kinds win in the order CN_ID, Card, Email, IP,
// Phone. Each detector runs on the text with every match so far masked out,
// as the placeholder will mask it, which also lets a lower kind find what
// is left beside a higher one ("[CN_ID]x@example.com"). So a match does not
// depend on whether its neighbours have been redacted yet, and redacting
// redacted text changes nothing.
//
// Matches are made of ASCII characters (and full-width parentheses around
// an area code), so text in any script passes through untouched, a match
// never splits a character, and invalid UTF-8 is copied as it is.
// Full-width digits, Unicode email addresses and 15-digit first-generation
// IDs are not detected.
//
// Everything here takes values and returns values: no I/O, no clock.
package pii
