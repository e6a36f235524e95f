package main

import (
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
)

// asyncWriter is the log's WriteSyncer: Write appends the line to a buffer
// and returns; a goroutine of its own (started by the first Write) writes
// the buffer out every interval, or as soon as it holds size bytes. A
// request thus never waits for write(2), as it does with
// zapcore.BufferedWriteSyncer, which writes a full buffer inline under its
// lock. Lines keep their order. When 8 times size bytes are waiting (the
// output is slower than the log), Write waits for the writer rather than
// grow without bound. Sync writes what is buffered before it returns; Stop
// does too, and stops the goroutine.
type asyncWriter struct {
	out      zapcore.WriteSyncer
	size     int
	interval time.Duration

	mu      sync.Mutex
	drained *sync.Cond // signalled after each write of the buffer
	buf     []byte
	spare   []byte
	started bool
	stopped bool
	kick    chan struct{} // capacity 1: the buffer is full
	done    chan struct{} // closed when the goroutine returned

	wmu sync.Mutex // held while a batch is taken and written: keeps order
}

func newAsyncWriter(out zapcore.WriteSyncer, size int, interval time.Duration) *asyncWriter {
	w := &asyncWriter{out: out, size: size, interval: interval, kick: make(chan struct{}, 1), done: make(chan struct{})}
	w.drained = sync.NewCond(&w.mu)
	return w
}

// Write buffers p (one log entry) and returns at once, unless 8 times the
// buffer size is waiting already.
func (w *asyncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.stopped { // after Stop: write through, after what was buffered
		w.mu.Unlock()
		w.wmu.Lock()
		defer w.wmu.Unlock()
		return w.out.Write(p)
	}
	defer w.mu.Unlock()
	if !w.started {
		w.started = true
		go w.run()
	}
	for len(w.buf) >= 8*w.size && !w.stopped {
		w.drained.Wait()
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= w.size {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// run writes the buffer out every interval, and when kicked, until Stop.
func (w *asyncWriter) run() {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.kick:
		}
		if stopped, _ := w.flush(); stopped {
			return
		}
	}
}

// flush writes what is buffered, and reports whether Stop was called
// before it took the buffer.
func (w *asyncWriter) flush() (stopped bool, err error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	batch := w.buf
	w.buf, w.spare = w.spare[:0], nil
	stopped = w.stopped
	w.mu.Unlock()
	if len(batch) > 0 {
		_, err = w.out.Write(batch)
	}
	w.mu.Lock()
	w.spare = batch[:0]
	w.drained.Broadcast()
	w.mu.Unlock()
	return stopped, err
}

// Sync writes what is buffered, then syncs the output.
func (w *asyncWriter) Sync() error {
	if _, err := w.flush(); err != nil {
		return err
	}
	return w.out.Sync()
}

// Stop writes what is buffered and stops the goroutine. Later writes go
// straight to the output.
func (w *asyncWriter) Stop() error {
	w.mu.Lock()
	w.stopped = true
	started := w.started
	w.drained.Broadcast()
	w.mu.Unlock()
	if started {
		select {
		case w.kick <- struct{}{}:
		default:
		}
		<-w.done
	}
	return w.Sync()
}
