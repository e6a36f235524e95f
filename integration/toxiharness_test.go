package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Harness of toxi_test.go: Toxiproxy's server package run in the test
// process, one TCP proxy per link to fault (a replica's Redis connections,
// the origin), each on a free loopback port.

// newToxiProxy starts a proxy to upstream (host:port) on a free loopback
// port, stopped at the end of the test. Its Listen field holds the address
// to dial instead of upstream.
func newToxiProxy(t *testing.T, name, upstream string) *toxiproxy.Proxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("toxiproxy %s: %v", name, err)
	}
	t.Cleanup(p.Stop)
	return p
}

// addToxic adds a toxic of typ (latency, bandwidth, timeout, ...) with
// attrs on stream ("upstream": towards the server, "downstream": back),
// named name+"_"+stream, and returns a func that removes it.
func addToxic(t *testing.T, p *toxiproxy.Proxy, name, typ, stream string, attrs map[string]any) (remove func()) {
	t.Helper()
	full := name + "_" + stream
	spec, err := json.Marshal(map[string]any{"name": full, "type": typ, "stream": stream, "attributes": attrs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(string(spec))); err != nil {
		t.Fatalf("toxiproxy %s: add %s: %v", p.Name, spec, err)
	}
	var once sync.Once
	remove = func() {
		once.Do(func() {
			if err := p.Toxics.RemoveToxic(t.Context(), full); err != nil {
				t.Errorf("toxiproxy %s: remove %s: %v", p.Name, full, err)
			}
		})
	}
	return remove
}

// partition black-holes both directions of p: connections stay open (no
// RST, no FIN) and new ones are accepted, but no byte gets through, as on
// a network that silently drops packets. heal removes it; Toxiproxy then
// closes the connections that were cut, as a real partition's peers
// eventually would.
func partition(t *testing.T, p *toxiproxy.Proxy) (heal func()) {
	t.Helper()
	up := addToxic(t, p, "partition", "timeout", "upstream", map[string]any{"timeout": 0})
	down := addToxic(t, p, "partition", "timeout", "downstream", map[string]any{"timeout": 0})
	return func() { up(); down() }
}

// tally collects the answers of a fault run for the figures that
// docs/reliability.md reports: how many, how many errors (not 200), the
// worst latency, and the answers' states.
type tally struct {
	mu     sync.Mutex
	n      int
	errors []string
	worst  time.Duration
	states map[string]int
}

func (ta *tally) add(a answer, err error, d time.Duration) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	ta.n++
	ta.worst = max(ta.worst, d)
	if ta.states == nil {
		ta.states = map[string]int{}
	}
	switch {
	case err != nil:
		ta.errors = append(ta.errors, err.Error())
	case a.Status != 200:
		ta.errors = append(ta.errors, a.String())
	default:
		ta.states[a.State]++
	}
}

func (ta *tally) String() string {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return fmt.Sprintf("%d requests, %d errors, worst latency %v, states %v", ta.n, len(ta.errors),
		ta.worst.Round(time.Millisecond), ta.states)
}
