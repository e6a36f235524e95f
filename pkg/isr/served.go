package isr

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// served is a stored page prepared for answering: each representation
// (content coding) with its body and every header but the per-request ones
// (Age, X-ISR-Cache, Cache-Status), built once, when first asked for, and
// shared read-only by every request. The hot cache keeps one per page
// generation, so a HIT copies no header and compresses nothing.
type served struct {
	page *Page
	hdr  http.Header // page.Header with canonical keys
	// encs are the codings the page can be sent in, in order of
	// preference (smallest first); reps holds them, built lazily.
	encs []string
	reps []lazyRep
	// sent is the coding the origin sent (""; or its Content-Encoding,
	// kept as sent), whose representation carries the ETag unchanged.
	sent    string
	etag    string    // the page's ETag, as stored
	lastMod time.Time // Last-Modified, or zero
	codec   *codec
	dyn     atomic.Pointer[dynHeaders]
}

type lazyRep struct {
	once sync.Once
	r    *rep
}

// rep is one representation of a page, as sent.
type rep struct {
	body []byte
	hdr  http.Header // the 200's headers (values never modified)
	hdr3 http.Header // the 304's: validators and caching headers only
	etag string
}

// dynHeaders are the per-request header values of the latest answer of a
// HIT or STALE, reused while they are the same (within one second).
type dynHeaders struct {
	state                 string
	age, ttl              int64
	hasTTL                bool
	stateV, ageV, statusV []string
}

// newServed prepares p for answering, transcoding with codec.
func newServed(p *Page, codec *codec) *served {
	s := &served{page: p, hdr: make(http.Header, len(p.Header)), codec: codec}
	for k, vs := range p.Header { // storedHeader keeps "ETag" as spelled
		ck := http.CanonicalHeaderKey(k)
		s.hdr[ck] = append(s.hdr[ck], vs...)
	}
	s.etag = s.hdr.Get("Etag")
	s.sent = strings.ToLower(strings.TrimSpace(s.hdr.Get("Content-Encoding")))
	if t, err := http.ParseTime(s.hdr.Get("Last-Modified")); err == nil {
		s.lastMod = t
	}
	switch {
	case p.Encoding != encIdentity: // compressed by the cache
		s.encs = []string{encBr, encGzip, encIdentity}
	case s.sent == encBr:
		s.encs = []string{encBr, encIdentity}
	case s.sent == encGzip:
		s.encs = []string{encGzip, encIdentity}
	default: // identity, or a coding the cache does not decode
		s.encs = []string{s.sent}
	}
	s.reps = make([]lazyRep, len(s.encs))
	return s
}

// pick returns the representation to send to a client with these
// Accept-Encoding lines.
func (s *served) pick(acceptLines []string) *rep {
	i := parseAcceptEncoding(acceptLines).pick(s.encs)
	if r := s.rep(i); r != nil {
		return r
	}
	// The body could not be transcoded (corrupt, or too large decoded):
	// send it as stored.
	return s.rep(s.storedIndex())
}

// storedIndex is the index in encs of the coding of the stored body.
func (s *served) storedIndex() int {
	enc := s.page.Encoding
	if enc == encIdentity {
		enc = s.sent
	}
	return max(slices.Index(s.encs, enc), 0)
}

// rep returns representation i, building it on first use; nil if its body
// cannot be made.
func (s *served) rep(i int) *rep {
	lr := &s.reps[i]
	lr.once.Do(func() { lr.r = s.build(s.encs[i]) })
	return lr.r
}

// build makes the representation in coding enc.
func (s *served) build(enc string) *rep {
	p := s.page
	stored := p.Encoding
	if stored == encIdentity {
		stored = s.sent
	}
	body := p.Body
	if enc != stored {
		dec, err := s.codec.decode(p.Body, stored)
		if err != nil {
			return nil
		}
		body = dec
		if enc != encIdentity {
			if body, err = s.codec.encode(dec, enc); err != nil {
				return nil
			}
		}
	}
	r := &rep{body: body, etag: s.etagFor(enc), hdr: make(http.Header, len(s.hdr)+6), hdr3: http.Header{}}
	for k, vs := range s.hdr {
		if k != "Content-Encoding" && k != "Vary" && k != "Etag" {
			r.hdr[k] = slices.Clip(vs)
		}
	}
	one := func(v string) []string { return []string{v} }
	if enc != encIdentity {
		r.hdr["Content-Encoding"] = one(enc)
	}
	if vary := s.vary(); vary != nil {
		r.hdr["Vary"], r.hdr3["Vary"] = vary, vary
	}
	if r.etag != "" {
		r.hdr["Etag"], r.hdr3["Etag"] = one(r.etag), one(r.etag)
	}
	r.hdr["Content-Length"] = one(strconv.Itoa(len(body)))
	r.hdr["Cache-Control"] = one(downstreamCacheControl(p.Revalidate))
	r.hdr3["Cache-Control"] = r.hdr["Cache-Control"]
	if lm, ok := s.hdr["Last-Modified"]; ok {
		r.hdr3["Last-Modified"] = slices.Clip(lm)
	}
	return r
}

// vary returns the Vary values to send: the origin's, with Accept-Encoding
// added when the page has several representations.
func (s *served) vary() []string {
	vs := s.hdr["Vary"]
	if len(s.encs) < 2 {
		return slices.Clip(vs)
	}
	for _, v := range vs {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Accept-Encoding") {
				return slices.Clip(vs)
			}
		}
	}
	return append(slices.Clone(vs), "Accept-Encoding")[: len(vs)+1 : len(vs)+1]
}

// etagFor returns the ETag of the representation in coding enc: the
// page's for the coding the origin sent; for the others, a strong ETag gets
// the coding appended inside the quotes ("-br", "-gzip", "-identity"), as
// a strong validator names one representation (RFC 9110 §8.8.3). A weak
// ETag stands for all of them.
func (s *served) etagFor(enc string) string {
	if s.etag == "" || enc == s.sent || strings.HasPrefix(s.etag, "W/") || !strings.HasSuffix(s.etag, `"`) {
		return s.etag
	}
	name := enc
	if name == encIdentity {
		name = "identity"
	}
	return s.etag[:len(s.etag)-1] + "-" + name + `"`
}

// dynamic returns the X-ISR-Cache, Age and Cache-Status values of an
// answer in state, the page aged age seconds and fresh for ttl more (a
// Cache-Status ttl parameter if hasTTL), reusing the previous answer's
// values when they are the same: within a second, they are.
func (s *served) dynamic(state string, age, ttl int64, hasTTL bool) (stateV, ageV, statusV []string) {
	if d := s.dyn.Load(); d != nil && d.state == state && d.age == age && d.ttl == ttl && d.hasTTL == hasTTL {
		return d.stateV, d.ageV, d.statusV
	}
	params := ""
	if hasTTL {
		params = "ttl=" + strconv.FormatInt(ttl, 10)
	}
	d := &dynHeaders{state: state, age: age, ttl: ttl, hasTTL: hasTTL, stateV: []string{state},
		ageV: []string{strconv.FormatInt(age, 10)}, statusV: []string{cacheStatus(state, params)}}
	s.dyn.Store(d)
	return d.stateV, d.ageV, d.statusV
}
