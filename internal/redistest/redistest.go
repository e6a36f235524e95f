// Package redistest starts a real redis-server for tests, on a free loopback
// port, with no persistence and the DEBUG command enabled, and kills it when
// the test ends.
//
// A missing redis-server fails the test (CI must not pass by skipping),
// unless the environment sets ISR_SKIP_REDIS=1, which skips it.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SkipEnv is the environment variable that, set to 1, skips tests needing
// Redis instead of failing them when redis-server is not on PATH.
const SkipEnv = "ISR_SKIP_REDIS"

// startTimeout bounds how long Start and Restart wait for PING to answer.
const startTimeout = 10 * time.Second

// An Option configures Start.
type Option func(*config)

type config struct {
	args []string
	// sentinelConf, when set, starts the server as a Sentinel: it returns
	// the content of the configuration file for the given port.
	sentinelConf func(port int) string
}

// WithArgs passes extra arguments to redis-server, such as
// "--maxmemory", "1mb". Arguments may override the defaults.
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Server is a redis-server child process bound to 127.0.0.1. Its methods
// are safe for concurrent use.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string
	conf func(port int) string // Sentinel configuration; nil for a server

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exits

	clientOnce sync.Once
	client     *redis.Client // of plainClient
}

// Start starts a redis-server on a free loopback port, waits until it
// answers PING, and kills it at the end of the test.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(SkipEnv) == "1" {
			t.Skipf("redistest: redis-server not found and %s=1: skipping", SkipEnv)
		}
		t.Fatalf("redistest: redis-server not found on PATH (install redis-server, or set %s=1 to skip): %v", SkipEnv, err)
	}
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), args: c.args, conf: c.sentinelConf}
	t.Cleanup(s.Kill)
	var lastErr error
	for range 5 { // another process may take the free port first
		if s.port, err = freePort(); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns a redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Client returns a go-redis client of the server, with short timeouts,
// closed at the end of t.
func (s *Server) Client(t testing.TB) *redis.Client {
	o := testOptions()
	o.Addr = s.Addr()
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testOptions are the short timeouts of the harness's clients.
func testOptions() *redis.Options {
	return &redis.Options{
		DialTimeout:           2 * time.Second,
		ReadTimeout:           2 * time.Second,
		WriteTimeout:          2 * time.Second,
		PoolTimeout:           3 * time.Second,
		MaxRetries:            1,
		ContextTimeoutEnabled: true,
	}
}

// plainClient returns one client of the server, shared by the harness's
// own calls and closed at the end of the test.
func (s *Server) plainClient() *redis.Client {
	s.clientOnce.Do(func() { s.client = s.Client(s.t) })
	return s.client
}

// running reports whether the server process runs (paused or not).
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Stop shuts the server down with SIGTERM and waits for it to exit (it is
// killed after 5s). Data is lost: there is no persistence.
func (s *Server) Stop() { s.signal(syscall.SIGTERM, 5*time.Second) }

// Kill kills the server with SIGKILL and waits for it to exit. It is a
// no-op if the server is not running.
func (s *Server) Kill() { s.signal(syscall.SIGKILL, 0) }

// Pause stops the server process with SIGSTOP: connections stay open but
// nothing answers, as in a hang. Resume undoes it.
func (s *Server) Pause() { s.sendSignal(syscall.SIGSTOP) }

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() { s.sendSignal(syscall.SIGCONT) }

// Restart kills the server if it runs and starts a new, empty one on the
// same port, waiting until it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redistest: restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) sendSignal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// signal sends sig and waits for the exit; after grace (if positive) it
// sends SIGKILL.
func (s *Server) signal(sig syscall.Signal, grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused server must see sig
	_ = s.cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-s.done:
		case <-time.After(grace):
			_ = s.cmd.Process.Kill()
		}
	}
	<-s.done
	s.cmd = nil
}

// start starts redis-server on s.port and waits for PING.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	logFile := filepath.Join(s.dir, "redis.log")
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--enable-debug-command", "local",
		"--dir", s.dir,
		"--logfile", logFile,
		"--daemonize", "no",
	}
	if s.conf != nil {
		// A Sentinel rewrites its configuration file, and takes no
		// persistence or DEBUG settings.
		file := filepath.Join(s.dir, "sentinel.conf")
		if err := os.WriteFile(file, []byte(s.conf(s.port)), 0o600); err != nil {
			return err
		}
		args = []string{file, "--sentinel", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
			"--dir", s.dir, "--logfile", logFile, "--daemonize", "no"}
	}
	cmd := exec.Command(s.bin, append(args, s.args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		err := ping(s.Addr())
		if err == nil {
			s.cmd, s.done = cmd, done
			return nil
		}
		select {
		case <-done:
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("redis-server on port %d exited: %s", s.port, tail(string(log)))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on port %d did not answer PING within %v: %w", s.port, startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends PING on a new connection and expects +PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of a log.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}
