package isr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/gzip"
)

// Content codings the cache stores, serves and decodes. Identity is "".
const (
	encIdentity = ""
	encGzip     = "gzip"
	encBr       = "br"
)

// ValidEncoding reports whether enc is a Page.Encoding the engine can
// serve: identity (""), "br" or "gzip".
func ValidEncoding(enc string) bool {
	return enc == encIdentity || enc == encBr || enc == encGzip
}

// DecodedBody returns p's body as the origin sent it: decompressed when the
// cache compressed it (p.Encoding), else p.Body itself. It is for tools and
// tests that look at stored pages; answers never need it.
func DecodedBody(p *Page) ([]byte, error) {
	if p.Encoding == encIdentity {
		return p.Body, nil
	}
	return newCodec(1<<30).decode(p.Body, p.Encoding)
}

// Compression settings of stored pages.
const (
	// minCompressBytes is the smallest body the cache compresses: below
	// it, the bytes saved are fewer than a header's.
	minCompressBytes = 1024
	// brQuality is the brotli quality of stored pages: compression runs
	// once per write, on the cold path, where quality 5 is the knee of
	// brotli's size/time curve for HTML (the writers are reused, with
	// their 4 MiB window: see codec).
	brQuality = 5
	// maxCompressRatio is the largest compressed/identity size ratio
	// worth storing: a body that does not shrink more stays identity.
	maxCompressRatio = 0.9
)

// acceptEncoding is a parsed Accept-Encoding request header: the weight,
// in thousandths, of each coding the cache knows, -1 where not named.
type acceptEncoding struct {
	present                   bool // the request had the header
	br, gzip, identity, other int16
}

// parseAcceptEncoding parses the Accept-Encoding field lines of a request
// without allocating. Members with a malformed weight are ignored. "*"
// stands for every coding not named; x-gzip is gzip.
func parseAcceptEncoding(lines []string) acceptEncoding {
	a := acceptEncoding{present: len(lines) > 0, br: -1, gzip: -1, identity: -1, other: -1}
	for _, line := range lines {
		for line != "" {
			var member string
			member, line, _ = strings.Cut(line, ",")
			coding, params, _ := strings.Cut(member, ";")
			coding = strings.TrimSpace(coding)
			if coding == "" {
				continue
			}
			q, ok := parseWeight(params)
			if !ok {
				continue
			}
			switch {
			case strings.EqualFold(coding, "br"):
				a.br = q
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				a.gzip = q
			case strings.EqualFold(coding, "identity"):
				a.identity = q
			case coding == "*":
				a.other = q
			}
		}
	}
	return a
}

// parseWeight reads the weight of an Accept-Encoding member from its
// parameters (";q=0.5"), in thousandths: 1000 when absent. ok is false for
// a malformed weight (RFC 9110 §12.4.2: "0" to "1" with at most three
// decimals).
func parseWeight(params string) (q int16, ok bool) {
	params = strings.TrimSpace(params)
	if params == "" {
		return 1000, true
	}
	name, v, found := strings.Cut(params, "=")
	if !found || !strings.EqualFold(strings.TrimSpace(name), "q") {
		return 1000, true // an extension parameter: no weight
	}
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0, false
	}
	n := int(v[0]-'0') * 1000
	if len(v) > 1 {
		if v[1] != '.' {
			return 0, false
		}
		scale := 100
		for i := 2; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0, false
			}
			n += int(v[i]-'0') * scale
			scale /= 10
		}
	}
	if n > 1000 {
		return 0, false
	}
	return int16(n), true
}

// weight returns how acceptable coding enc is, in thousandths. Identity is
// acceptable unless excluded by name or by "*;q=0" (RFC 9110 §12.5.3).
func (a acceptEncoding) weight(enc string) int16 {
	var w int16
	switch enc {
	case encBr:
		w = a.br
	case encGzip:
		w = a.gzip
	case encIdentity:
		w = a.identity
		if w < 0 && a.other == 0 {
			return 0
		}
		if w < 0 {
			return 1
		}
		return w
	}
	if w < 0 {
		w = max(a.other, 0)
	}
	return w
}

// pick returns the index in encs (the codings the page is available in,
// in order of preference) of the one to send: the most acceptable, ties
// going to the first. A request without Accept-Encoding, or one accepting
// none of them, gets identity when the page has it, else encs[0].
func (a acceptEncoding) pick(encs []string) int {
	best, bestW := -1, int16(0)
	if a.present {
		for i, enc := range encs {
			if w := a.weight(enc); w > bestW {
				best, bestW = i, w
			}
		}
	}
	if best >= 0 {
		return best
	}
	for i, enc := range encs {
		if enc == encIdentity {
			return i
		}
	}
	return 0
}

// compressible reports whether a body of this media type and size is worth
// compressing: text, JSON, JavaScript, XML and SVG of at least
// minCompressBytes.
func compressible(contentType string, size int) bool {
	if size < minCompressBytes {
		return false
	}
	ct := strings.ToLower(contentType)
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") ||
		strings.Contains(ct, "javascript") || strings.Contains(ct, "xml")
}

// codec compresses and decodes page bodies, reusing its coders: the
// tables a brotli writer allocates are most of the cost of compressing a
// page. It is safe for concurrent use.
type codec struct {
	limit    int64 // the most bytes a decoded body may have
	brw, gzw sync.Pool
	brr, gzr sync.Pool
}

// newCodec returns a codec that decodes at most limit bytes per body.
func newCodec(limit int64) *codec {
	return &codec{limit: limit}
}

// encode compresses body with enc (br or gzip).
func (c *codec) encode(body []byte, enc string) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, len(body)/3+64))
	switch enc {
	case encBr:
		w, _ := c.brw.Get().(*brotli.Writer)
		if w == nil {
			w = brotli.NewWriterOptions(buf, brotli.WriterOptions{Quality: brQuality, LGWin: 22})
		} else {
			w.Reset(buf)
		}
		defer c.brw.Put(w)
		return closeWrite(w, buf, body)
	case encGzip:
		w, _ := c.gzw.Get().(*gzip.Writer)
		if w == nil {
			w = gzip.NewWriter(buf)
		} else {
			w.Reset(buf)
		}
		defer c.gzw.Put(w)
		return closeWrite(w, buf, body)
	}
	return nil, fmt.Errorf("isr: cannot encode %q", enc)
}

func closeWrite(w io.WriteCloser, buf *bytes.Buffer, body []byte) ([]byte, error) {
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// errTooLargeDecoded is returned by decode for a body that decompresses to
// more than its limit.
var errTooLargeDecoded = errors.New("isr: decoded body too large")

// decode decompresses body, encoded with enc (br or gzip), refusing more
// than the codec's limit of output.
func (c *codec) decode(body []byte, enc string) ([]byte, error) {
	var r io.Reader
	switch enc {
	case encBr:
		br, _ := c.brr.Get().(*brotli.Reader)
		if br == nil {
			br = brotli.NewReader(bytes.NewReader(body))
		} else if err := br.Reset(bytes.NewReader(body)); err != nil {
			return nil, fmt.Errorf("isr: decode br: %w", err)
		}
		defer c.brr.Put(br)
		r = br
	case encGzip:
		zr, _ := c.gzr.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(bytes.NewReader(body))
		} else {
			err = zr.Reset(bytes.NewReader(body))
		}
		if err != nil {
			return nil, fmt.Errorf("isr: decode gzip: %w", err)
		}
		defer c.gzr.Put(zr)
		r = zr
	default:
		return nil, fmt.Errorf("isr: cannot decode %q", enc)
	}
	out, err := io.ReadAll(io.LimitReader(r, c.limit+1))
	if err != nil {
		return nil, fmt.Errorf("isr: decode %s: %w", enc, err)
	}
	if int64(len(out)) > c.limit {
		return nil, errTooLargeDecoded
	}
	return out, nil
}

// finishStored completes a page about to be stored: it gets a strong ETag
// computed from its content when the origin sent none, and its body is
// compressed once (brotli) when that is worth it: a compressible type, at
// least minCompressBytes, no Content-Encoding from the origin (such a body
// is stored as sent), and a result under maxCompressRatio of the size.
func (c *codec) finishStored(p *Page) {
	if p.Header == nil {
		p.Header = http.Header{}
	}
	if vs, ok := p.Header["ETag"]; ok { // as storedHeader spells it
		delete(p.Header, "ETag")
		p.Header["Etag"] = vs
	}
	if len(p.Header["Etag"]) == 0 {
		p.Header["Etag"] = []string{contentETag(p.Body)}
	}
	if p.Encoding != encIdentity || len(p.Header.Values("Content-Encoding")) > 0 ||
		!compressible(p.Header.Get("Content-Type"), len(p.Body)) {
		return
	}
	z, err := c.encode(p.Body, encBr)
	if err != nil || float64(len(z)) > maxCompressRatio*float64(len(p.Body)) {
		return
	}
	p.Body, p.Encoding = z, encBr
}

// contentETag is a strong ETag derived from a body: 64 bits of its
// xxhash, as sixteen hex digits in quotes.
func contentETag(body []byte) string {
	var b [18]byte
	b[0], b[17] = '"', '"'
	const hex = "0123456789abcdef"
	h := xxhash.Sum64(body)
	for i := 16; i >= 1; i-- {
		b[i] = hex[h&0xf]
		h >>= 4
	}
	return string(b[:])
}
