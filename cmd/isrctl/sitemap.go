package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Limits of sitemap reading, so that a wrong or hostile sitemap cannot
// exhaust memory or loop.
const (
	maxSitemapBytes = 50 << 20  // one document, uncompressed (the protocol's own limit)
	maxSitemapDepth = 3         // levels of <sitemapindex> above a <urlset>
	maxSitemapDocs  = 1000      // documents fetched in all
	maxSitemapURLs  = 1_000_000 // <loc> entries taken in all
)

// A sitemap is a parsed sitemap document: either a <urlset>, whose Locs are
// pages, or a <sitemapindex>, whose Locs are more sitemaps.
type sitemap struct {
	Index bool
	Locs  []string // trimmed, non-empty, in document order
}

// sitemapDoc is the XML shape of both document kinds. Elements match by
// local name, in any namespace.
type sitemapDoc struct {
	XMLName  xml.Name
	URLs     []sitemapLoc `xml:"url"`
	Sitemaps []sitemapLoc `xml:"sitemap"`
}

type sitemapLoc struct {
	Loc string `xml:"loc"`
}

// parseSitemap reads a <urlset> or <sitemapindex> document of at most
// limit bytes. Entries with an empty <loc> are skipped.
func parseSitemap(r io.Reader, limit int64) (sitemap, error) {
	cr := &cappedReader{r: r, left: limit}
	dec := xml.NewDecoder(cr)
	var doc sitemapDoc
	if err := dec.Decode(&doc); err != nil {
		if cr.over {
			return sitemap{}, fmt.Errorf("larger than %d bytes", limit)
		}
		return sitemap{}, fmt.Errorf("not a sitemap: %v", err)
	}
	var sm sitemap
	var entries []sitemapLoc
	switch doc.XMLName.Local {
	case "urlset":
		entries = doc.URLs
	case "sitemapindex":
		sm.Index, entries = true, doc.Sitemaps
	default:
		return sitemap{}, fmt.Errorf("not a sitemap: the root element is <%s>, not <urlset> or <sitemapindex>", clip(doc.XMLName.Local))
	}
	for _, e := range entries {
		if loc := strings.TrimSpace(e.Loc); loc != "" {
			sm.Locs = append(sm.Locs, loc)
		}
	}
	return sm, nil
}

// A cappedReader reads at most left bytes from r, then fails with
// errTooLarge (and sets over) if r has more.
type cappedReader struct {
	r    io.Reader
	left int64
	over bool
}

// errTooLarge is returned by a cappedReader past its limit.
var errTooLarge = errors.New("too large")

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, err := c.r.Read(one[:]); n == 0 {
			return 0, err
		}
		c.over = true
		return 0, errTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// A sitemapReader fetches a sitemap and the sitemaps it names, and
// collects the page paths.
type sitemapReader struct {
	client  *http.Client
	docs    int             // documents fetched
	seen    map[string]bool // sitemap URLs fetched or queued
	paths   []string        // page paths, path+query
	skipped []string        // <loc> entries that are not page URLs, with why
}

// read fetches the sitemap at rawURL and, within the limits, every
// sitemap it names, depth levels deep at most.
func (s *sitemapReader) read(ctx context.Context, rawURL string, depth int) error {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[rawURL] = true
	if s.docs++; s.docs > maxSitemapDocs {
		return fmt.Errorf("more than %d sitemaps", maxSitemapDocs)
	}
	sm, err := s.fetch(ctx, rawURL)
	if err != nil {
		return fmt.Errorf("sitemap %s: %w", rawURL, err)
	}
	if !sm.Index {
		for _, loc := range sm.Locs {
			if len(s.paths) >= maxSitemapURLs {
				return fmt.Errorf("sitemap %s: more than %d URLs in all", rawURL, maxSitemapURLs)
			}
			p, err := urlPath(loc)
			if err != nil {
				s.skipped = append(s.skipped, err.Error())
				continue
			}
			s.paths = append(s.paths, p)
		}
		return nil
	}
	if depth >= maxSitemapDepth {
		return fmt.Errorf("sitemap %s: sitemap indexes nested more than %d deep", rawURL, maxSitemapDepth)
	}
	base, _ := url.Parse(rawURL) // parsed by fetch already
	for _, loc := range sm.Locs {
		ref, err := url.Parse(loc)
		if err != nil {
			s.skipped = append(s.skipped, fmt.Sprintf("%q is not a URL", clip(loc)))
			continue
		}
		u := base.ResolveReference(ref)
		if u.Scheme != "http" && u.Scheme != "https" {
			s.skipped = append(s.skipped, fmt.Sprintf("%q is not an http:// or https:// URL", clip(loc)))
			continue
		}
		if next := u.String(); !s.seen[next] {
			if err := s.read(ctx, next, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// fetch GETs one sitemap and parses it, gunzipping it if it is gzipped
// (sitemap.xml.gz), whatever its name or Content-Type says.
func (s *sitemapReader) fetch(ctx context.Context, rawURL string) (sitemap, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return sitemap{}, errors.New("not an http:// or https:// URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return sitemap{}, err
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return sitemap{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sitemap{}, fmt.Errorf("answered %s", resp.Status)
	}
	br := bufio.NewReader(resp.Body)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return sitemap{}, fmt.Errorf("bad gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	return parseSitemap(r, maxSitemapBytes)
}
