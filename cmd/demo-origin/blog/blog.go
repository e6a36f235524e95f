// Package blog is the demo origin: the blog from the ISR article, as a plain
// [http.Handler] that isrcache can sit in front of.
//
// Every page says when it was rendered and how many times its path has been
// rendered, so a visitor can tell a cached page from a fresh render. Pages
// carry "Cache-Control: s-maxage=N, stale-while-revalidate" and a Cache-Tag
// header ("posts,post-<id>"), as a Next.js ISR page would.
//
// Run-time switches make the origin slow, failing or edited (a content
// version bump, as after a CMS edit). Set them with [Blog.Configure], or
// over HTTP:
//
//	POST /_admin/config  {"delay":"2s","fail":"500|truncate|none","version":3,"smaxage":10}
//	GET  /_admin/config  the current switches
//	GET  /_admin/stats   {"total":N,"renders":{"/posts/1":N,...}}
//	DELETE /_admin/stats reset the render counters
//
// WARNING: the admin endpoints have no authentication. The demo origin is
// for demos and tests only.
package blog

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"go.uber.org/zap"
)

// Fail is a failure mode of the origin.
type Fail string

// Failure modes.
const (
	// FailNone serves pages normally.
	FailNone Fail = "none"
	// Fail500 answers every page with 500 Internal Server Error.
	Fail500 Fail = "500"
	// FailTruncate promises the full Content-Length, sends half the body
	// and closes the connection: the client sees an unexpected EOF.
	FailTruncate Fail = "truncate"
)

// ParseFail parses a failure mode. The empty string means FailNone.
func ParseFail(s string) (Fail, error) {
	switch f := Fail(strings.ToLower(strings.TrimSpace(s))); f {
	case "", FailNone:
		return FailNone, nil
	case Fail500, FailTruncate:
		return f, nil
	}
	return "", fmt.Errorf("blog: unknown fail mode %q (want 500, truncate or none)", s)
}

// Settings are the switches that can change while the origin runs.
type Settings struct {
	// Delay is added to every page render. Default: none.
	Delay time.Duration
	// Fail makes page renders fail. Default: FailNone.
	Fail Fail
	// Version is the content version; bump it to simulate a CMS edit.
	// Pages show "version N". Default: 1.
	Version int
	// SMaxAge is the s-maxage of the pages, whole seconds. Not-found pages
	// get at most 5s. Zero is allowed: "s-maxage=0", which isrcache takes
	// as "do not store".
	SMaxAge time.Duration
}

func (s Settings) validate() error {
	switch {
	case s.Delay < 0:
		return fmt.Errorf("blog: negative delay %v", s.Delay)
	case s.Version < 1:
		return fmt.Errorf("blog: version %d is less than 1", s.Version)
	case s.SMaxAge < 0:
		return fmt.Errorf("blog: negative s-maxage %v", s.SMaxAge)
	}
	_, err := ParseFail(string(s.Fail))
	return err
}

// Config configures a [Blog]. Zero values select the documented defaults.
type Config struct {
	// Settings are the initial switches. A zero Version means 1, a zero
	// SMaxAge means 10s, an empty Fail means FailNone.
	Settings
	// Posts is the number of posts, with ids "1" to Posts. Default: 100.
	Posts int
	// Padding adds this many bytes to every page, to make pages of a
	// realistic size for benchmarks. Default: none.
	Padding int
	// Logger receives one line per switch change and, at debug level, per
	// render. If nil, logging is disabled.
	Logger *zap.Logger
	// Now is the clock that stamps the render time. If nil, time.Now.
	Now func() time.Time
}

// Blog is the demo origin's http.Handler. It is safe for concurrent use.
type Blog struct {
	router  *mux.Router
	posts   int
	padding template.HTML
	log     *zap.Logger
	now     func() time.Time
	tmpl    *template.Template

	mu      sync.Mutex // guards the fields below
	set     Settings
	renders map[string]int64
	total   int64
}

// New returns a Blog configured by cfg, or an error naming the first invalid
// setting. It starts nothing.
func New(cfg Config) (*Blog, error) {
	if cfg.Version == 0 {
		cfg.Version = 1
	}
	if cfg.SMaxAge == 0 {
		cfg.SMaxAge = 10 * time.Second
	}
	if cfg.Fail == "" {
		cfg.Fail = FailNone
	}
	if cfg.Posts == 0 {
		cfg.Posts = 100
	}
	if err := cfg.Settings.validate(); err != nil {
		return nil, err
	}
	if cfg.Posts < 0 || cfg.Padding < 0 {
		return nil, fmt.Errorf("blog: negative posts (%d) or padding (%d)", cfg.Posts, cfg.Padding)
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	b := &Blog{
		posts:   cfg.Posts,
		padding: padding(cfg.Padding),
		log:     cfg.Logger,
		now:     cfg.Now,
		tmpl:    tmpl,
		set:     cfg.Settings,
		renders: make(map[string]int64),
	}
	b.router = b.routes()
	return b, nil
}

func (b *Blog) routes() *mux.Router {
	r := mux.NewRouter()
	page := r.Methods(http.MethodGet, http.MethodHead).Subrouter()
	page.HandleFunc("/", b.serveIndex)
	page.HandleFunc("/posts/{id}", b.servePost)
	page.HandleFunc("/api/posts/{id}", b.serveAPIPost)
	r.HandleFunc("/_admin/config", b.getConfig).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/_admin/config", b.postConfig).Methods(http.MethodPost)
	r.HandleFunc("/_admin/stats", b.getStats).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/_admin/stats", b.deleteStats).Methods(http.MethodDelete)
	r.NotFoundHandler = http.HandlerFunc(b.serveNoRoute)
	return r
}

// ServeHTTP serves the blog and its admin endpoints.
func (b *Blog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.router.ServeHTTP(w, r)
}

// Settings returns the current switches.
func (b *Blog) Settings() Settings {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.set
}

// Configure replaces the switches. An empty Fail means FailNone; other
// zero values are taken as they are (a zero Version is invalid).
func (b *Blog) Configure(s Settings) error {
	if s.Fail == "" {
		s.Fail = FailNone
	}
	if err := s.validate(); err != nil {
		return err
	}
	b.mu.Lock()
	b.set = s
	b.mu.Unlock()
	b.logSettings(s)
	return nil
}

func (b *Blog) logSettings(s Settings) {
	b.log.Info("settings changed", zap.Stringer("delay", s.Delay), zap.String("fail", string(s.Fail)),
		zap.Int("version", s.Version), zap.Stringer("smaxage", s.SMaxAge))
}

// Stats are the render counters.
type Stats struct {
	// Total counts every page render.
	Total int64 `json:"total"`
	// Renders counts the renders of each path, failed ones included.
	Renders map[string]int64 `json:"renders"`
}

// Stats returns a copy of the render counters.
func (b *Blog) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := make(map[string]int64, len(b.renders))
	for k, v := range b.renders {
		m[k] = v
	}
	return Stats{Total: b.total, Renders: m}
}

// Renders returns how many times path has been rendered.
func (b *Blog) Renders(path string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.renders[path]
}

// ResetStats sets every render counter to zero.
func (b *Blog) ResetStats() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.renders = make(map[string]int64)
	b.total = 0
}

// begin counts a render of path and returns the switches it runs with and
// its number among the path's renders.
func (b *Blog) begin(path string) (Settings, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.renders[path]++
	b.total++
	return b.set, b.renders[path]
}
