package isrtest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// A Failure is a way for the [Origin] to fail a render.
type Failure int

const (
	// FailNone answers normally.
	FailNone Failure = iota
	// FailTruncate announces the full Content-Length, sends half the body
	// and closes the connection: the client sees a truncated body.
	FailTruncate
	// FailError answers 500 Internal Server Error.
	FailError
)

// An Origin is a scriptable origin server for tests: an http.Handler, for
// use with httptest.NewServer or directly. It counts the renders of each
// path and answers
//
//	<path> v<version> render #<count>
//
// as text/plain, where count is the render's number for the path (from 1)
// and version is set by [Origin.SetVersion] (default 1). Paths are the
// request's URL.Path; the query is ignored. Every request is a render,
// whatever its method or outcome, and is counted when it arrives.
//
// The zero Origin is ready to use and answers 200 at once. All methods are
// safe for concurrent use, also while requests are being served.
type Origin struct {
	mu       sync.Mutex
	total    int
	paths    map[string]*originPath // by URL.Path; created on first use
	gate     chan struct{}          // HoldAll: closed on release; nil when not held
	inFlight int                    // renders arrived and not answered, all paths
	most     int                    // the most inFlight ever was
	order    []string               // paths in the order their renders arrived
}

// originPath is the script and record of one path.
type originPath struct {
	renders  int
	delay    time.Duration
	status   int // 0 means 200
	version  int // 0 means 1
	header   http.Header
	failure  Failure
	hold     chan struct{} // closed on release; nil when not held
	last     http.Header
	finished int  // renders answered or abandoned
	answered int  // renders that got past their hold and delay
	cookies  bool // MintCookies
}

// path returns the state of path, creating it. o.mu must be held.
func (o *Origin) path(path string) *originPath {
	if o.paths == nil {
		o.paths = make(map[string]*originPath)
	}
	p := o.paths[path]
	if p == nil {
		p = &originPath{header: make(http.Header)}
		o.paths[path] = p
	}
	return p
}

// update calls fn with the state of path under the lock.
func (o *Origin) update(path string, fn func(p *originPath)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fn(o.path(path))
}

// SetDelay makes renders of path wait d before answering. A render whose
// request is cancelled during the delay stops without answering.
func (o *Origin) SetDelay(path string, d time.Duration) {
	o.update(path, func(p *originPath) { p.delay = d })
}

// Hold makes renders of path that arrive from now on wait until release is
// called (or their request is cancelled); they are counted on arrival. It
// lets a test keep a render in flight for as long as it needs. release may
// be called more than once.
func (o *Origin) Hold(path string) (release func()) {
	ch := make(chan struct{})
	o.update(path, func(p *originPath) { p.hold = ch })
	var once sync.Once
	return func() {
		once.Do(func() {
			close(ch)
			o.update(path, func(p *originPath) {
				if p.hold == ch {
					p.hold = nil
				}
			})
		})
	}
}

// HoldAll makes every render that arrives from now on, of any path not held
// by Hold, wait until release is called (or its request is cancelled).
// release may be called more than once.
func (o *Origin) HoldAll() (release func()) {
	ch := make(chan struct{})
	o.mu.Lock()
	o.gate = ch
	o.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			o.mu.Lock()
			if o.gate == ch {
				o.gate = nil
			}
			o.mu.Unlock()
			close(ch)
		})
	}
}

// MintCookies makes every answer for path carry a session cookie of its
// own, "sid=<n>" where n is the render's number.
func (o *Origin) MintCookies(path string) {
	o.update(path, func(p *originPath) { p.cookies = true })
}

// SetStatus sets the status code of path's answers. Zero means 200.
func (o *Origin) SetStatus(path string, code int) {
	o.update(path, func(p *originPath) { p.status = code })
}

// SetVersion sets the version that path's bodies carry. Zero means 1.
func (o *Origin) SetVersion(path string, n int) {
	o.update(path, func(p *originPath) { p.version = n })
}

// SetHeader sets a header of path's answers, such as Cache-Control,
// Set-Cookie, Cache-Tag or Location. An empty value removes it.
func (o *Origin) SetHeader(path, name, value string) {
	o.update(path, func(p *originPath) {
		if value == "" {
			p.header.Del(name)
			return
		}
		p.header.Set(name, value)
	})
}

// SetFailure makes path's renders fail as f, until set back to FailNone.
func (o *Origin) SetFailure(path string, f Failure) {
	o.update(path, func(p *originPath) { p.failure = f })
}

// Renders returns the number of renders of path so far.
func (o *Origin) Renders(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p := o.paths[path]; p != nil {
		return p.renders
	}
	return 0
}

// Total returns the number of renders of all paths so far.
func (o *Origin) Total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.total
}

// Answered returns how many renders of path got past their hold and
// delay and answered; a render whose request was cancelled while it waited
// is counted by Renders, not here.
func (o *Origin) Answered(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p := o.paths[path]; p != nil {
		return p.answered
	}
	return 0
}

// InFlight returns how many renders of path arrived and are not answered
// yet.
func (o *Origin) InFlight(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p := o.paths[path]; p != nil {
		return p.renders - p.finished
	}
	return 0
}

// Concurrency returns how many renders, of all paths, are in flight now and
// the most that ever were at once.
func (o *Origin) Concurrency() (now, most int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.inFlight, o.most
}

// Order returns the paths of the renders in the order they arrived.
func (o *Origin) Order() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.order)
}

// LastHeaders returns a copy of the request headers of the last render of
// path, or nil if it was never rendered.
func (o *Origin) LastHeaders(path string) http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p := o.paths[path]; p != nil {
		return p.last.Clone()
	}
	return nil
}

// ServeHTTP renders r as scripted for its path.
func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	p := o.path(r.URL.Path)
	o.total++
	p.renders++
	p.last = r.Header.Clone()
	o.inFlight++
	o.most = max(o.most, o.inFlight)
	o.order = append(o.order, r.URL.Path)
	n, delay, status, version, failure, hold := p.renders, p.delay, p.status, p.version, p.failure, p.hold
	if hold == nil {
		hold = o.gate
	}
	header := p.header.Clone()
	if p.cookies {
		header.Set("Set-Cookie", "sid="+strconv.Itoa(n)+"; Path=/; HttpOnly")
	}
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		p.finished++
		o.inFlight--
		o.mu.Unlock()
	}()

	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	o.mu.Lock()
	p.answered++
	o.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	if version == 0 {
		version = 1
	}
	body := fmt.Sprintf("%s v%d render #%d", r.URL.Path, version, n)
	switch failure {
	case FailError:
		http.Error(w, "isrtest: origin failure", http.StatusInternalServerError)
		return
	case FailTruncate:
		truncate(w, status, header, body)
		return
	}
	h := w.Header()
	for k, vs := range header {
		h[k] = vs
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// truncate answers with headers announcing body but sends only half of it,
// then closes the connection: through http.Hijacker when the connection
// allows it, else by aborting the handler.
func truncate(w http.ResponseWriter, status int, header http.Header, body string) {
	header.Set("Content-Length", strconv.Itoa(len(body)))
	if header.Get("Content-Type") == "" {
		header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	half := body[:len(body)/2]
	hj, ok := w.(http.Hijacker)
	if !ok {
		for k, vs := range header {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(half))
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	_ = header.Write(buf)
	fmt.Fprintf(buf, "\r\n%s", half)
	_ = buf.Flush()
}
