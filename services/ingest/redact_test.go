package ingest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestParseQueryRedactsEveryValue sends personal data in metadata values
// of every JSON type and nesting, and numbers that are not personal data:
// the first are stored as placeholders, the second as they were written.
func TestParseQueryRedactsEveryValue(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, metadata, want string
	}{
		{"card as a number", `{"card":4111111111111111}`, `{"card":"[CARD]"}`},
		{"19-digit card as a number", `{"card":6222021234567890128}`, `{"card":"[CARD]"}`},
		{"mobile as a number", `{"tel":13812345678}`, `{"tel":"[PHONE]"}`},
		{"negative mobile", `{"tel":-13812345678}`, `{"tel":"[PHONE]"}`},
		{"card in exponent form", `{"card":4.111111111111111e15}`, `{"card":"[CARD]"}`},
		{"card with a zero fraction", `{"card":4111111111111111.0}`, `{"card":"[CARD]"}`},
		// python3: the ISO 7064 check digit of 11010519800101001 is 6.
		{"ID number as a number", `{"id":110105198001010016}`, `{"id":"[CN_ID]"}`},
		{"card as a numeric string", `{"card":"4111111111111111"}`, `{"card":"[CARD]"}`},
		{"card 4-4-4-6 as a string", `{"card":"6222 0212 3456 789012"}`, `{"card":"[CARD]"}`},
		{"nested in arrays and objects", `{"a":[1,{"b":[13812345678,"x@example.com"]}]}`, `{"a":[1,{"b":["[PHONE]","[EMAIL]"]}]}`},
		{"a number as a key", `{"13812345678":true}`, `{"[PHONE]":true}`},
		{"order id kept", `{"order":88213,"order_id":2024031400123}`, `{"order":88213,"order_id":2024031400123}`},
		{"price and date kept", `{"price":1299.99,"date":20261127,"ts":1764921600000}`, `{"date":20261127,"price":1299.99,"ts":1764921600000}`},
		{"big exponent kept", `{"x":1e300,"y":-0.5,"z":0}`, `{"x":1e300,"y":-0.5,"z":0}`},
		{"booleans and null kept", `{"ok":true,"no":null}`, `{"no":null,"ok":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _, err := ParseQuery("chat", []byte(`{"query":"hi","metadata":`+tc.metadata+`}`), now)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(q.Metadata)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("metadata %s stored as %s, want %s", tc.metadata, got, tc.want)
			}
		})
	}
}

func TestParseQueryRefusesPersonalSourceNames(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, source := range []string{"13812345678", "4111-1111-1111-1111", "10-1-2-3", "bob@example.com", "tel_415_555_0132"} {
		_, _, err := ParseQuery(source, []byte(`{"query":"hi"}`), now)
		var qe *QueryError
		if !errors.As(err, &qe) || !strings.Contains(err.Error(), "source") {
			t.Errorf("source %q: %v, want a QueryError about the source", source, err)
		}
	}
}
