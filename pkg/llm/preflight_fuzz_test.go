package llm

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzPreflight gives the preflight whatever an endpoint may answer — any
// status and body for GET /models and for the 1-token chat call: it never
// panics, and every problem it reports names its target and says what is
// wrong.
func FuzzPreflight(f *testing.F) {
	f.Add(uint8(0), []byte(`{"object":"list","data":[{"id":"base"}]}`), uint8(0), []byte(`{"choices":[{"message":{"content":"OK"}}]}`))
	f.Add(uint8(3), []byte(`not json`), uint8(3), []byte(`{"error":{"message":"The model `+"`sft`"+` does not exist."}}`))
	f.Add(uint8(1), []byte(`{"data":[{"id":null}]}`), uint8(2), []byte(`{"message":"bad"}`))
	f.Add(uint8(5), []byte(``), uint8(6), []byte("<html>502</html>"))
	statuses := []int{200, 401, 403, 404, 405, 500, 502, 503, 400, 422, 429, 501}
	f.Fuzz(func(t *testing.T, ms uint8, mbody []byte, cs uint8, cbody []byte) {
		modelsStatus, chatStatus := statuses[int(ms)%len(statuses)], statuses[int(cs)%len(statuses)]
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if strings.HasSuffix(r.URL.Path, "/models") {
				w.WriteHeader(modelsStatus)
				w.Write(mbody)
				return
			}
			w.WriteHeader(chatStatus)
			w.Write(cbody)
		}))
		defer srv.Close()
		c, _ := newClient(t)
		target := Target{Kind: "variant", Name: "ft", BaseURL: srv.URL + "/v1", Model: "sft"}
		for _, p := range c.Preflight(t.Context(), []Target{target}, PreflightOptions{}) {
			if p.Target.Name != "ft" || p.Kind == "" || p.Detail == "" || !strings.HasPrefix(p.Error(), "variant ft: ") ||
				!strings.HasPrefix(p.Cause(), "preflight: ") {
				t.Fatalf("problem %+v reads %q (cause %q)", p, p.Error(), p.Cause())
			}
		}
	})
}
