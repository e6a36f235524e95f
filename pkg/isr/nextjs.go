package isr

import (
	"net/http"
	"net/url"
	"strings"
)

// Next.js origins. An App Router page answers with HTML, or with its RSC
// payload when the request carries the RSC header (client navigations and
// prefetches), and says so in Vary. Next's client adds a "_rsc" query value
// computed from those headers (see nextrsc.go). A Pages Router page has a
// data route, /_next/data/<buildId>/<path>.json. Each of these answers is
// stored as a variant of the page (see VariantSep), keyed by the request
// headers it depends on, which are forwarded to the origin;
// regenerations replay them.
const (
	// rscParam is the query parameter Next's client adds to RSC requests.
	rscParam = "_rsc"
	// dataVariant is the variant value naming a data route's build id.
	dataVariant = "data"
	// dataPrefix starts the path of a Pages Router data route.
	dataPrefix = "/_next/data/"

	// headerPrerenderRevalidate asks `next start` to render a page anew and
	// refresh its own ISR cache, as res.revalidate() does. Its value is the
	// app's previewModeId: a secret.
	headerPrerenderRevalidate = "X-Prerender-Revalidate"
	// headerNextCache is how Next tells where an answer came from: HIT,
	// STALE, MISS or REVALIDATED.
	headerNextCache = "X-Nextjs-Cache"
)

// variantHeaders are the request headers a Next.js answer depends on besides
// its URL. A request's non-empty values of these are part of its key, and a
// Vary naming only these (and Accept-Encoding) is storable. Next-Url is not
// one of them: an answer that varies on it (an interceptable page) is
// passed through.
var variantHeaders = []string{
	"Rsc", "Next-Router-Prefetch", "Next-Router-Segment-Prefetch",
	"Next-Router-State-Tree", "X-Nextjs-Data",
}

// requestVariant returns the page path p's request r is for, and the
// variant of it that r asks for, encoded as in a key (empty for the page
// itself). A data route is the variant "data=<buildId>" of its page.
func requestVariant(r *http.Request, p string) (page, variant string) {
	var v url.Values
	if build, pg, ok := dataRoute(p); ok {
		p, v = pg, url.Values{dataVariant: {build}}
	}
	for _, name := range variantHeaders {
		if s := r.Header.Get(name); s != "" {
			if v == nil {
				v = url.Values{}
			}
			v.Set(strings.ToLower(name), s)
		}
	}
	return p, v.Encode()
}

// dataRoute splits a Pages Router data route path,
// /_next/data/<buildId>/<page>.json, into the build id and the page's
// path ("/index.json" is the page "/").
func dataRoute(p string) (build, page string, ok bool) {
	rest, ok := strings.CutPrefix(p, dataPrefix)
	if !ok {
		return "", "", false
	}
	build, page, ok = strings.Cut(rest, "/")
	page, found := strings.CutSuffix(page, ".json")
	if !ok || !found || build == "" || page == "" {
		return "", "", false
	}
	if page == "index" {
		return build, "/", true
	}
	return build, "/" + page, true
}

// dataPath is the inverse of dataRoute.
func dataPath(build, page string) string {
	if page == "/" {
		page = "/index"
	}
	return dataPrefix + build + page + ".json"
}

// applyVariant makes r, a synthetic request for a page, ask for the variant
// v: the data route's path, the captured headers, and for an RSC request
// the _rsc value Next expects for them.
func applyVariant(r *http.Request, v url.Values) {
	for name, vs := range v {
		if name == dataVariant {
			raw := dataPath(vs[0], r.URL.EscapedPath())
			r.URL.Path, _ = url.PathUnescape(raw)
			r.URL.RawPath = raw
			continue
		}
		r.Header.Set(name, vs[0])
	}
	if r.Header.Get("Rsc") == "1" {
		sha, _ := rscHashes(r.Header)
		q := rscParam + "=" + sha
		if r.URL.RawQuery != "" {
			q = r.URL.RawQuery + "&" + q
		}
		r.URL.RawQuery = q
	}
}

// nextAsset reports whether p is one of Next's build assets or its image
// optimizer, which are passed through byte for byte, never stored.
func nextAsset(p string) bool {
	return strings.HasPrefix(p, "/_next/static/") || p == "/_next/image"
}

// variantVary reports whether a Vary field names a request header the key
// captures, so that the answer may be stored under the key.
func variantVary(field string) bool {
	if strings.EqualFold(field, "Accept-Encoding") {
		return true
	}
	for _, h := range variantHeaders {
		if strings.EqualFold(field, h) {
			return true
		}
	}
	return false
}

// variantMismatch reports whether resp cannot be the answer to key's
// variant: an RSC request answered with anything but an RSC payload, or a
// page request answered with one. Such an answer is passed on, not stored,
// so that no visitor ever gets the other kind from the cache.
func variantMismatch(key string, resp *Response) bool {
	if resp.Status != http.StatusOK {
		return false
	}
	rsc := variantOf(key).Get("rsc") != ""
	isRSC := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/x-component")
	return rsc != isRSC
}
