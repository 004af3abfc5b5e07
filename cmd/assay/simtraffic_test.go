package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/assay-eval/assay/pkg/llmsim"
)

// TestSimTrafficFlags: the traffic command's flags are checked before a
// request is sent, and --lose-exposures makes the simulated product log
// exposures itself, losing those it is told to.
func TestSimTrafficFlags(t *testing.T) {
	var mu sync.Mutex
	var assigns []map[string]any
	events := 0
	intake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/assign") {
			var req map[string]any
			_ = json.NewDecoder(r.Body).Decode(&req)
			assigns = append(assigns, req)
			_ = json.NewEncoder(w).Encode(map[string]any{"experiment": "exp", "arm": "treatment", "variant": "ft", "new": true})
			return
		}
		events++
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"accepted":1}`))
	}))
	defer intake.Close()
	base := []string{"sim", "traffic", "--intake", intake.URL, "--experiment", "exp", "--users", "20"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--turns", "0"}, "--turns 0: a conversation has at least 1"},
		{[]string{"--conversations", "-1"}, "--conversations -1"},
		{[]string{"--workers", "0"}, "--workers 0: at least 1"},
		{[]string{"--lose-exposures", "treatment"}, "write ARM=P"},
		{[]string{"--lose-exposures", "treatment=1.5"}, `"1.5" is not a chance from 0 to 1`},
		{[]string{"--lose-exposures", "treatment=0.1", "--lose-exposures", "treatment=0.2"}, "names arm treatment twice"},
	} {
		_, _, err := runCLI(t, append(base, c.args...)...)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	if len(assigns) != 0 || events != 0 {
		t.Fatalf("refused flags sent %d assignments and %d events requests", len(assigns), events)
	}
	out, _, err := runCLI(t, append(base, "--lose-exposures", "treatment=1", "--conversations", "0", "--workers", "4")...)
	if err != nil {
		t.Fatal(err)
	}
	var oracle map[string]llmsim.ArmOracle
	if err := json.Unmarshal([]byte(out), &oracle); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if o := oracle["treatment"]; o.Lost != 20 || o.Units != 0 || events != 0 || len(assigns) != 20 {
		t.Errorf("every exposure lost: oracle %+v, %d events requests, %d assignments", o, events, len(assigns))
	}
	for _, a := range assigns {
		if a["log"] != false {
			t.Errorf("assigned without log false: %v", a)
		}
	}
}
