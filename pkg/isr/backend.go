package isr

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Errors returned by backends. Backends translate their own errors into
// these at the boundary, so callers compare with errors.Is and never see a
// driver's sentinel (such as redis.Nil).
var (
	// ErrNotFound is returned by Store.Get when no page is stored under a key.
	ErrNotFound = errors.New("isr: page not found")
	// ErrFenced is returned by Store.Put when a page written with a newer
	// fencing token is already stored, or the key was deleted after the
	// token was issued. The write is dropped; the newer page stays.
	ErrFenced = errors.New("isr: write fenced by a newer generation")
	// ErrLocked is returned by Locker.TryLock when another holder, on this
	// or another replica, holds the lock.
	ErrLocked = errors.New("isr: locked by another holder")
	// ErrLockLost is returned by Lock.Refresh and Lock.Release when the lock
	// expired and is no longer held by the caller.
	ErrLockLost = errors.New("isr: lock lost")
	// ErrTooManyVariants is returned by Store.Put for a new variant of a
	// page that has MaxVariants variants stored already. Nothing is
	// written.
	ErrTooManyVariants = errors.New("isr: too many variants of one page")
	// ErrUnavailable is returned (possibly wrapped) by a backend that did
	// not even try a call, such as an isrbreaker.Breaker that is open: the
	// store failed too often. The Handler treats it as any store failure
	// (it serves its hot cache's copy, or renders at the origin without
	// storing), but logs it at debug level only: the breaker logs its own
	// state changes.
	ErrUnavailable = errors.New("isr: store unavailable (circuit breaker open)")
)

// Never is the Revalidate value of a page that stays fresh until it is
// revalidated on demand (a route rule with `revalidate: false`).
const Never time.Duration = -1

// Forever is the Entry.Fresh value of a page that never goes stale by time.
const Forever time.Duration = 1<<63 - 1

// A Page is a rendered response as it is stored. Pages are immutable: never
// modify one after passing it to Store.Put or receiving it from Store.Get.
type Page struct {
	// Key is the cache key the page is stored under (see [ParseKey]).
	Key string
	// Status is the origin's status code (200, 301, 308, 404 or 410).
	Status int
	// Header holds the stored response headers: an allowlist of the
	// origin's headers (Content-Type, ETag, Location, Vary…). It never holds Set-Cookie.
	Header http.Header
	// Body is the complete response body, encoded with Encoding.
	Body []byte
	// Encoding is the content coding the cache applied to Body when it
	// stored the page ("br"), or "" when Body is as the origin sent it
	// (identity, or the origin's own Content-Encoding, kept in Header).
	// Stores keep it with the body.
	Encoding string
	// Tags are the cache tags of the page, from the origin's Cache-Tag or
	// X-ISR-Tags headers and from the route rule.
	Tags []string
	// Revalidate is how long the page stays fresh after it is written.
	// Never means it stays fresh until revalidated on demand; zero means
	// it is stale as soon as it is written (the origin said its copy was).
	Revalidate time.Duration
	// Gen is the generation of the page: the fencing token it was written
	// with. Set by the store on Get; ignored by Put.
	Gen int64
}

// Size is the approximate memory the page takes, used to bound caches.
func (p *Page) Size() int {
	n := len(p.Key) + len(p.Body) + 64
	for k, vs := range p.Header {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	for _, t := range p.Tags {
		n += len(t)
	}
	return n
}

// An Entry is a page read from a Store, with its freshness decided by the
// store's clock (in Redis, the server's TIME), never by the reader's.
type Entry struct {
	Page *Page
	// Age is the time since the page was written, by the store's clock.
	Age time.Duration
	// Fresh is how long the page stays fresh from now. Zero or less means
	// the page is stale; Forever means it never goes stale by time.
	Fresh time.Duration

	// served is the page prepared for answering, shared by the hot
	// cache's copies of one generation; nil until prepared.
	served *served
}

// Stale reports whether the entry's page is past its revalidate time or was
// revalidated on demand.
func (e *Entry) Stale() bool { return e.Fresh <= 0 }

// Mode says what an on-demand revalidation does to a stored page.
type Mode int

const (
	// ModeEager regenerates the page now under the cluster lock and swaps
	// it in; until the new page is stored, visitors get the old one. Stores
	// treat it as ModeStale; the regeneration is the Handler's job.
	ModeEager Mode = iota
	// ModeStale marks the page stale: it is served as STALE and
	// regenerated in the background on its next visit.
	ModeStale
	// ModeDelete removes the page: the next visit is a MISS. Writes by
	// renders that started before the deletion are refused.
	ModeDelete
)

// Store is the page store shared by all replicas.
//
// A key may name a variant of a page (see VariantSep). The store keeps an
// index of each page's variants: Put of a variant adds it, up to
// MaxVariants; Invalidate of a page's key acts on the page and every
// variant of it; Variants lists them.
//
// Writes are fenced: Token issues a number larger than any issued before for
// the key, and Put refuses a token not larger than the stored page's, so a
// regenerator that paused past its lock can never overwrite a newer page.
// A page whose token is older than the key's last revalidation is stored,
// but stale. Every Put and Invalidate is announced on the Bus.
type Store interface {
	// Get returns the entry stored under key, or ErrNotFound: wrapped in a
	// *FailedError while no page is stored and the key's last render
	// failed (see Fail).
	Get(ctx context.Context, key string) (*Entry, error)
	// Fail records that rendering key failed: for d, Get of the key, if no
	// page is stored, returns a *FailedError, so that no replica renders
	// it again before and every visitor gets the error at once.
	Fail(ctx context.Context, key string, d time.Duration) error
	// Token issues a fencing token for key.
	Token(ctx context.Context, key string) (int64, error)
	// Put stores p under key with the fencing token, for at most ttl (the
	// hard expiry: after it the page is gone and the next visit is a MISS).
	// It returns ErrFenced if a page with a newer token is stored or the
	// key was deleted after the token was issued. fresh is false when the
	// page was stored stale because the key was revalidated after the
	// token was issued.
	Put(ctx context.Context, key string, token int64, p *Page, ttl time.Duration) (fresh bool, err error)
	// Invalidate marks the pages under keys stale (ModeEager, ModeStale) or
	// deletes them (ModeDelete). found[i] reports whether a page was stored
	// under keys[i]. Keys with no page are left alone. A page's key
	// covers its variants too: each is marked or deleted, and announced,
	// as the page is, and found[i] is also true when only a variant was
	// stored.
	Invalidate(ctx context.Context, mode Mode, keys ...string) (found []bool, err error)
	// Variants returns, for each of keys, the keys of the variants stored
	// for that page (none for a key that is itself a variant), in no
	// particular order. It may list variants that expired since.
	Variants(ctx context.Context, keys ...string) ([][]string, error)
	// TagKeys returns the keys of the stored pages tagged with tag. It may
	// return keys whose pages expired since; callers tolerate that.
	TagKeys(ctx context.Context, tag string) ([]string, error)
}

// Locker grants at most one holder per key across all replicas. It is an
// efficiency lock: it keeps replicas from rendering the same page twice;
// correctness comes from the Store's fenced writes.
type Locker interface {
	// TryLock obtains the lock for key without waiting. It returns
	// ErrLocked if the lock is held. The lock expires after ttl unless it
	// is refreshed or released.
	TryLock(ctx context.Context, key string, ttl time.Duration) (Lock, error)
}

// A Lock is a held lock.
type Lock interface {
	// Refresh extends the lock to ttl from now. It returns ErrLockLost if
	// the lock expired and may be held by someone else.
	Refresh(ctx context.Context, ttl time.Duration) error
	// Release gives the lock up. It returns ErrLockLost if the lock had
	// already expired.
	Release(ctx context.Context) error
}

// EventKind says what happened to a key.
type EventKind int

const (
	// EventReset means events may have been missed (the subscription was
	// (re)established or a delivery probe failed): drop every local copy.
	// A Reset is also the first event of every Listen call, once the
	// subscription is confirmed.
	EventReset EventKind = iota
	// EventWritten means a page with generation Gen was stored under Key.
	EventWritten
	// EventStale means the page under Key was revalidated on demand;
	// Gen is the new revalidation floor.
	EventStale
	// EventDeleted means the page under Key was deleted.
	EventDeleted
)

// An Event announces a change to the store to every replica.
type Event struct {
	// Seq numbers events: consecutive events of one Shard differ by one.
	// Zero means the backend does not number events (gap detection is
	// then off).
	Seq uint64
	// Shard is the sequence Seq belongs to. A backend that numbers all its
	// events in one sequence leaves it 0; one whose events come from
	// several numbered streams (Redis Cluster) tells them apart here.
	Shard uint32
	Kind  EventKind
	Key   string
	Gen   int64
}

// Bus delivers the store's events to every replica, the writer included.
// Delivery is at most once: a lost event is made up for by Reset, sequence
// gaps and the hot cache's short maximum age.
type Bus interface {
	// Listen subscribes and calls fn for each event, from one goroutine,
	// until ctx is done; then it returns nil. fn must not block. The first
	// event is a Reset sent once the subscription is confirmed; another
	// Reset follows every reconnection.
	Listen(ctx context.Context, fn func(Event)) error
}

// Backend is everything the Handler needs from a shared store.
type Backend interface {
	Store
	Locker
	Bus
}
