package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// embedServer is an embeddings endpoint written for the tests: each
// input's vector is [len(text), 1, ...] (so a test can tell which text a
// vector is for), each request's inputs are kept, and fail decides per
// call (from 1) to answer with an error status instead.
type embedServer struct {
	*httptest.Server
	calls    atomic.Int32
	inFlight atomic.Int32
	peak     atomic.Int32

	mu      sync.Mutex
	inputs  [][]string
	paths   []string
	headers []http.Header
	bodies  []EmbeddingsRequest
}

func newEmbedServer(t *testing.T, fail func(call int) int) *embedServer {
	t.Helper()
	s := &embedServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
		}
		var req EmbeddingsRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		call := int(s.calls.Add(1))
		s.mu.Lock()
		s.inputs = append(s.inputs, req.Input)
		s.paths = append(s.paths, r.URL.Path)
		s.headers = append(s.headers, r.Header.Clone())
		s.bodies = append(s.bodies, req)
		s.mu.Unlock()
		if fail != nil {
			if code := fail(call); code != 0 {
				status(w, code)
				return
			}
		}
		resp := EmbeddingsResponse{Object: "list", Model: req.Model}
		for i, text := range req.Input {
			v := []float32{float32(len(text)), 1}
			var raw []byte
			if req.Task == TaskTokenEmbed {
				raw, _ = json.Marshal([][]float32{v, {0, 1}})
				resp.Data = append(resp.Data, EmbeddingData{Index: i, Data: raw})
				continue
			}
			raw, _ = json.Marshal(v)
			resp.Data = append(resp.Data, EmbeddingData{Object: "embedding", Index: i, Embedding: raw})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *embedServer) endpoint() Endpoint {
	return Endpoint{Name: "embeddings", BaseURL: s.URL + "/v1", Concurrency: 2}
}

func (s *embedServer) sent() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.inputs...)
}

// unit is [x, 1] normalised: the vector embedServer gives a text of
// length x.
func unit(x float64) []float32 {
	v := []float32{float32(x), 1}
	normalize(v)
	return v
}

// TestEmbedBatchesInOrder: texts go in batches of the batch size, at most
// the endpoint's concurrency at once; vectors come back normalised in the
// texts' order; a text given twice is asked for once.
func TestEmbedBatchesInOrder(t *testing.T) {
	s := newEmbedServer(t, nil)
	c, _ := newClient(t)
	texts := []string{"a", "bb", "ccc", "dddd", "bb", "eeeee"}
	got, err := c.Embed(t.Context(), s.endpoint(), EmbedOptions{Model: "e5", BatchSize: 2}, texts, fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		if !vectorsNear([][][]float32{{got[i]}}, [][][]float32{{unit(float64(len(text)))}}) {
			t.Errorf("text %q: vector %v, want %v", text, got[i], unit(float64(len(text))))
		}
	}
	var sent []string
	for _, in := range s.sent() {
		if len(in) > 2 {
			t.Errorf("a request of %d inputs; the batch size is 2", len(in))
		}
		sent = append(sent, in...)
	}
	if len(sent) != 5 {
		t.Errorf("sent %v: want the 5 distinct texts once each", sent)
	}
	if p := s.peak.Load(); p > 2 {
		t.Errorf("%d requests in flight; the concurrency is 2", p)
	}
	body := s.bodies[0]
	if body.Model != "e5" || body.EncodingFormat != "float" || body.Dimensions != 0 || body.Task != "" || s.paths[0] != "/v1/embeddings" {
		t.Errorf("request %+v to %s", body, s.paths[0])
	}
}

// TestEmbedCache: a vector in the cache is never asked for again, by this
// client or another over the same cache; the key depends on the endpoint,
// the model and the dimensions asked, so that an endpoint serving a
// model's name cannot answer for another endpoint's.
func TestEmbedCache(t *testing.T) {
	s := newEmbedServer(t, nil)
	other := newEmbedServer(t, nil)
	cache := NewMemoryCache()
	c, _ := newClient(t, WithCache(cache))
	o := EmbedOptions{Model: "e5"}
	if _, err := c.Embed(t.Context(), s.endpoint(), o, []string{"one", "two"}, fastRetry); err != nil {
		t.Fatal(err)
	}
	c2, _ := newClient(t, WithCache(cache))
	got, err := c2.Embed(t.Context(), s.endpoint(), o, []string{"two", "three", "one"}, fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	if sent := s.sent(); len(sent) != 2 || strings.Join(sent[1], ",") != "three" {
		t.Errorf("the second call sent %v, want only [three]", sent)
	}
	if !vectorsNear([][][]float32{got}, [][][]float32{{unit(3), unit(5), unit(3)}}) {
		t.Errorf("vectors %v", got)
	}
	if _, err := c2.Embed(t.Context(), other.endpoint(), o, []string{"one"}, fastRetry); err != nil {
		t.Fatal(err)
	}
	if n := other.calls.Load(); n != 1 {
		t.Errorf("another endpoint's model was answered from the cache (%d calls)", n)
	}
	if _, err := c2.Embed(t.Context(), s.endpoint(), EmbedOptions{Model: "e5", Dimensions: 2}, []string{"one"}, fastRetry); err != nil {
		t.Fatal(err)
	}
	if n := s.calls.Load(); n != 3 {
		t.Errorf("other dimensions were answered from the cache (%d calls)", n)
	}
	url := s.endpoint().BaseURL
	if k1, k2 := EmbedKey(url, o, false, "x"), EmbedKey(url, o, true, "x"); k1 == k2 || !strings.HasPrefix(k1, EmbedSpace+".") {
		t.Errorf("keys %q and %q", k1, k2)
	}
	if k1, k2 := EmbedKey(url, o, false, "x"), EmbedKey(other.endpoint().BaseURL, o, false, "x"); k1 == k2 {
		t.Errorf("two endpoints share key %q", k1)
	}
}

// TestEmbedCorruptCacheEntry: an entry that is not a vector is a miss.
func TestEmbedCorruptCacheEntry(t *testing.T) {
	s := newEmbedServer(t, nil)
	cache := NewMemoryCache()
	o := EmbedOptions{Model: "e5"}
	cache.Put(t.Context(), EmbedKey(s.endpoint().BaseURL, o, false, "one"), []byte("EV\x01garbage"))
	c, _ := newClient(t, WithCache(cache))
	got, err := c.Embed(t.Context(), s.endpoint(), o, []string{"one"}, fastRetry)
	if err != nil || s.calls.Load() != 1 || !vectorsNear([][][]float32{got}, [][][]float32{{unit(3)}}) {
		t.Errorf("got %v, %v after %d calls", got, err, s.calls.Load())
	}
}

// TestEmbedRetriesAndFailures: an embeddings call is retried as a chat
// call is (a 503 then an answer), a client error is final, and a final
// failure names the endpoint; the observer sees each attempt.
func TestEmbedRetriesAndFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     func(int) int
		calls    int32
		err      string
		outcomes []string
	}{
		{"503 then ok", func(call int) int { return map[int]int{1: 503}[call] }, 2, "",
			[]string{"embeddings server_error", "embeddings ok"}},
		{"always 503", func(int) int { return 503 }, 3, "(after 3 attempts)",
			[]string{"embeddings server_error", "embeddings server_error", "embeddings server_error"}},
		{"404", func(int) int { return 404 }, 1, "/v1/embeddings: HTTP 404",
			[]string{"embeddings client_error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newEmbedServer(t, tc.fail)
			var obs attempts
			c, _ := newClient(t, WithObserver(&obs))
			_, err := c.Embed(t.Context(), s.endpoint(), EmbedOptions{Model: "e5"}, []string{"x"}, fastRetry)
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), s.URL)):
				t.Fatalf("error %v, want it to name %s and say %q", err, s.URL, tc.err)
			}
			if got := s.calls.Load(); got != tc.calls {
				t.Errorf("%d calls, want %d", got, tc.calls)
			}
			if got := obs.outcomes(); fmt.Sprint(got) != fmt.Sprint(tc.outcomes) {
				t.Errorf("observed %v, want %v", got, tc.outcomes)
			}
		})
	}
}

// TestEmbedKeysAndPolicy: the key named by KeyEnv is sent, and replaced
// where the endpoint echoes it in an error; a host the policy refuses is
// never called.
func TestEmbedKeysAndPolicy(t *testing.T) {
	const key = "sk-embed-0123456789"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"message":"bad key %s"}}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	t.Cleanup(echo.Close)
	t.Setenv("EMBED_KEY", key)
	c, _ := newClient(t, WithEndpoints(LocalEndpoints()))
	_, err := c.Embed(t.Context(), Endpoint{BaseURL: echo.URL + "/v1", KeyEnv: "EMBED_KEY"}, EmbedOptions{Model: "e5"}, []string{"x"}, fastRetry)
	if err == nil || strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "bad key "+SecretShown) {
		t.Errorf("error %v: want the echoed key replaced", err)
	}

	s := newEmbedServer(t, nil)
	refusing, _ := newClient(t, WithEndpoints(serverPolicy(t, "", false, nil)))
	_, err = refusing.Embed(t.Context(), Endpoint{BaseURL: localhostURL(s.URL), Concurrency: 1}, EmbedOptions{Model: "e5"}, []string{"x"}, fastRetry)
	if !errors.Is(err, ErrPolicy) || s.calls.Load() != 0 {
		t.Errorf("error %v after %d calls: want the policy to refuse loopback", err, s.calls.Load())
	}
}

// TestEmbedTokens: token vectors come from POST {base_url}/pooling with
// task token_embed, one vector per token, each normalised.
func TestEmbedTokens(t *testing.T) {
	s := newEmbedServer(t, nil)
	c, _ := newClient(t)
	got, err := c.EmbedTokens(t.Context(), Endpoint{BaseURL: s.URL, Concurrency: 1}, EmbedOptions{Model: "colbert"}, []string{"abcd"}, fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	if !vectorsNear(got, [][][]float32{{unit(4), {0, 1}}}) {
		t.Errorf("got %v", got)
	}
	if s.paths[0] != "/pooling" || s.bodies[0].Task != TaskTokenEmbed {
		t.Errorf("sent %+v to %s", s.bodies[0], s.paths[0])
	}
}

// TestEmbedRefusesEmptyText: nothing is sent for a call with an empty
// text: what an empty answer scores is the caller's to say.
func TestEmbedRefusesEmptyText(t *testing.T) {
	s := newEmbedServer(t, nil)
	c, _ := newClient(t)
	if _, err := c.Embed(t.Context(), s.endpoint(), EmbedOptions{Model: "e5"}, []string{"a", " \n"}, fastRetry); !errors.Is(err, errEmptyText) {
		t.Errorf("error %v", err)
	}
	if s.calls.Load() != 0 {
		t.Error("a call was sent")
	}
}

// TestVectorsRoundTrip: what the cache keeps reads back the same, and a
// truncated or oversized entry is refused.
func TestVectorsRoundTrip(t *testing.T) {
	vs := [][]float32{unit(3), unit(4)}
	b := encodeVectors(vs)
	got, err := decodeVectors(b)
	if err != nil || !vectorsNear([][][]float32{got}, [][][]float32{vs}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range [][]byte{b[:len(b)-1], append(b, 0, 0, 0, 0), nil, []byte("EV\x02"), b[:10]} {
		if _, err := decodeVectors(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

// TestDirCache: values are kept in files and read back; a key that could
// name another path is refused.
func TestDirCache(t *testing.T) {
	d := DirCache{Dir: t.TempDir()}
	key := EmbedKey("http://e5:8000/v1", EmbedOptions{Model: "e5"}, false, "x")
	if _, ok, err := d.Get(t.Context(), key); ok || err != nil {
		t.Fatalf("empty cache: %v %v", ok, err)
	}
	if err := d.Put(t.Context(), key, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := d.Get(t.Context(), key); !ok || err != nil || string(v) != "v" {
		t.Errorf("got %q %v %v", v, ok, err)
	}
	for _, bad := range []string{"../x", "a/b", "..", ".hidden", ""} {
		if err := d.Put(t.Context(), bad, []byte("v")); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}
