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

func compileRoutes(rs []Route) (*routeTable, error) {
	t := &routeTable{router: mux.NewRouter()}
	for i, r := range rs {
		if err := addPattern(t.router, r.Pattern, strconv.Itoa(i)); err != nil {
			return nil, fmt.Errorf("isr: route %d pattern %q: %w", i, r.Pattern, err)
		}
		c := &rule{Route: r, listed: map[string]bool{}}
		for _, p := range r.Paths {
			cp, err := ParsePath(p)
			if err != nil {
				return nil, fmt.Errorf("isr: route %d (%s) path: %w", i, r.Pattern, err)
			}
			c.listed[cp] = true
		}
		if r.Revalidate < 0 && r.Revalidate != Never {
			return nil, fmt.Errorf("isr: route %d (%s): negative revalidate", i, r.Pattern)
		}
		t.routes = append(t.routes, c)
	}
	return t, nil
}

// match returns the rule for a canonical path, or defaultRule.
func (t *routeTable) match(p string) *rule {
	if len(t.routes) == 0 {
		return defaultRule
	}
	dec, err := url.PathUnescape(p)
	if err != nil {
		return defaultRule
	}
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: dec, RawPath: p}}
	var m mux.RouteMatch
	if !t.router.Match(req, &m) || m.Route == nil {
		return defaultRule
	}
	i, _ := strconv.Atoi(m.Route.GetName())
	return t.routes[i]
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
		return errors.New("must start with /")
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("invalid pattern: %v", v)
		}
	}()
	return router.NewRoute().Path(pattern).Name(name).GetError()
}
