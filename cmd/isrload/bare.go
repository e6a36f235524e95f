package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// benchPageSizes are the page sizes of the hot-path benchmark, in bytes, by
// path on the bare server (and so on the caches in front of it).
var benchPageSizes = map[string]int{"/8k": 8 << 10, "/64k": 64 << 10}

// benchCacheControl is what the bare server sends: as the origin of the
// caches under test, its pages stay fresh for the whole benchmark.
const benchCacheControl = "public, s-maxage=86400"

// benchPage returns a deterministic HTML page of exactly size bytes (at
// least 64): nested markup, attributes and prose drawn from a fixed
// vocabulary, so that it compresses roughly as a real page does, not as a
// run of one byte would.
func benchPage(size int) []byte {
	words := strings.Fields(`the a of and to in is it that for on with as was at by an be this are
		from or have not which but they all were when we there can more one your what so about if out
		page cache render stale fresh origin replica request response header body server client value
		system data time user content latency network memory update key store lock token event write
		read share cluster node deploy build route path query static dynamic image script style table`)
	rng := rand.New(rand.NewPCG(uint64(size), 11))
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Benchmark page</title>\n" +
		"<link rel=\"stylesheet\" href=\"/static/site.css\"></head>\n<body class=\"layout\">\n" +
		"<nav class=\"top\"><a href=\"/\">Home</a> <a href=\"/posts\">Posts</a> <a href=\"/about\">About</a></nav>\n<main>\n")
	const tail = "</main>\n<footer class=\"site-footer\"><p>isrcache benchmark</p></footer>\n</body></html>\n"
	for n := 0; b.Len() < size-len(tail); n++ {
		fmt.Fprintf(&b, "<article class=\"post\" id=\"post-%d\"><h2><a href=\"/posts/%d\">", n, rng.IntN(100000))
		for range 3 + rng.IntN(5) {
			b.WriteString(words[rng.IntN(len(words))] + " ")
		}
		b.WriteString("</a></h2>\n<p class=\"text\">")
		for i := range 40 + rng.IntN(60) {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
			if rng.IntN(12) == 0 {
				fmt.Fprintf(&b, " <a href=\"/t/%d\">#%d</a>", rng.IntN(1000), rng.IntN(1000))
			}
		}
		b.WriteString(".</p></article>\n")
	}
	page := []byte(b.String())
	page = page[:min(len(page), size-len(tail))]
	page = append(page, tail...)
	for len(page) < size {
		page = append(page, '\n')
	}
	return page
}

// runBare serves the benchmark pages from prepared bytes and headers: the
// least a Go net/http server can do per request, and the origin of the
// caches under test. It serves until ctx is done.
func runBare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("isrload bare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: bareHandler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bareHandler answers the benchmark pages; every header value is prepared
// once, so a request allocates nothing beyond what net/http does.
func bareHandler() http.Handler {
	type prepared struct {
		body   []byte
		length []string
	}
	pages := map[string]prepared{}
	for p, n := range benchPageSizes {
		pages[p] = prepared{body: benchPage(n), length: []string{strconv.Itoa(n)}}
	}
	ctype, cc := []string{"text/html; charset=utf-8"}, []string{benchCacheControl}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pg, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h["Content-Type"], h["Cache-Control"], h["Content-Length"] = ctype, cc, pg.length
		_, _ = w.Write(pg.body)
	})
}
