package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Bounds of -c, the number of requests in flight.
const (
	defaultConcurrency = 8
	maxConcurrency     = 64
)

// maxPageBytes bounds how much of a page prerender reads (and drops).
const maxPageBytes = 64 << 20

// A visit is the outcome of one prerender request.
type visit struct {
	path   string
	status int    // 0 if the request failed
	cache  string // X-ISR-Cache, or "-" if none
	err    error
}

// failed reports whether the visit did not get a page: the request failed
// or the server answered a 4xx or 5xx.
func (v visit) failed() bool { return v.err != nil || v.status >= 400 }

// prerender runs "isrctl prerender".
func (c *cli) prerender(ctx context.Context, args []string) int {
	fs := c.flagSet("isrctl prerender")
	conc := fs.Int("c", defaultConcurrency, fmt.Sprintf("requests in flight, 1 to %d", maxConcurrency))
	var sitemaps, files stringList
	fs.Var(&sitemaps, "sitemap", "URL of a sitemap or sitemap index (.xml or .xml.gz) whose pages to visit (repeatable)")
	fs.Var(&files, "f", "file of paths or URLs, one a line, # comments; - for stdin (repeatable)")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if *conc < 1 || *conc > maxConcurrency {
		c.errorf("prerender: -c %d must be 1 to %d", *conc, maxConcurrency)
		return exitUsage
	}
	base, err := c.baseURL()
	if err != nil {
		c.errorf("prerender: %v", err)
		return exitUsage
	}
	paths, err := c.prerenderPaths(fs.Args(), files)
	if err != nil {
		c.errorf("prerender: %v", err)
		return exitUsage
	}
	if len(sitemaps) > 0 {
		sr := &sitemapReader{client: &http.Client{Timeout: c.timeout}}
		for _, sm := range sitemaps {
			if err := sr.read(ctx, sm, 0); err != nil {
				c.errorf("prerender: %v", err)
				return exitFail
			}
		}
		if n := len(sr.skipped); n > 0 {
			c.errorf("prerender: skipped %d sitemap entries that are not page URLs; the first: %s", n, sr.skipped[0])
		}
		paths = append(paths, sr.paths...)
	}
	paths = dedupe(paths)
	if len(paths) == 0 {
		c.errorf("prerender: no paths: give paths, -f FILE or -sitemap URL")
		return exitUsage
	}
	start := time.Now()
	visits := c.visitAll(ctx, base, paths, *conc)
	return c.summarize(ctx, visits, len(paths), time.Since(start))
}

// prerenderPaths reads the paths of the arguments and of the -f files.
func (c *cli) prerenderPaths(args, files []string) ([]string, error) {
	var out []string
	for _, a := range args {
		p, err := pathOrURL(a)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	for _, name := range files {
		r, closeFile := c.stdin, func() {}
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return nil, err
			}
			r, closeFile = f, func() { _ = f.Close() }
		}
		err := readLines(r, func(line string, n int) error {
			p, err := pathOrURL(line)
			if err != nil {
				return fmt.Errorf("%s line %d: %w", name, n, err)
			}
			out = append(out, p)
			return nil
		})
		closeFile()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// visitAll GETs every path through base with conc requests in flight and
// returns the visits made; it stops starting new ones when ctx is done.
func (c *cli) visitAll(ctx context.Context, base string, paths []string, conc int) []visit {
	client := &http.Client{
		Timeout:   c.timeout,
		Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: conc, ForceAttemptHTTP2: true},
		// A stored redirect is a page: visiting its target is not asked for.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	jobs := make(chan string)
	results := make(chan visit)
	var wg sync.WaitGroup
	for range min(conc, len(paths)) {
		wg.Go(func() {
			for p := range jobs {
				results <- visitOne(ctx, client, base, p)
			}
		})
	}
	go func() {
		defer close(jobs)
		for _, p := range paths {
			select {
			case jobs <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	prog := newProgress(c.stderr, len(paths))
	visits := make([]visit, 0, len(paths))
	for v := range results {
		visits = append(visits, v)
		prog.done(v.failed())
	}
	prog.finish()
	return visits
}

// visitOne GETs one page as an anonymous visitor would (no credentials, so
// that the page is cacheable) and reads it whole.
func visitOne(ctx context.Context, client *http.Client, base, path string) visit {
	v := visit{path: path, cache: "-"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		v.err = err
		return v
	}
	req.Header.Set("User-Agent", userAgent+"-prerender")
	resp, err := client.Do(req)
	if err != nil {
		v.err = err
		return v
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxPageBytes)); err != nil {
		v.err = fmt.Errorf("reading the page: %w", err)
		return v
	}
	v.status = resp.StatusCode
	if s := resp.Header.Get("X-ISR-Cache"); s != "" {
		v.cache = s
	}
	return v
}

// summarize prints what the visits found and returns the exit code.
func (c *cli) summarize(ctx context.Context, visits []visit, total int, took time.Duration) int {
	byCache, byStatus := map[string]int{}, map[int]int{}
	var failed []visit
	for _, v := range visits {
		if v.err == nil {
			byCache[v.cache]++
			byStatus[v.status]++
		}
		if v.failed() {
			failed = append(failed, v)
		}
	}
	w := c.stdout
	fmt.Fprintf(w, "prerendered %d of %d paths in %s: %d ok, %d failed\n",
		len(visits), total, took.Round(time.Millisecond), len(visits)-len(failed), len(failed))
	notes := map[string]string{"MISS": " (newly rendered)", "HIT": " (already warm)",
		"STALE": " (served stale, regenerating)", "BYPASS": " (not cacheable)", "-": " (no X-ISR-Cache: not an isrcache?)"}
	for _, k := range sortedKeys(byCache) {
		fmt.Fprintf(w, "  %-6s %d%s\n", k, byCache[k], notes[k])
	}
	for _, k := range sortedKeys(byStatus) {
		fmt.Fprintf(w, "  status %d: %d\n", k, byStatus[k])
	}
	const maxListed = 20
	for i, v := range failed {
		if i == maxListed {
			fmt.Fprintf(w, "  ... and %d more failures\n", len(failed)-maxListed)
			break
		}
		why := fmt.Sprintf("%d %s", v.status, http.StatusText(v.status))
		if v.err != nil {
			why = v.err.Error()
		}
		fmt.Fprintf(w, "  failed %s: %s\n", v.path, strings.TrimSpace(why))
	}
	switch {
	case len(visits) < total || ctx.Err() != nil:
		c.errorf("prerender: interrupted after %d of %d paths", len(visits), total)
		return exitFail
	case len(failed) > 0:
		c.errorf("prerender: %d of %d paths failed", len(failed), total)
		return exitFail
	}
	return exitOK
}

// sortedKeys returns m's keys in order.
func sortedKeys[K string | int, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
