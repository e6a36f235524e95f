package blog

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"go.uber.org/zap"
)

// notFoundMaxAge caps the s-maxage of not-found pages.
const notFoundMaxAge = 5 * time.Second

const pageTemplates = `
{{define "head"}}<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}} · isrcache demo blog</title></head>
<body>
{{end}}
{{define "foot"}}<footer>
<p>Content version {{.Version}}. Rendered at <time>{{.RenderedAt}}</time>, render #{{.Render}} of {{.Path}}.</p>
</footer>
{{.Padding}}
</body>
</html>
{{end}}
{{define "index"}}{{template "head" .}}<h1>isrcache demo blog</h1>
<ul>
{{range .Posts}}<li><a href="/posts/{{.ID}}">{{.Title}}</a></li>
{{end}}</ul>
{{template "foot" .}}{{end}}
{{define "post"}}{{template "head" .}}<article>
<h1>{{.Post.Title}}</h1>
<p>{{.Post.Body}}</p>
<p>version {{.Version}}</p>
</article>
<p><a href="/">All posts</a></p>
{{template "foot" .}}{{end}}
{{define "notfound"}}{{template "head" .}}<h1>Post not found</h1>
<p>There is no post at {{.Path}}.</p>
{{template "foot" .}}{{end}}
`

func parseTemplates() (*template.Template, error) {
	return template.New("blog").Parse(pageTemplates)
}

// padding returns n bytes of HTML comment, or nothing for n < 8.
func padding(n int) template.HTML {
	if n < 8 {
		return ""
	}
	return template.HTML("<!--" + strings.Repeat("p", n-7) + "-->")
}

// view is what the templates render.
type view struct {
	Title      string
	Path       string
	Version    int
	RenderedAt string
	Render     int64
	Posts      []Post
	Post       Post
	Padding    template.HTML
}

// A response is a rendered page before it is written.
type response struct {
	status int
	ctype  string
	tags   string
	body   []byte
}

// serve counts a render of r's path, applies the delay and failure
// switches, and writes what render returns.
func (b *Blog) serve(w http.ResponseWriter, r *http.Request, render func(Settings, view) response) {
	start := time.Now()
	set, n := b.begin(r.URL.Path)
	if !sleep(r.Context(), set.Delay) {
		return // the client went away
	}
	v := view{Path: r.URL.Path, Version: set.Version, Render: n, Padding: b.padding,
		RenderedAt: b.now().UTC().Format(time.RFC3339Nano)}
	resp := render(set, v)
	if set.Fail == Fail500 {
		resp = response{status: http.StatusInternalServerError, ctype: "text/plain; charset=utf-8",
			body: []byte("demo-origin: failing on purpose (fail=500)\n")}
	}
	h := w.Header()
	h.Set("Content-Type", resp.ctype)
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	h.Set("X-Demo-Render", strconv.FormatInt(n, 10))
	h.Set("X-Demo-Version", strconv.Itoa(set.Version))
	if resp.status != http.StatusInternalServerError {
		h.Set("Cache-Control", cacheControl(resp.status, set.SMaxAge))
		h.Set("Cache-Tag", resp.tags)
	}
	if ce := b.log.Check(zap.DebugLevel, "render"); ce != nil {
		ce.Write(zap.String("path", r.URL.Path), zap.Int("status", resp.status), zap.Int64("render", n),
			zap.String("fail", string(set.Fail)), zap.Duration("took", time.Since(start)))
	}
	if set.Fail == FailTruncate && r.Method != http.MethodHead {
		truncate(w, resp.status, resp.body)
		return
	}
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}

func (b *Blog) serveIndex(w http.ResponseWriter, r *http.Request) {
	b.serve(w, r, func(set Settings, v view) response {
		v.Title = "All posts"
		for i := 1; i <= b.posts; i++ {
			p, _ := post(strconv.Itoa(i), b.posts, set.Version)
			v.Posts = append(v.Posts, p)
		}
		return b.html(http.StatusOK, "index", "posts", v)
	})
}

func (b *Blog) servePost(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	b.serve(w, r, func(set Settings, v view) response {
		p, ok := post(id, b.posts, set.Version)
		if !ok {
			v.Title = "Post not found"
			return b.html(http.StatusNotFound, "notfound", "posts", v)
		}
		v.Title, v.Post = p.Title, p
		return b.html(http.StatusOK, "post", "posts,post-"+p.ID, v)
	})
}

func (b *Blog) serveAPIPost(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	b.serve(w, r, func(set Settings, v view) response {
		p, ok := post(id, b.posts, set.Version)
		if !ok {
			return jsonResponse(http.StatusNotFound, "posts", map[string]string{"message": "post not found"})
		}
		return jsonResponse(http.StatusOK, "posts,post-"+p.ID, struct {
			Post
			Version    int    `json:"version"`
			RenderedAt string `json:"renderedAt"`
			Render     int64  `json:"render"`
		}{p, v.Version, v.RenderedAt, v.Render})
	})
}

// serveNoRoute answers paths that are no page at all, uncounted.
func (b *Blog) serveNoRoute(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", cacheControl(http.StatusNotFound, b.Settings().SMaxAge))
	http.Error(w, "404 page not found", http.StatusNotFound)
}

func (b *Blog) html(status int, name, tags string, v view) response {
	var buf bytes.Buffer
	if err := b.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		b.log.Error("template failed", zap.String("template", name), zap.Error(err))
		return response{status: http.StatusInternalServerError, ctype: "text/plain; charset=utf-8",
			body: []byte("demo-origin: template failed\n")}
	}
	return response{status: status, ctype: "text/html; charset=utf-8", tags: tags, body: buf.Bytes()}
}

func jsonResponse(status int, tags string, v any) response {
	body, _ := json.Marshal(v) // plain structs and maps: cannot fail
	return response{status: status, ctype: "application/json", tags: tags, body: append(body, '\n')}
}

// cacheControl returns the Cache-Control of a page with the given status.
func cacheControl(status int, smaxage time.Duration) string {
	if status == http.StatusNotFound {
		smaxage = min(smaxage, notFoundMaxAge)
	}
	return "s-maxage=" + strconv.Itoa(int(smaxage/time.Second)) + ", stale-while-revalidate"
}

// truncate promises the full body in Content-Length, sends half of it and
// closes the connection.
func truncate(w http.ResponseWriter, status int, body []byte) {
	w.WriteHeader(status)
	_, _ = w.Write(body[:len(body)/2])
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
}

// sleep waits for d, or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
