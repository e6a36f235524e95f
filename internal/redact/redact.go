// Package redact removes secrets from log output, whatever shape they
// arrive in: a Scrubber looks for each secret's bytes in everything written,
// raw or escaped (percent-encoding, also doubled, "+" for a space, JSON and
// Go string escapes, in any mix) and encoded whole (base64, hex), and
// replaces every occurrence with [Mask].
//
// It works on the bytes about to be written, not on the fields that made
// them, so it does not depend on any parser having understood a request: a
// secret hidden in a malformed query string is removed as surely as one in
// a well-formed one.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"slices"

	"go.uber.org/zap/zapcore"
)

// Mask replaces every secret found.
const Mask = "REDACTED"

// MinPartial is the shortest run of a secret's leading bytes that is
// removed on its own, for output that cut a long secret short (an error
// message clipping its input, say). Secrets no longer than MinPartial are
// only removed whole.
const MinPartial = 12

// A Scrubber removes a fixed set of secrets from byte strings. The zero
// value and nil remove nothing. A Scrubber is safe for concurrent use.
type Scrubber struct {
	secrets [][]byte // matched byte by byte, each byte raw or escaped
	encoded [][]byte // whole encodings of a secret, matched literally
}

// New returns a Scrubber of secrets. Empty secrets are ignored.
func New(secrets ...string) *Scrubber {
	s := &Scrubber{}
	for _, sec := range secrets {
		if sec == "" || slices.ContainsFunc(s.secrets, func(b []byte) bool { return string(b) == sec }) {
			continue
		}
		b := []byte(sec)
		s.secrets = append(s.secrets, b)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			s.encoded = append(s.encoded, []byte(enc.EncodeToString(b)))
		}
		lower := hex.EncodeToString(b)
		s.encoded = append(s.encoded, []byte(lower), bytes.ToUpper([]byte(lower)))
	}
	return s
}

// Scrub returns p with every secret replaced by Mask. It returns p itself
// when there is nothing to replace.
func (s *Scrubber) Scrub(p []byte) []byte {
	if s == nil || len(s.secrets) == 0 {
		return p
	}
	var out []byte // nil until the first match
	last := 0      // p[:last] is in out already
	for i := 0; i < len(p); {
		end := s.matchAt(p, i)
		if end < 0 {
			i++
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(p))
		}
		out = append(append(out, p[last:i]...), Mask...)
		i, last = end, end
	}
	if out == nil {
		return p
	}
	return append(out, p[last:]...)
}

// matchAt returns the end of the longest secret found at p[i:], or -1.
func (s *Scrubber) matchAt(p []byte, i int) int {
	best := -1
	for _, sec := range s.secrets {
		if end, n := prefixAt(p, i, sec); n == len(sec) || n >= MinPartial {
			best = max(best, end)
		}
	}
	for _, enc := range s.encoded {
		if bytes.HasPrefix(p[i:], enc) {
			best = max(best, i+len(enc))
		}
	}
	return best
}

// prefixAt matches as many leading bytes of sec as it can at p[i:], each
// written raw or escaped, and returns where the match ends in p and how
// many bytes of sec it covers.
func prefixAt(p []byte, i int, sec []byte) (end, n int) {
	j := i
	for n < len(sec) {
		w := width(p[j:], sec[n])
		if w == 0 {
			break
		}
		j += w
		n++
	}
	return j, n
}

// width returns how many bytes at the start of p spell c: 1 for c itself,
// more for an escape of it, 0 if p does not start with c.
func width(p []byte, c byte) int {
	if len(p) == 0 {
		return 0
	}
	switch {
	case p[0] == c:
		return 1
	case p[0] == '+' && c == ' ':
		return 1
	case p[0] == '%':
		return percentWidth(p, c)
	case p[0] == '\\':
		return escapeWidth(p, c)
	}
	return 0
}

// percentWidth matches "%XX" spelling c, in either case, also when the
// percent sign is itself encoded once or twice ("%25XX", "%2525XX"), and
// "%2B" for a space (a "+" encoded again).
func percentWidth(p []byte, c byte) int {
	j := 1 // past the leading '%'
	for range 3 {
		b, ok := hexPair(p[j:])
		switch {
		case !ok:
			return 0
		case b == c || b == '+' && c == ' ':
			return j + 2
		case b != '%':
			return 0
		}
		j += 2 // "%25": the escape of c follows, itself encoded
	}
	return 0
}

// escapeWidth matches a JSON or Go string escape of c: \uXXXX, \xXX, an
// octal \NNN, or a one-letter escape such as \" or \n.
func escapeWidth(p []byte, c byte) int {
	if len(p) < 2 {
		return 0
	}
	switch p[1] {
	case 'u':
		if len(p) >= 6 && p[2] == '0' && p[3] == '0' {
			if b, ok := hexByte(p[3:], '0'); ok && b == c {
				return 6
			}
		}
		return 0
	case 'x':
		if b, ok := hexByte(p[1:], 'x'); ok && b == c {
			return 4
		}
		return 0
	case '0', '1', '2', '3':
		if len(p) >= 4 && isOctal(p[2]) && isOctal(p[3]) && (p[1]-'0')<<6|(p[2]-'0')<<3|(p[3]-'0') == c {
			return 4
		}
		return 0
	}
	if one, ok := oneLetter[p[1]]; ok && one == c {
		return 2
	}
	return 0
}

// oneLetter maps the letter of a one-letter escape to the byte it spells.
var oneLetter = map[byte]byte{
	'"': '"', '\\': '\\', '/': '/', '\'': '\'', 'a': '\a', 'b': '\b',
	'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v',
}

// hexByte decodes p[1:3] as two hex digits if p starts with lead.
func hexByte(p []byte, lead byte) (byte, bool) {
	if len(p) < 3 || p[0] != lead {
		return 0, false
	}
	return hexPair(p[1:])
}

// hexPair decodes p[0:2] as two hex digits.
func hexPair(p []byte) (byte, bool) {
	if len(p) < 2 {
		return 0, false
	}
	hi, ok1 := unhex(p[0])
	lo, ok2 := unhex(p[1])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// WriteSyncer returns w with every write scrubbed. Each write of a zap core
// is one whole log entry, so a secret is never split between two writes.
func (s *Scrubber) WriteSyncer(w zapcore.WriteSyncer) zapcore.WriteSyncer {
	return scrubbing{s, w}
}

type scrubbing struct {
	s *Scrubber
	w zapcore.WriteSyncer
}

// Write writes p scrubbed, and reports p's length when the whole of it was
// written, as io.Writer requires.
func (sw scrubbing) Write(p []byte) (int, error) {
	if _, err := sw.w.Write(sw.s.Scrub(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (sw scrubbing) Sync() error { return sw.w.Sync() }
