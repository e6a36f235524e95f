package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

// syncBuffer is a goroutine-safe output that counts its writes.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
	gate   chan struct{} // if set, each Write waits for a value
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) Sync() error { return nil }

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ zapcore.WriteSyncer = (*syncBuffer)(nil)

func TestAsyncWriterKeepsEveryLineInOrder(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	w := newAsyncWriter(out, 64, time.Hour)
	if _, err := w.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "" {
		t.Fatal("a line under the buffer size was written at once")
	}
	if err := w.Sync(); err != nil || out.String() != "first\n" {
		t.Fatalf("after Sync: %q, %v", out.String(), err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				_, _ = fmt.Fprintf(w, "g%d %d\n", g, i)
			}
		}()
	}
	wg.Wait()
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("after stop\n"))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1+4*500+1 || lines[len(lines)-1] != "after stop" {
		t.Fatalf("%d lines, last %q; want 2002, the write after Stop last", len(lines), lines[len(lines)-1])
	}
	next := map[string]int{}
	for _, l := range lines[1 : len(lines)-1] {
		var g string
		var i int
		if _, err := fmt.Sscanf(l, "%s %d", &g, &i); err != nil || i != next[g] {
			t.Fatalf("line %q out of order (want %s %d)", l, g, next[g])
		}
		next[g]++
	}
	if out.writes > 500 {
		t.Errorf("%d writes for 2002 lines: not batched", out.writes)
	}
}

// TestAsyncWriterBackpressure: while the output is stuck, Write returns
// until 8 buffers wait, then waits for the output.
func TestAsyncWriterBackpressure(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{gate: make(chan struct{})}
	w := newAsyncWriter(out, 10, time.Hour)
	line := []byte("0123456789\n")
	_, _ = w.Write(line) // fills the buffer: the writer takes it and blocks
	wrote := make(chan struct{})
	go func() {
		for range 20 {
			_, _ = w.Write(line)
		}
		close(wrote)
	}()
	select {
	case <-wrote:
		t.Fatal("20 more lines were buffered while the output was stuck")
	case <-time.After(50 * time.Millisecond):
	}
	go func() {
		for range 100 {
			out.gate <- struct{}{}
		}
	}()
	<-wrote
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 21 {
		t.Errorf("%d lines written, want 21", n)
	}
}
