package isrredis

import (
	"errors"
	"strconv"
	"strings"

	"github.com/isrcache/isrcache/pkg/isr"
)

// message is a parsed pub/sub message: "<shard>:<seq> <kind> <gen> <key>"
// for an event, "0 <kind> <gen> <key>" for a control message. The key is
// the rest of the line and may hold spaces.
type message struct {
	shard uint32
	seq   uint64
	kind  byte // 'w', 's', 'd'; or a control message: 'p' (a listener's probe), 'b' (a barrier), 'a' (its acknowledgement)
	gen   int64
	key   string
}

var errMalformed = errors.New("isrredis: malformed event")

// parseMessage parses a message published by the scripts or a listener.
// Events (w, s, d) have seq >= 1 (in "<shard>:<seq>"; a bare "<seq>" is
// shard 0); control messages have seq 0: probes
// ("0 p <n> <id>"), barriers ("0 b <nonce> <name>") and acknowledgements
// ("0 a <nonce> <name>").
func parseMessage(s string) (message, error) {
	f := strings.SplitN(s, " ", 4)
	if len(f) != 4 || len(f[1]) != 1 || f[3] == "" {
		return message{}, errMalformed
	}
	var shard uint64
	num := f[0]
	if sh, n, ok := strings.Cut(num, ":"); ok {
		var err error
		if shard, err = strconv.ParseUint(sh, 10, 32); err != nil {
			return message{}, errMalformed
		}
		num = n
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return message{}, errMalformed
	}
	gen, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || gen < 0 {
		return message{}, errMalformed
	}
	m := message{shard: uint32(shard), seq: seq, kind: f[1][0], gen: gen, key: f[3]}
	switch m.kind {
	case 'w', 's', 'd':
		if seq == 0 {
			return message{}, errMalformed
		}
	case 'p', 'b', 'a':
		if seq != 0 || shard != 0 {
			return message{}, errMalformed
		}
	default:
		return message{}, errMalformed
	}
	return m, nil
}

// control reports whether m is a control message, not an event.
func (m message) control() bool { return m.seq == 0 }

// String formats m the way parseMessage reads it.
func (m message) String() string {
	num := strconv.FormatUint(m.seq, 10)
	if !m.control() {
		num = strconv.FormatUint(uint64(m.shard), 10) + ":" + num
	}
	return num + " " + string(m.kind) + " " +
		strconv.FormatInt(m.gen, 10) + " " + m.key
}

// event converts an event message (not a probe) to an isr.Event.
func (m message) event() isr.Event {
	e := isr.Event{Seq: m.seq, Shard: m.shard, Key: m.key, Gen: m.gen}
	switch m.kind {
	case 'w':
		e.Kind = isr.EventWritten
	case 's':
		e.Kind = isr.EventStale
	case 'd':
		e.Kind = isr.EventDeleted
	}
	return e
}
