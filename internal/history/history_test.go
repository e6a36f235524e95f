package history

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)

// at returns t0 plus ms milliseconds.
func at(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

func read(replica, path string, start, end float64, version int) Read {
	return Read{Replica: replica, Path: path, Start: at(start), End: at(end), Status: 200, Version: version, State: "HIT"}
}

var bounds = Bounds{Strict: 50 * time.Millisecond, Relaxed: 3 * time.Second, Recovery: time.Second, MaxRendersPerRevalidation: 1.1}

// clean is a history where every invariant holds: /p goes from v1 to v2
// through a revalidation answered at 100ms; r2 serves v1 until 120ms
// (within the strict bound), then v2.
func clean() History {
	return History{
		Paths: 1, Renders: 2,
		Reads: []Read{
			read("r1", "/p", 0, 10, 1), read("r2", "/p", 5, 15, 1),
			read("r1", "/p", 110, 111, 2), read("r2", "/p", 120, 121, 1), read("r2", "/p", 130, 131, 2),
			// Concurrent reads may finish out of order.
			read("r1", "/p", 140, 160, 2), read("r1", "/p", 141, 150, 2),
		},
		Revalidations: []Revalidation{{Replica: "r1", Path: "/p", Version: 2, Start: at(50), End: at(100), OK: true}},
		Final:         []Read{read("r1", "/p", 5000, 5001, 2), read("r2", "/p", 5000, 5001, 2)},
	}
}

func TestCheckClean(t *testing.T) {
	r := Check(clean(), bounds)
	if !r.OK() {
		t.Fatalf("violations in a clean history: %v", r.Violations())
	}
	if r.LagMax != 20*time.Millisecond || r.RendersPerRevalidation != 1 || r.OKRevalidations != 1 {
		t.Errorf("figures %s; want lag max 20ms, 1 render per revalidation", r)
	}
}

// TestCheckFinds breaks each invariant once and checks that Check reports
// exactly that one.
func TestCheckFinds(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(h *History)
		want   string
	}{
		"monotonic": {func(h *History) {
			h.Reads = append(h.Reads, read("r1", "/q", 200, 201, 2), read("r1", "/q", 300, 301, 1))
		}, "monotonic reads: r1 /q: v2"},
		"read your revalidation": {func(h *History) {
			h.Reads = append(h.Reads, read("r3", "/p", 120, 121, 1)) // within the strict bound
			h.Reads = append(h.Reads, read("r3", "/p", 200, 201, 1))
		}, "read your revalidation: r3 /p: v1"},
		"relaxed in a fault window, but not past it": {func(h *History) {
			h.Faults = []Fault{{Name: "pause", Start: at(90), End: at(150)}}
			h.Reads = append(h.Reads, read("r3", "/p", 200, 201, 1), read("r4", "/p", 4000, 4001, 1))
		}, "read your revalidation: r4 /p: v1"},
		"unacked replica is relaxed": {func(h *History) {
			h.Revalidations[0].Acked = []string{"r1", "r4"}
			h.Reads = append(h.Reads, read("r3", "/p", 200, 201, 1), read("r4", "/p", 300, 301, 1))
		}, "read your revalidation: r4 /p: v1"},
		"acked replica gets no time": {func(h *History) {
			h.Revalidations[0].Acked = []string{"r1", "r3"}
			h.Reads = append(h.Reads, read("r3", "/p", 101, 102, 1))
		}, "read your revalidation: r3 /p: v1 (HIT) at 20:00:00.101000, 1ms"},
		"lost update": {func(h *History) {
			h.Final[1].Version = 1
		}, "lost update: r2 /p serves v1"},
		"failed read": {func(h *History) {
			h.Reads = append(h.Reads, Read{Replica: "r1", Path: "/p", Start: at(300), End: at(301), Status: 502})
		}, "failed read: r1 /p"},
		"renders": {func(h *History) { h.Renders = 4 }, "renders: 3 renders"},
	} {
		t.Run(name, func(t *testing.T) {
			h := clean()
			tc.change(&h)
			v := Check(h, bounds).Violations()
			if len(v) != 1 || !strings.Contains(v[0], tc.want) {
				t.Fatalf("violations %q, want one containing %q", v, tc.want)
			}
		})
	}
}

func TestCheckKilledReplicaReadsNotFailures(t *testing.T) {
	h := clean()
	h.Faults = []Fault{{Name: "kill r2", Start: at(200), End: at(900), Replica: "r2"}}
	h.Reads = append(h.Reads, Read{Replica: "r2", Path: "/p", Start: at(300), End: at(301), Err: "connection refused"})
	if r := Check(h, bounds); !r.OK() {
		t.Fatalf("violations %v, want none: r2 was down", r.Violations())
	}
}
