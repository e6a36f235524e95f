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
	"sync"
	"sync/atomic"

	"go.uber.org/zap/zapcore"
)

// Mask replaces every secret found.
const Mask = "REDACTED"

// MinPartial is the shortest run of a secret's leading bytes that is
// removed on its own, for output that cut a long secret short (an error
// message clipping its input, say). Secrets no longer than MinPartial are
// only removed whole.
const MinPartial = 12

// MaxFollowed is how many distinct values of one followed secret (see
// [Scrubber.Follow]) are removed: the current one and the ones before it,
// so that a secret rotated out is still removed for a while.
const MaxFollowed = 8

// A Scrubber removes secrets from byte strings: fixed ones, and the values
// of followed sources. The zero value and nil remove nothing. A Scrubber is
// safe for concurrent use.
type Scrubber struct {
	fixed   []string
	sources []func() string

	mu       sync.Mutex
	followed [][]string              // per source, oldest first
	m        atomic.Pointer[matcher] // nil: nothing to remove
}

// matcher is a compiled set of secrets. It is never changed once built.
type matcher struct {
	known   map[string]bool
	secrets [][]byte // matched byte by byte, each byte raw or escaped
	encoded [][]byte // whole encodings of a secret, matched literally

	// By the byte a match starts with: the secrets starting with it raw,
	// and the encodings starting with it. A position starting with an
	// escape's first byte ('%', '\\', '+') may start any secret.
	rawBy [256][][]byte
	encBy [256][][]byte
}

// New returns a Scrubber of secrets. Empty secrets are ignored.
func New(secrets ...string) *Scrubber {
	s := &Scrubber{fixed: secrets}
	s.m.Store(compile(secrets))
	return s
}

// Follow returns a Scrubber that removes s's secrets and also every value
// src returns: a secret that changes while the program runs, such as one
// read again from a file. src is called at every Scrub, so it must be
// cheap and safe for concurrent use; "" means no secret.
func (s *Scrubber) Follow(src func() string) *Scrubber {
	f := &Scrubber{sources: []func() string{src}}
	if s != nil {
		f.fixed, f.sources = s.fixed, append(slices.Clone(s.sources), src)
	}
	f.followed = make([][]string, len(f.sources))
	f.m.Store(compile(f.fixed))
	return f
}

// current returns the matcher of every secret known now, after asking the
// followed sources for their values.
func (s *Scrubber) current() *matcher {
	m := s.m.Load()
	for i, src := range s.sources {
		v := src()
		if v == "" || m.known[v] {
			continue
		}
		s.mu.Lock()
		if m = s.m.Load(); m.known[v] { // another goroutine added it
			s.mu.Unlock()
			continue
		}
		s.followed[i] = append(s.followed[i], v)
		if len(s.followed[i]) > MaxFollowed {
			s.followed[i] = s.followed[i][1:]
		}
		all := slices.Clone(s.fixed)
		for _, vs := range s.followed {
			all = append(all, vs...)
		}
		m = compile(all)
		s.m.Store(m)
		s.mu.Unlock()
	}
	return m
}

// compile builds the matcher of secrets, ignoring empty ones.
func compile(secrets []string) *matcher {
	m := &matcher{known: map[string]bool{}}
	for _, sec := range secrets {
		if sec == "" || m.known[sec] {
			continue
		}
		m.known[sec] = true
		b := []byte(sec)
		m.secrets = append(m.secrets, b)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			m.encoded = append(m.encoded, []byte(enc.EncodeToString(b)))
		}
		lower := hex.EncodeToString(b)
		m.encoded = append(m.encoded, []byte(lower), bytes.ToUpper([]byte(lower)))
		m.rawBy[b[0]] = append(m.rawBy[b[0]], b)
	}
	for _, enc := range m.encoded {
		m.encBy[enc[0]] = append(m.encBy[enc[0]], enc)
	}
	return m
}

// isEscape reports whether c starts an escape that width understands.
func isEscape(c byte) bool { return c == '%' || c == '\\' || c == '+' }

// Scrub returns p with every secret replaced by Mask. It returns p itself
// when there is nothing to replace.
func (s *Scrubber) Scrub(p []byte) []byte {
	if s == nil {
		return p
	}
	m := s.current()
	if m == nil || len(m.secrets) == 0 {
		return p
	}
	var out []byte // nil until the first match
	last := 0      // p[:last] is in out already
	for i := 0; i < len(p); {
		c := p[i]
		if m.rawBy[c] == nil && m.encBy[c] == nil && !isEscape(c) {
			i++
			continue
		}
		end := m.matchAt(p, i)
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
func (m *matcher) matchAt(p []byte, i int) int {
	best := -1
	secrets := m.rawBy[p[i]]
	if isEscape(p[i]) {
		secrets = m.secrets
	}
	for _, sec := range secrets {
		if end, n := prefixAt(p, i, sec); n == len(sec) || n >= MinPartial {
			best = max(best, end)
		}
	}
	for _, enc := range m.encBy[p[i]] {
		if len(p)-i >= len(enc) && p[i+1] == enc[1] && bytes.Equal(p[i:i+len(enc)], enc) {
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
