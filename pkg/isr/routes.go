package isr

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
)

// routeTable matches page paths against the route rules, first match wins.
type routeTable struct {
	router *mux.Router
	routes []*rule
}

// rule is a compiled Route.
type rule struct {
	Route
	listed map[string]bool // canonical Paths, for FallbackFalse
}

// defaultRule applies to paths that match no route.
var defaultRule = &rule{}

// compileRoutes compiles the route rules into a table, in order.
func compileRoutes(rs []Route) (*routeTable, error) {
	t := &routeTable{router: mux.NewRouter()}
	for i, r := range rs {
		c, err := newRule(r)
		if err != nil {
			return nil, fmt.Errorf("isr: route %d: %w", i, err)
		}
		if err := addPattern(t.router, r.Pattern, strconv.Itoa(i)); err != nil {
			return nil, fmt.Errorf("isr: route %d: %w", i, err)
		}
		t.routes = append(t.routes, c)
	}
	return t, nil
}

// Check returns an error saying what is wrong with r, or nil if [New]
// accepts it: Pattern an absolute gorilla/mux path template; Paths page
// paths that match it (at least one with FallbackFalse); Query keys
// printable ASCII without spaces; Tags as CheckTag says; Revalidate not
// negative unless Never; Fallback one of the constants.
func (r Route) Check() error {
	_, err := newRule(r)
	return err
}

// newRule checks and compiles one route.
func newRule(r Route) (*rule, error) {
	router := mux.NewRouter()
	if err := addPattern(router, r.Pattern, "route"); err != nil {
		return nil, err
	}
	c := &rule{Route: r, listed: map[string]bool{}}
	for _, p := range r.Paths {
		cp, err := ParsePath(p)
		if err != nil {
			return nil, err
		}
		if !matchPath(router, cp) {
			return nil, fmt.Errorf("path %q does not match pattern %q", p, r.Pattern)
		}
		c.listed[cp] = true
	}
	switch {
	case r.Fallback != FallbackBlocking && r.Fallback != FallbackFalse:
		return nil, fmt.Errorf("fallback %d is unknown", r.Fallback)
	case r.Fallback == FallbackFalse && len(r.Paths) == 0:
		return nil, errors.New("fallback: false needs paths (no page would be served)")
	case r.Revalidate < 0 && r.Revalidate != Never:
		return nil, fmt.Errorf("revalidate %v is negative", r.Revalidate)
	}
	for _, q := range r.Query {
		if q == "" || !printable(q) {
			return nil, fmt.Errorf("query key %q must be printable ASCII without spaces", q)
		}
	}
	for _, t := range r.Tags {
		if err := CheckTag(t); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// match returns the rule for a canonical path, or defaultRule.
func (t *routeTable) match(p string) *rule {
	if len(t.routes) == 0 {
		return defaultRule
	}
	var m mux.RouteMatch
	if !matchPathRoute(t.router, p, &m) {
		return defaultRule
	}
	i, _ := strconv.Atoi(m.Route.GetName())
	return t.routes[i]
}

// matchPath reports whether the canonical path p matches a route of router.
func matchPath(router *mux.Router, p string) bool {
	return matchPathRoute(router, p, &mux.RouteMatch{})
}

// matchPathRoute matches the canonical path p against router's routes, as
// a GET, filling m.
func matchPathRoute(router *mux.Router, p string, m *mux.RouteMatch) bool {
	dec, err := url.PathUnescape(p)
	if err != nil {
		return false
	}
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: dec, RawPath: p}}
	return router.Match(req, m) && m.Route != nil
}

// serves reports whether the rule lets the path be rendered at all.
func (r *rule) serves(p string) bool {
	return r.Fallback != FallbackFalse || r.listed[p]
}

// addPattern adds a named path route to router. gorilla/mux panics on some
// bad patterns (a capturing group in a variable's regexp) instead of
// returning an error; that panic becomes the error here.
func addPattern(router *mux.Router, pattern, name string) (err error) {
	if !strings.HasPrefix(pattern, "/") {
		return fmt.Errorf("pattern %q must start with /", pattern)
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("pattern %q: %v", pattern, v)
		}
	}()
	if err := router.NewRoute().Path(pattern).Name(name).GetError(); err != nil {
		return fmt.Errorf("pattern %q: %w", pattern, err)
	}
	return nil
}
