package review

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
)

// ReviewersEnv is the environment variable the reviewers' tokens may be
// given in, as entries of the reviewers file separated by commas or
// newlines.
const ReviewersEnv = "ASSAY_REVIEW_TOKENS"

// minTokenLen is the shortest token accepted.
const minTokenLen = 16

// Reviewers are the reviewers a server admits, by token. Only digests of
// the tokens are kept, compared in constant time.
type Reviewers struct {
	names   []string
	digests [][32]byte
}

// Len is the number of tokens.
func (r Reviewers) Len() int { return len(r.names) }

// Who is the reviewer token names, or "".
func (r Reviewers) Who(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	who := -1
	for i, d := range r.digests {
		if subtle.ConstantTimeCompare(sum[:], d[:]) == 1 {
			who = i
		}
	}
	if who < 0 {
		return ""
	}
	return r.names[who]
}

// ParseReviewers reads "name=token" entries, one a line or separated by
// commas; blank lines and lines starting with '#' are skipped. where
// names the text in errors, which never quote a token.
func ParseReviewers(where, text string) (Reviewers, error) {
	var r Reviewers
	for n, line := range strings.Split(text, "\n") {
		for entry := range strings.SplitSeq(line, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" || strings.HasPrefix(entry, "#") {
				continue
			}
			name, token, ok := strings.Cut(entry, "=")
			name, token = strings.TrimSpace(name), strings.TrimSpace(token)
			if !ok {
				return Reviewers{}, fmt.Errorf("%s:%d: an entry is reviewer=token, e.g. alice=<a random token of %d characters or more>", where, n+1, minTokenLen)
			}
			if err := CheckName("reviewer", name); err != nil {
				return Reviewers{}, fmt.Errorf("%s:%d: %w", where, n+1, err)
			}
			if len(token) < minTokenLen || strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) {
				return Reviewers{}, fmt.Errorf("%s:%d: the token of %s is shorter than %d characters or holds spaces or non-ASCII: use a random token (e.g. openssl rand -hex 24)", where, n+1, name, minTokenLen)
			}
			sum := sha256.Sum256([]byte(token))
			if slices.Contains(r.digests, sum) {
				return Reviewers{}, fmt.Errorf("%s:%d: a token given twice: each reviewer needs a token of their own", where, n+1)
			}
			r.names, r.digests = append(r.names, name), append(r.digests, sum)
		}
	}
	return r, nil
}

// LoadReviewers reads the reviewers from file, or from [ReviewersEnv] when
// file is "".
func LoadReviewers(file string) (Reviewers, error) {
	if file == "" {
		text, ok := os.LookupEnv(ReviewersEnv)
		if !ok {
			return Reviewers{}, fmt.Errorf("no reviewers: give --reviewers FILE (lines of name=token) or set %s", ReviewersEnv)
		}
		return ParseReviewers(ReviewersEnv, text)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return Reviewers{}, fmt.Errorf("reading the reviewers: %w", err)
	}
	return ParseReviewers(file, string(data))
}

// cookie names the session cookie, which holds the reviewer's token.
const cookie = "assay_review"

//go:embed page.html
var pageFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"has": func(list []string, v string) bool { return slices.Contains(list, v) },
}).ParseFS(pageFS, "page.html"))

// Server serves the review page and its JSON API.
type Server struct {
	b         *bus.Bus
	reviewers Reviewers
	logger    *slog.Logger
	now       func() time.Time

	mu     sync.Mutex
	queues map[[2]string]*Queue
	// labelling serialises label submissions per queue, so that each
	// sees the labels before it (supersedes, forms sent twice).
	labelling map[[2]string]*sync.Mutex
}

// NewServer returns a server of the queues on b for reviewers.
func NewServer(b *bus.Bus, reviewers Reviewers, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{b: b, reviewers: reviewers, logger: logger, now: time.Now,
		queues: map[[2]string]*Queue{}, labelling: map[[2]string]*sync.Mutex{}}
}

// queue is a stored queue, loaded once: a stored queue never changes.
func (s *Server) queue(ctx context.Context, run, queue string) (*Queue, error) {
	if err := CheckName("run", run); err != nil {
		return nil, err
	}
	if err := CheckName("queue", queue); err != nil {
		return nil, err
	}
	k := [2]string{run, queue}
	s.mu.Lock()
	q := s.queues[k]
	s.mu.Unlock()
	if q != nil {
		return q, nil
	}
	q, err := Load(ctx, s.b, run, queue)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.queues[k] = q
	s.mu.Unlock()
	return q, nil
}

func (s *Server) lock(run, queue string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{run, queue}
	m := s.labelling[k]
	if m == nil {
		m = &sync.Mutex{}
		s.labelling[k] = m
	}
	return m
}

// Handler serves:
//
//	GET  /review/login, POST /review/login, POST /review/logout
//	GET  /review/{run}/{queue}           the next item to label (?item= one)
//	POST /review/{run}/{queue}           a label from the page's form
//	GET  /v1/review/{run}/{queue}/items  the items, blind (bearer token)
//	POST /v1/review/{run}/{queue}/labels a label as JSON (bearer token)
//	GET  /v1/review/{run}/{queue}/summary
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /review/login", s.loginPage)
	mux.HandleFunc("POST /review/login", s.login)
	mux.HandleFunc("POST /review/logout", s.logout)
	mux.HandleFunc("GET /review/{run}/{queue}", s.page)
	mux.HandleFunc("POST /review/{run}/{queue}", s.pageLabel)
	mux.HandleFunc("GET /v1/review/{run}/{queue}/items", s.apiItems)
	mux.HandleFunc("POST /v1/review/{run}/{queue}/labels", s.apiLabel)
	mux.HandleFunc("GET /v1/review/{run}/{queue}/summary", s.apiSummary)
	mux.HandleFunc("GET /v1/review/{run}/{queue}/reveal", s.apiReveal)
	return secureHeaders(mux)
}

// secureHeaders keeps the page from being framed, sniffed or running any
// script (a page's own script is let in by its nonce: see render), and
// refuses a form posted from another site: a browser names the page a
// form came from in Origin.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp(""))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		// same-origin, not no-referrer: under no-referrer a browser sends
		// its own forms' Origin as "null", which the check below refuses.
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodPost {
			if o := r.Header.Get("Origin"); o != "" {
				if u, err := url.Parse(o); err != nil || u.Host != r.Host {
					http.Error(w, "a form from another site is refused", http.StatusForbidden)
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// csp is the pages' content security policy, letting in the script with
// nonce when there is one.
func csp(nonce string) string {
	script := "'none'"
	if nonce != "" {
		script = "'nonce-" + nonce + "'"
	}
	return "default-src 'none'; script-src " + script + "; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// reviewer is who r comes from: its bearer token, or its session cookie.
func (s *Server) reviewer(r *http.Request) (name, token string) {
	if h := r.Header.Get("Authorization"); h != "" {
		t, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return "", ""
		}
		return s.reviewers.Who(strings.TrimSpace(t)), strings.TrimSpace(t)
	}
	if c, err := r.Cookie(cookie); err == nil {
		return s.reviewers.Who(c.Value), c.Value
	}
	return "", ""
}

// csrf is the form field that proves a form came from a page served to
// the holder of token: keyed by the token itself, it holds across
// restarts and replicas of the server, and no one without the token can
// make it.
func (s *Server) csrf(token, run, queue string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("assay review form\x00" + run + "\x00" + queue))
	return hex.EncodeToString(m.Sum(nil))
}

type pageData struct {
	Nonce    string
	Title    string
	Error    string
	Next     string
	Reviewer string
	Run      string
	Queue    string
	CSRF     string
	Item     *itemView
	Progress []bucketProgress
	Done     int
	Total    int
	// Saved says the last label was stored; Reveals, once the reviewer
	// has labelled every item, which answers were whose.
	Saved    bool
	Reveals  []reveal
	Finished bool
	SignedIn bool
	Errors   []string
	// Typed is what the reviewer sent with a label refused, shown again.
	Typed *Input
}

type itemView struct {
	ID         string
	Messages   []eval.Message
	Reference  []string
	A, B       string
	Submission string
	Prior      *Label
	Number     int
}

type bucketProgress struct {
	Bucket      eval.Bucket
	Done, Total int
}

type reveal struct {
	ID        string
	Number    int
	A, B      string
	Choice    Choice
	Preferred eval.Winner
	Candidate string
	Bucket    eval.Bucket
}

func (s *Server) render(w http.ResponseWriter, status int, d pageData) {
	d.Nonce = randomHex(16)
	w.Header().Set("Content-Security-Policy", csp(d.Nonce))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, "page", d); err != nil {
		s.logger.Warn("rendering the review page failed", "err", err)
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if who, _ := s.reviewer(r); who != "" && r.URL.Query().Get("next") == "" {
		s.render(w, http.StatusOK, pageData{Title: "Signed in", Reviewer: who, SignedIn: true})
		return
	}
	s.render(w, http.StatusOK, pageData{Title: "Sign in", Next: safeNext(r.URL.Query().Get("next"))})
}

// safeNext is a path under /review/ to go to after signing in, or "".
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/review/") || strings.Contains(next, "//") || strings.Contains(next, "\\") {
		return ""
	}
	return next
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	if s.reviewers.Who(token) == "" {
		s.logger.Warn("review sign-in refused", "remote", r.RemoteAddr)
		s.render(w, http.StatusUnauthorized, pageData{Title: "Sign in", Error: "That token is not a reviewer's.", Next: next})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookie, Value: token, Path: "/review/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	if next == "" {
		s.render(w, http.StatusOK, pageData{Title: "Signed in", Reviewer: s.reviewers.Who(token), SignedIn: true})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookie, Value: "", Path: "/review/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/review/login", http.StatusSeeOther)
}

// pageAuth is the reviewer of a page request, or "" after redirecting to
// the sign-in page.
func (s *Server) pageAuth(w http.ResponseWriter, r *http.Request) (name, token string) {
	name, token = s.reviewer(r)
	if name == "" {
		http.Redirect(w, r, "/review/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
	}
	return name, token
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	who, token := s.pageAuth(w, r)
	if who == "" {
		return
	}
	s.show(w, r, who, token, http.StatusOK, "", r.URL.Query().Get("item"), r.URL.Query().Has("saved"), nil)
}

// show renders the page of item want (or the reviewer's next item) of the
// request's queue. While the reviewer labels, the page says nothing of
// buckets (an item's is its candidate answer's: with one bucket left, a
// count per bucket would name it); once every item is labelled, it shows
// the progress per bucket and which answers were whose.
func (s *Server) show(w http.ResponseWriter, r *http.Request, who, token string, status int, problem, want string, saved bool, typed *Input) {
	run, queue := r.PathValue("run"), r.PathValue("queue")
	q, ls, err := s.load(r.Context(), run, queue)
	if err != nil {
		s.fail(w, r, who, err)
		return
	}
	d := pageData{Title: "Review " + run + "/" + queue, Reviewer: who, Run: run, Queue: queue, CSRF: s.csrf(token, run, queue), Error: problem, Errors: ErrorTypes, Total: len(q.Items), Typed: typed, Saved: saved}
	counts := map[eval.Bucket]*bucketProgress{}
	var order []eval.Bucket
	var next *Item
	for _, it := range q.Items {
		c := counts[it.Bucket]
		if c == nil {
			c = &bucketProgress{Bucket: it.Bucket}
			counts[it.Bucket] = c
			order = append(order, it.Bucket)
		}
		c.Total++
		if ls.Latest(it.ID, who) != nil {
			c.Done++
			d.Done++
		} else if next == nil {
			next = it
		}
	}
	if ls.Finished(q, who) {
		for _, b := range order {
			d.Progress = append(d.Progress, *counts[b])
		}
		d.Reveals = reveals(q, ls, who)
	}
	if want != "" {
		if next = q.Item(want); next == nil {
			s.render(w, http.StatusNotFound, pageData{Title: "Not found", Reviewer: who, Error: "No such item in this queue."})
			return
		}
	}
	if next == nil {
		d.Finished = true
		s.render(w, status, d)
		return
	}
	a, b := next.CandidateOutput, next.BaselineOutput
	if !next.CandidateFirst {
		a, b = b, a
	}
	d.Item = &itemView{ID: next.ID, Messages: next.Messages, Reference: next.Reference, A: a, B: b,
		Submission: randomHex(16), Prior: ls.Latest(next.ID, who), Number: next.Position + 1}
	s.render(w, status, d)
}

func (s *Server) load(ctx context.Context, run, queue string) (*Queue, *Labels, error) {
	q, err := s.queue(ctx, run, queue)
	if err != nil {
		return nil, nil, err
	}
	ls, _, err := LoadLabels(ctx, s.b, run, queue)
	if err != nil {
		return nil, nil, err
	}
	return q, ls, nil
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, who string, err error) {
	status := http.StatusServiceUnavailable
	msg := "The queue could not be read; try again."
	if errors.Is(err, ErrNoQueue) || errors.Is(err, ErrBadName) {
		status, msg = http.StatusNotFound, "No such review queue."
	} else {
		s.logger.Warn("review request failed", "path", r.URL.Path, "err", err)
	}
	s.render(w, status, pageData{Title: "Review", Reviewer: who, Error: msg})
}

func (s *Server) pageLabel(w http.ResponseWriter, r *http.Request) {
	who, token := s.reviewer(r)
	if who == "" {
		http.Error(w, "sign in first: /review/login", http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("the form is over %d KB: shorten the corrected answer (at most %d KB) or the note (%d KB)", maxFormBytes>>10, maxCorrected>>10, maxNote>>10), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "the form does not parse: reload the page", http.StatusBadRequest)
		return
	}
	run, queue := r.PathValue("run"), r.PathValue("queue")
	if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.csrf(token, run, queue))) {
		http.Error(w, "the form did not come from this queue's page: reload it", http.StatusForbidden)
		return
	}
	in := Input{Item: r.PostFormValue("item"), Choice: Choice(r.PostFormValue("choice")), ErrorsA: r.PostForm["errors_a"], ErrorsB: r.PostForm["errors_b"],
		Corrected: r.PostFormValue("corrected"), Note: r.PostFormValue("note"), Submission: r.PostFormValue("submission")}
	_, status, err := s.submit(r.Context(), run, queue, who, in)
	if err != nil {
		if status == http.StatusBadRequest || status == http.StatusConflict {
			// The page again, with what the reviewer typed.
			s.show(w, r, who, token, status, err.Error(), in.Item, false, &in)
			return
		}
		http.Error(w, err.Error(), status)
		return
	}
	http.Redirect(w, r, "/review/"+run+"/"+queue+"?saved", http.StatusSeeOther)
}

// submit stores a label, saying which status a failure is.
func (s *Server) submit(ctx context.Context, run, queue, who string, in Input) (*Label, int, error) {
	if err := in.Check(); err != nil {
		return nil, http.StatusBadRequest, err
	}
	if err := errors.Join(CheckName("run", run), CheckName("queue", queue)); err != nil {
		return nil, http.StatusNotFound, err
	}
	// Only a queue that exists gets a lock: names sent at random add
	// nothing to the server's memory.
	if _, err := s.queue(ctx, run, queue); errors.Is(err, ErrNoQueue) || errors.Is(err, ErrBadName) {
		return nil, http.StatusNotFound, err
	}
	m := s.lock(run, queue)
	m.Lock()
	defer m.Unlock()
	q, ls, err := s.load(ctx, run, queue)
	if errors.Is(err, ErrNoQueue) || errors.Is(err, ErrBadName) {
		return nil, http.StatusNotFound, err
	}
	if err != nil {
		s.logger.Warn("reading a review queue failed", "run", run, "queue", queue, "err", err)
		return nil, http.StatusServiceUnavailable, errors.New("the queue could not be read: try again")
	}
	l, err := Submit(ctx, s.b, q, ls, who, in, s.now())
	switch {
	case errors.Is(err, ErrUnknownItem):
		return nil, http.StatusNotFound, err
	case errors.Is(err, ErrBadLabel):
		return nil, http.StatusBadRequest, err
	case errors.Is(err, ErrResent):
		return nil, http.StatusConflict, err
	case err != nil:
		s.logger.Warn("storing a label failed", "run", run, "queue", queue, "err", err)
		return nil, http.StatusServiceUnavailable, errors.New("the label could not be stored: send it again")
	}
	return l, http.StatusCreated, nil
}

// reveals says, for each item reviewer labelled, which answers were whose.
func reveals(q *Queue, ls *Labels, reviewer string) []reveal {
	var out []reveal
	for _, it := range q.Items {
		if l := ls.Latest(it.ID, reviewer); l != nil {
			a, b := it.Shown()
			out = append(out, reveal{ID: it.ID, Number: it.Position + 1, A: a, B: b, Choice: l.Choice, Preferred: l.Preferred, Candidate: it.Candidate, Bucket: it.Bucket})
		}
	}
	return out
}

// blindLabel is a label as its reviewer may see it before the reveal:
// without the variant its choice means.
func blindLabel(l *Label) map[string]any {
	return map[string]any{"item": l.Item, "reviewer": l.Reviewer, "at": l.At, "submission": l.Submission, "choice": l.Choice,
		"corrected": l.Corrected, "note": l.Note, "supersedes": l.Supersedes, "after_reveal": l.AfterReveal}
}

func (s *Server) apiReveal(w http.ResponseWriter, r *http.Request) {
	who := s.apiAuth(w, r)
	if who == "" {
		return
	}
	q, ls, err := s.load(r.Context(), r.PathValue("run"), r.PathValue("queue"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if !ls.Finished(q, who) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "label every item of the queue first: the answers are revealed once all are labelled"})
		return
	}
	type shown struct {
		Item      string      `json:"item"`
		A         string      `json:"a"`
		B         string      `json:"b"`
		Preferred eval.Winner `json:"preferred"`
		Bucket    eval.Bucket `json:"bucket"`
	}
	var out []shown
	for _, it := range q.Items {
		if l := ls.Latest(it.ID, who); l != nil {
			a, b := it.Shown()
			out = append(out, shown{Item: it.ID, A: a, B: b, Preferred: l.Preferred, Bucket: it.Bucket})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

// apiAuth is the reviewer of an API request, or "" after refusing it.
func (s *Server) apiAuth(w http.ResponseWriter, r *http.Request) string {
	who, _ := s.reviewer(r)
	if who == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="assay review"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a reviewer's bearer token is required"})
	}
	return who
}

// blindItem is an item as a reviewer may see it before labelling: not
// its bucket (the candidate's answer's), which would say which answer is
// the candidate's.
type blindItem struct {
	ID        string         `json:"id"`
	Messages  []eval.Message `json:"messages"`
	Reference []string       `json:"reference,omitempty"`
	A         string         `json:"a"`
	B         string         `json:"b"`
}

func (s *Server) apiItems(w http.ResponseWriter, r *http.Request) {
	if s.apiAuth(w, r) == "" {
		return
	}
	q, err := s.queue(r.Context(), r.PathValue("run"), r.PathValue("queue"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := make([]blindItem, len(q.Items))
	for i, it := range q.Items {
		a, b := it.CandidateOutput, it.BaselineOutput
		if !it.CandidateFirst {
			a, b = b, a
		}
		out[i] = blindItem{ID: it.ID, Messages: it.Messages, Reference: it.Reference, A: a, B: b}
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": q.Meta.Run, "queue": q.Meta.Queue, "items": out})
}

func (s *Server) apiLabel(w http.ResponseWriter, r *http.Request) {
	who := s.apiAuth(w, r)
	if who == "" {
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLabelBytes+1))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("a label is at most %d bytes", maxLabelBytes)})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body could not be read: send it again"})
		return
	}
	in, err := DecodeInput(data)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	l, status, err := s.submit(r.Context(), r.PathValue("run"), r.PathValue("queue"), who, in)
	if err != nil {
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"label": blindLabel(l)})
}

func (s *Server) apiSummary(w http.ResponseWriter, r *http.Request) {
	if s.apiAuth(w, r) == "" {
		return
	}
	q, err := s.queue(r.Context(), r.PathValue("run"), r.PathValue("queue"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	ls, bad, err := LoadLabels(r.Context(), s.b, q.Meta.Run, q.Meta.Queue)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Summarize(q, ls, bad))
}

func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNoQueue) || errors.Is(err, ErrBadName) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	s.logger.Warn("review request failed", "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the queue could not be read: try again"})
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
