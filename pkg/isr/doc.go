// Package isr is Incremental Static Regeneration as an http.Handler: a
// cache in front of an origin that renders pages, shared by every replica
// of a cluster through a [Backend] (isrredis for Redis, isrmem for one
// process).
//
// # A request
//
// [Handler.ServeHTTP] turns the request into a cache key: the canonical
// path ([ParsePath]), the query parameters its [Route] keeps, and for a
// Next.js origin the variant the request asks for (see [VariantSep]).
// Requests that must not be shared (other methods, Authorization, Cookie,
// Range, Upgrade, Next's build assets, bypass routes) go to Options.Next:
// BYPASS. Otherwise the key is looked up in the hot cache, this process's
// short-lived copy of recent pages, then in the store:
//
//   - fresh: HIT, no origin call;
//   - stale (past its revalidate time, or revalidated on demand): STALE,
//     served at once, while one replica of the cluster regenerates the page
//     in the background under the page's lock ([Locker]), if a slot of
//     the cluster-wide regeneration budget is free ([Budget]; otherwise a
//     later visit tries again, and the page stays STALE meanwhile);
//   - not stored: MISS. Visitors of this process share one fill (a
//     singleflight); the fill takes the page's lock and renders, or waits
//     for the replica that holds it, woken by that replica's write event.
//
// A render takes a fencing token first, asks the origin with a synthetic
// request that carries only what the key captures, and writes with the
// token ([Store.Put]): a write older than the stored page, or than a
// deletion, is refused, and one that started before an on-demand
// revalidation is stored stale. So a regenerator that stalls past its lock
// never overwrites a newer page, and the lock is only an efficiency.
//
// A regeneration renders the page and then each variant the store holds
// for it; with Options.NextPreviewID, Next.js is asked to render anew once,
// and the variants are read from the cache that render refreshed.
//
// # On-demand revalidation
//
// [Handler.Revalidate] marks pages stale or deletes them in the store,
// which announces each change on the [Bus]; with ModeEager it then
// regenerates each page at once under its lock. Until the new page is
// written, visitors get the old one as STALE.
//
// # Timing rules
//
//   - Freshness is decided by the store's clock (Redis TIME), never a
//     replica's: a page's revalidate time is its route's, else the origin's
//     s-maxage, else Options.Revalidate; 404 and 410 are capped at
//     NotFoundTTL. A page is gone after Options.Expire.
//   - One render lasts at most RenderTimeout; a lock lives LockTTL, which
//     must exceed it. A cold-miss visitor waits at most WaitTimeout for
//     another replica's render before rendering itself.
//   - A failed regeneration keeps the old page and holds the page's lock
//     for FailureBackoff, so no replica of the cluster retries it sooner.
//   - The hot cache keeps a page at most L1MaxAge. Events drop copies at
//     once; a lost event (pub/sub is at most once) is bounded by L1MaxAge,
//     and a reconnection or a gap in the events' sequence numbers flushes
//     the whole hot cache. A fill that raced an event is refused.
//   - While the store is unreachable, a STALE copy from the hot cache is
//     served, and cold pages are rendered without being stored.
//
// Tests step time with the Options.Now clock and run background work with
// Options.Go; pkg/isr/isrtest has a conformance suite for backends, a
// scriptable counting origin and a fake clock.
package isr
