package integration

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
)

// linkProxy forwards a replica's TCP connections to Redis and can cut the
// replica's pub/sub link silently: while cut, nothing moves on the
// connections that subscribed, in either direction, and nothing tells
// either end (no RST, no FIN), as on a partitioned network; bytes held
// meanwhile are delivered once the link is healed, as TCP would. The
// replica's other connections keep working.
type linkProxy struct {
	ln     net.Listener
	target string

	mu   sync.Mutex
	cut  bool
	heal chan struct{} // closed when the link is healed
}

// newLinkProxy listens on a free loopback port and forwards to target
// until the end of the test.
func newLinkProxy(t *testing.T, target string) *linkProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &linkProxy{ln: ln, target: target, heal: make(chan struct{})}
	close(p.heal)
	t.Cleanup(func() { _ = ln.Close(); p.setCut(false) })
	go p.accept()
	return p
}

// URL is the redis:// URL of the proxy.
func (p *linkProxy) URL() string { return "redis://" + p.ln.Addr().String() + "/0" }

// setCut cuts the pub/sub link, or heals it.
func (p *linkProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case cut && !p.cut:
		p.heal = make(chan struct{})
	case !cut && p.cut:
		close(p.heal)
	}
	p.cut = cut
}

// hold blocks while the link is cut, for a subscriber connection.
func (p *linkProxy) hold(subscriber *bool, mu *sync.Mutex) {
	mu.Lock()
	sub := *subscriber
	mu.Unlock()
	if !sub {
		return
	}
	p.mu.Lock()
	heal := p.heal
	p.mu.Unlock()
	<-heal
}

func (p *linkProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *linkProxy) serve(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	var mu sync.Mutex
	subscriber := false
	done := make(chan struct{}, 2)
	pipe := func(dst io.Writer, src io.Reader, upstream bool) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if upstream && bytes.Contains(bytes.ToLower(buf[:n]), []byte("subscribe")) {
					mu.Lock()
					subscriber = true
					mu.Unlock()
				}
				p.hold(&subscriber, &mu)
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go pipe(s, c, true)
	go pipe(c, s, false)
	<-done
}
