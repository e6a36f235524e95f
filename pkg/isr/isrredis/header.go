package isrredis

import (
	"bufio"
	"net/http"
	"net/textproto"
	"strings"
)

// encodeHeader writes h in the HTTP wire format ("Name: value" lines).
// Unlike JSON it keeps every byte of a value, obs-text included, and it
// reads well in redis-cli. Values are trimmed and newlines become spaces,
// as on the wire. Values holding other control characters, which no HTTP
// peer may send, are dropped.
func encodeHeader(h http.Header) string {
	clean := make(http.Header, len(h))
	for k, vs := range h {
		for _, v := range vs {
			if validValue(v) {
				clean[k] = append(clean[k], v)
			}
		}
	}
	var b strings.Builder
	_ = clean.Write(&b)
	return b.String()
}

// validValue reports whether v has no control character but tab, CR and
// LF (which the wire format turns into spaces).
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t' && c != '\r' && c != '\n') || c == 0x7f {
			return false
		}
	}
	return true
}

// decodeHeader parses what encodeHeader wrote. An empty string is a nil
// header.
func decodeHeader(s string) (http.Header, error) {
	if s == "" {
		return nil, nil
	}
	mh, err := textproto.NewReader(bufio.NewReader(strings.NewReader(s + "\r\n"))).ReadMIMEHeader()
	if err != nil {
		return nil, err
	}
	return http.Header(mh), nil
}
