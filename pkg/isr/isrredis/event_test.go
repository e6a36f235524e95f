package isrredis

import (
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
)

func TestParseMessage(t *testing.T) {
	good := map[string]message{
		"0:1 w 2 /p":   {0, 1, 'w', 2, "/p"},
		"255:1 w 2 /p": {255, 1, 'w', 2, "/p"},
		"4294967295:18446744073709551615 s 9223372036854775807 GET /a b": {4294967295, 18446744073709551615, 's', 9223372036854775807, "GET /a b"},
		"7:3 d 0 k":  {7, 3, 'd', 0, "k"},
		"0 p 4 ab12": {0, 0, 'p', 4, "ab12"},
		"0 b 7 r1":   {0, 0, 'b', 7, "r1"},
		"0 a 7 r 2":  {0, 0, 'a', 7, "r 2"},
	}
	for in, want := range good {
		got, err := parseMessage(in)
		if err != nil || got != want {
			t.Errorf("parseMessage(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
	// A bare sequence number is shard 0 (as published before shards).
	if m, err := parseMessage("5 w 2 /p"); err != nil || m != (message{0, 5, 'w', 2, "/p"}) {
		t.Errorf("parseMessage of a bare sequence number: %+v, %v", m, err)
	}
	for _, in := range []string{"", "1", "1 w 2", "x:1 w 2 /p", "1:x w 2 /p", "4294967296:1 w 2 /p", "1:0 w 2 /p", "1:0 p 2 id", ":1 w 2 /p", "1 w 2 ", "x w 2 /p", "1 ww 2 /p", "1 x 2 /p",
		"1 w -2 /p", "-1 w 2 /p", "0 w 2 /p", "1 p 2 id", "1 b 2 id", "1 a 2 id", "1  w 2 /p", "18446744073709551616 w 1 /p"} {
		if m, err := parseMessage(in); err == nil {
			t.Errorf("parseMessage(%q) = %+v, want an error", in, m)
		}
	}
	kinds := map[byte]isr.EventKind{'w': isr.EventWritten, 's': isr.EventStale, 'd': isr.EventDeleted}
	for b, k := range kinds {
		if e := (message{shard: 3, seq: 5, kind: b, gen: 6, key: "/k"}).event(); e != (isr.Event{Seq: 5, Shard: 3, Kind: k, Gen: 6, Key: "/k"}) {
			t.Errorf("event of %c: %+v", b, e)
		}
	}
}

// FuzzParseEvent checks that no input crashes the parser and that every
// accepted message survives a round trip. Seeds are in testdata/fuzz.
func FuzzParseEvent(f *testing.F) {
	f.Add("1 w 2 /p")
	f.Add("255:7 s 3 /a b")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMessage(s)
		if err != nil {
			return
		}
		if m.key == "" || (m.kind == 'p' || m.kind == 'b' || m.kind == 'a') != m.control() || m.gen < 0 {
			t.Fatalf("parseMessage(%q) accepted %+v", s, m)
		}
		again, err := parseMessage(m.String())
		if err != nil || again != m {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", s, again, err, m)
		}
	})
}
