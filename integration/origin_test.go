package integration

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// origin is the test origin: an [isrtest.Origin] (scriptable: version,
// delay, status, headers, failures; body "<path> v<version> render #<n>")
// behind an httptest server, wrapped to count the requests of each path
// that started and finished, and to hold a path's requests until the test
// releases them. A request counts as started when it arrives, before any
// hold.
type origin struct {
	*isrtest.Origin
	URL string

	mu       sync.Mutex
	started  map[string]int
	finished map[string]int
	holds    map[string]chan struct{}
	cookies  map[string]bool // paths whose answers mint a session cookie
	gate     chan struct{}   // when set, every request waits for it
	inFlight int             // requests arrived and not answered, all paths
	most     int             // the most inFlight ever was
	order    []string        // paths in the order their requests arrived
}

// newOrigin starts an origin server, closed at the end of the test.
func newOrigin(t *testing.T) *origin {
	t.Helper()
	o := &origin{
		Origin:   &isrtest.Origin{},
		started:  map[string]int{},
		finished: map[string]int{},
		holds:    map[string]chan struct{}{},
		cookies:  map[string]bool{},
	}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	return o
}

// ServeHTTP counts r, waits while its path is held (or until r is
// cancelled), then lets the isrtest.Origin answer.
func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	o.mu.Lock()
	o.started[path]++
	o.inFlight++
	o.most = max(o.most, o.inFlight)
	o.order = append(o.order, path)
	n, hold, cookie := o.started[path], o.holds[path], o.cookies[path]
	if hold == nil {
		hold = o.gate
	}
	o.mu.Unlock()
	if cookie {
		w.Header().Set("Set-Cookie", "sid="+strconv.Itoa(n)+"; Path=/; HttpOnly")
	}
	defer func() {
		o.mu.Lock()
		o.finished[path]++
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
	o.Origin.ServeHTTP(w, r)
}

// Hold makes the requests for path that arrive from now on wait until
// release is called. release is idempotent and is also called at the end
// of the test, so that no request stays blocked.
func (o *origin) Hold(t *testing.T, path string) (release func()) {
	t.Helper()
	ch := make(chan struct{})
	o.mu.Lock()
	o.holds[path] = ch
	o.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			o.mu.Lock()
			if o.holds[path] == ch {
				delete(o.holds, path)
			}
			o.mu.Unlock()
			close(ch)
		})
	}
	t.Cleanup(release)
	return release
}

// HoldAll makes every request that arrives from now on, of any path not
// held by Hold, wait until release is called (idempotent, and called at the
// end of the test).
func (o *origin) HoldAll(t *testing.T) (release func()) {
	t.Helper()
	ch := make(chan struct{})
	o.mu.Lock()
	o.gate = ch
	o.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			o.mu.Lock()
			if o.gate == ch {
				o.gate = nil
			}
			o.mu.Unlock()
			close(ch)
		})
	}
	t.Cleanup(release)
	return release
}

// Concurrency returns how many requests, of all paths, are in flight now
// and the most that ever were at once.
func (o *origin) Concurrency() (now, most int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.inFlight, o.most
}

// Order returns the paths of the requests in the order they arrived.
func (o *origin) Order() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.order)
}

// MintCookies makes every answer for path carry its own session cookie,
// "sid=<n>" where n counts the path's requests.
func (o *origin) MintCookies(path string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cookies[path] = true
}

// Started returns how many requests for path arrived so far.
func (o *origin) Started(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.started[path]
}

// InFlight returns how many requests for path arrived and are not answered
// yet.
func (o *origin) InFlight(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.started[path] - o.finished[path]
}
