package isrredis

import (
	"encoding/json"
	"net/http"
	"net/textproto"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// FuzzDecodeEntry feeds get.lua-shaped replies to decodeEntry: corrupt
// fields must give an error, never a panic, and a page encoded as Put
// encodes it must decode to the same page.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(int64(1000), "200", "/p", "3", "Content-Type: text/html\r\n", "body", `["a","b"]`, "60000", "900", "60900", "")
	f.Add(int64(5), "404", "/x?a=1", "1", "", "", `[]`, "-1", "5", "-1", "br")
	f.Add(int64(5), "200", "/latin1", "1", "attachment; filename=\"caf\xe9.txt\"", "", `[]`, "-1", "5", "-1", "gzip")
	f.Add(int64(0), "x", "", "", "{", "", "[", "", "", "", "zstd")
	f.Fuzz(func(t *testing.T, now int64, status, key, gen, hdr, body, tags, rev, written, fresh, enc string) {
		res := []any{now, status, key, gen, hdr, body, tags, rev, written, fresh, enc}
		if e, err := decodeEntry(res); err == nil {
			if e.Page == nil || e.Age < 0 || !isr.ValidEncoding(e.Page.Encoding) {
				t.Fatalf("decodeEntry(%q) = %+v: no page, a negative age or an unknown encoding", res, e)
			}
		}
		code, err1 := strconv.Atoi(status)
		g, err2 := strconv.ParseInt(gen, 10, 64)
		if err1 != nil || err2 != nil {
			return
		}
		// What survives the wire survives the store: values are trimmed and
		// newlines become spaces, every other byte is kept.
		wire := textproto.TrimString(strings.NewReplacer("\r", " ", "\n", " ").Replace(hdr))
		p := &isr.Page{Key: key, Status: code, Body: []byte(body), Gen: g, Revalidate: time.Minute,
			Header: http.Header{"X-Fuzz": {wire}}, Tags: []string{"t"}}
		tj, _ := json.Marshal(p.Tags)
		e, err := decodeEntry([]any{int64(2000), status, key, gen, encodeHeader(p.Header), body, string(tj), "60000", "1000", "61000", "br"})
		if err != nil {
			t.Fatalf("round trip of %+v: %v", p, err)
		}
		want := p.Header
		if !validValue(wire) {
			want = nil
		}
		if e.Page.Key != key || string(e.Page.Body) != body || e.Page.Encoding != "br" || e.Page.Gen != g || e.Page.Status != code ||
			!reflect.DeepEqual(e.Page.Header, want) || !reflect.DeepEqual(e.Page.Tags, p.Tags) ||
			e.Age != time.Second || e.Fresh != 59*time.Second {
			t.Fatalf("round trip: got %+v %+v, want %+v", e, e.Page, p)
		}
	})
}
