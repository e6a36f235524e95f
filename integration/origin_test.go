package integration

import (
	"net/http/httptest"
	"testing"

	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// origin is the test origin: an [isrtest.Origin] (scriptable: version,
// delay, status, headers, failures, holds, session cookies; counting
// renders, in flight and in order; body "<path> v<version> render #<n>")
// behind an httptest server.
type origin struct {
	*isrtest.Origin
	URL string
}

// newOrigin starts an origin server, closed at the end of the test.
func newOrigin(t *testing.T) *origin {
	t.Helper()
	o := &origin{Origin: &isrtest.Origin{}}
	srv := httptest.NewServer(o.Origin)
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	return o
}

// Hold holds path's renders as isrtest.Origin.Hold does, and releases them
// at the end of the test at the latest, so that no request stays blocked.
func (o *origin) Hold(t *testing.T, path string) (release func()) {
	t.Helper()
	release = o.Origin.Hold(path)
	t.Cleanup(release)
	return release
}

// HoldAll holds every render as isrtest.Origin.HoldAll does, until release
// or the end of the test.
func (o *origin) HoldAll(t *testing.T) (release func()) {
	t.Helper()
	release = o.Origin.HoldAll()
	t.Cleanup(release)
	return release
}
