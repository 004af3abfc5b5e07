package bus

import "encoding/json"

// IngestProgressKey holds how far ingest has published a run's suites
// (JSON, an [IngestProgress]), next to its ingest status ([IngestKey]).
func IngestProgressKey(run string) string { return run + ".ingest-progress" }

// The keys of assay's messages, read for dead-letter entries: only the
// fields that name what a message is about.

// SampleKeys names the sample a Sample message carries.
func SampleKeys(m *Msg) Keys {
	var s struct {
		Run   string `json:"run"`
		Suite string `json:"suite"`
		ID    string `json:"id"`
	}
	_ = json.Unmarshal(m.Payload, &s)
	return Keys{Run: s.Run, Suite: s.Suite, Sample: s.ID}
}

// GenerationKeys names the sample and variant a Generation (or Score)
// message is about.
func GenerationKeys(m *Msg) Keys {
	var g struct {
		Run    string `json:"run"`
		Sample struct {
			ID    string `json:"id"`
			Suite string `json:"suite"`
		} `json:"sample"`
		Variant string `json:"variant"`
	}
	_ = json.Unmarshal(m.Payload, &g)
	return Keys{Run: g.Run, Suite: g.Sample.Suite, Sample: g.Sample.ID, Variant: g.Variant}
}

// RunEventKeys names the run of a lifecycle event.
func RunEventKeys(m *Msg) Keys {
	var e struct {
		Run string `json:"run"`
	}
	_ = json.Unmarshal(m.Payload, &e)
	return Keys{Run: e.Run}
}
