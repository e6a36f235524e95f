package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds cmd/isrcache with the race detector into a temporary
// directory and returns the binary's path.
func buildBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "isrcache")
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-race", "-o", bin, "github.com/isrcache/isrcache/cmd/isrcache")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -race ./cmd/isrcache: %v\n%s", err, out)
	}
	return bin
}

// process is a replica running as a child process of the cmd/isrcache
// binary.
type process struct {
	Name   string
	URL    string // base URL, http://127.0.0.1:port
	cmd    *exec.Cmd
	stdout *lineSink // JSON log lines
	stderr *lineSink
	exited chan struct{} // closed when the process exited
	err    error         // Wait's result, set before exited is closed
}

// startProcess starts bin as replica name, configured by the environment:
// ISR_ADDR 127.0.0.1:0, this cluster's origin, Redis and testSecret, debug
// logs, no drain delay, then env's entries. It returns once the replica
// listens (its address is read from its "listening" log line), /readyz
// answers 200 and it subscribed to the event channel. The process is killed
// at the end of the test if still running; its output is logged if the
// test failed, and a data race it reported fails the test.
func (c *cluster) startProcess(t *testing.T, bin, name string, env map[string]string) *process {
	t.Helper()
	cfg := map[string]string{
		"ISR_ADDR":              "127.0.0.1:0",
		"ISR_ORIGIN":            c.origin.URL,
		"ISR_REDIS_URL":         c.redisURL,
		"ISR_REVALIDATE_SECRET": testSecret,
		"ISR_LOG_LEVEL":         "debug",
		"ISR_DRAIN_DELAY":       "0",
		"ISR_SHUTDOWN_TIMEOUT":  "10s",
	}
	maps.Copy(cfg, env)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GORACE=halt_on_error=0"}
	for k, v := range cfg {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{Name: name, cmd: cmd, stdout: &lineSink{}, stderr: &lineSink{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start %s: %v", name, bin, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
		if strings.Contains(p.stderr.String(), "DATA RACE") {
			t.Errorf("%s reported a data race", name)
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", name, p.stdout, name, p.stderr)
		}
	})

	eventually(t, name+" listens", func() error {
		select {
		case <-p.exited:
			return fmt.Errorf("exited: %v", p.err)
		default:
		}
		if l := p.stdout.find("listening"); l != nil {
			p.URL = "http://" + fmt.Sprint(l["addr"])
			return nil
		}
		return errors.New("no listening line on stdout yet")
	})
	eventually(t, name+" is ready", func() error {
		a, err := do(t.Context(), c.client, http.MethodGet, p.URL+"/readyz", "")
		if err == nil && a.Status != http.StatusOK {
			err = fmt.Errorf("GET /readyz = %v, want 200", a)
		}
		return err
	})
	// The engine counts a hot-cache flush for the Reset event that every
	// confirmed subscription starts with: the replica hears events from
	// then on. (Counting Redis's subscribers instead races with the
	// connections of killed replicas that proxies keep open.)
	eventually(t, name+" subscribed to events", func() error {
		a, err := do(t.Context(), c.client, http.MethodGet, p.URL+"/metrics", "")
		if err != nil {
			return err
		}
		m := resetFlushes.FindStringSubmatch(a.Body)
		if m == nil || m[1] == "0" {
			return fmt.Errorf("no Reset event applied yet (%q)", m)
		}
		return nil
	})
	return p
}

// resetFlushes finds the count of hot-cache flushes by Reset events in a
// replica's /metrics.
var resetFlushes = regexp.MustCompile(`(?m)^isr_l1_flushes_total\{reason="reset"\} ([0-9.e+]+)$`)

// signal sends sig to the process.
func (p *process) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: signal %v: %v", p.Name, sig, err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(eventuallyTimeout):
		t.Fatalf("%s did not exit within %v", p.Name, eventuallyTimeout)
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("%s: wait: %v", p.Name, p.err)
	return -1
}

// lineSink collects a process's output; it is goroutine-safe.
type lineSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *lineSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// find returns the first JSON log line whose msg is msg, or nil.
func (s *lineSink) find(msg string) map[string]any {
	for line := range strings.Lines(s.String()) {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == msg {
			return l
		}
	}
	return nil
}
