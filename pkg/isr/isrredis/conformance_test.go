package isrredis_test

import (
	"time"

	"testing"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// TestConformance runs the shared backend suite against a real Redis; each
// subtest gets a backend with a prefix of its own on one server.
func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	isrtest.TestBackend(t, func(t *testing.T) isr.Backend {
		return newBackend(t, srv, &isrredis.Options{ProbeInterval: 100 * time.Millisecond})
	})
}
