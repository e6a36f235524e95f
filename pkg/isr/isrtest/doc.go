// Package isrtest holds test helpers for isrcache: [TestBackend], the
// conformance suite every [isr.Backend] must pass, a counting, scriptable
// [Origin], and a fake [Clock].
//
// A backend author runs the suite from a test in the backend's package,
// giving it a function that returns a fresh, isolated backend:
//
//	func TestConformance(t *testing.T) {
//		isrtest.TestBackend(t, func(t *testing.T) isr.Backend {
//			b := mybackend.New(...)
//			t.Cleanup(func() { b.Close() })
//			return b
//		})
//	}
//
// The suite runs its subtests in parallel, so newBackend must be safe to
// call from several goroutines, and backends it returns must not share
// keys, locks or events (give each its own store, database or key prefix).
//
// The suite uses real time with short durations (revalidate and TTLs of
// 200–500ms) and polls with deadlines instead of sleeping; it asserts only
// that things happen eventually, never how fast. A backend whose store does
// not advance time by itself (miniredis, whose key TTLs move only on
// FastForward) must advance it in step with the wall clock, for example
// from a ticker started in newBackend and stopped in t.Cleanup.
package isrtest
