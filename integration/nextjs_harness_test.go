package integration

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nextjsSource is the example Next.js app, relative to this package.
const nextjsSource = "../examples/nextjs"

// Stamps that tell whether node_modules and .next match the sources. They
// are written after a successful npm ci or next build, in the directory
// they describe, and name the hash they were made from.
const (
	npmStamp   = "node_modules/.isrcache-lock-sha256"
	buildStamp = ".next/.isrcache-source-sha256"
	buildLock  = ".isrcache-build.lock" // see lockBuild
)

// nextTimeout bounds npm ci and next build; they normally take seconds.
const nextTimeout = 10 * time.Minute

// nextApp is a copy of the example app running under `next start` on a
// free loopback port, with its own CMS file and render log.
type nextApp struct {
	URL       string // http://127.0.0.1:port
	BuildID   string // .next/BUILD_ID
	PreviewID string // preview.previewModeId of .next/prerender-manifest.json
	// PreviewIDFile holds PreviewID, for ISR_NEXTJS_PREVIEW_ID_FILE.
	PreviewIDFile string
	Dir           string // the copy of the app that runs
	cms           string // CMS_FILE
	renderLog     string // RENDER_LOG
}

// buildNextApp makes sure the example app is installed (npm ci) and built
// (next build) in place, and returns its absolute directory. Both steps are
// skipped when their stamp matches: node_modules is reinstalled only when
// package-lock.json changed, the app rebuilt only when a source file, the
// lockfile or node's version changed. A missing node or npm fails the test.
func buildNextApp(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH: the Next.js tests need node and npm (.ci/run installs them): %v", tool, err)
		}
	}
	src, err := filepath.Abs(nextjsSource)
	if err != nil {
		t.Fatal(err)
	}
	defer lockBuild(t, src, syscall.LOCK_EX)()

	lockHash := hashFiles(t, src, []string{"package-lock.json"})
	if readStamp(src, npmStamp) != lockHash {
		runIn(t, src, nil, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		writeStamp(t, src, npmStamp, lockHash)
	}
	nodeVersion := runIn(t, src, nil, "node", "--version")
	sourceHash := hashFiles(t, src, sourceFiles(t, src)) + " " + strings.TrimSpace(nodeVersion)
	if readStamp(src, buildStamp) != sourceHash {
		if err := os.RemoveAll(filepath.Join(src, ".next")); err != nil {
			t.Fatal(err)
		}
		// The build prerenders the posts from the default CMS file; its
		// renders go to a log of their own, not the app's directory.
		runIn(t, src, []string{"RENDER_LOG=" + filepath.Join(t.TempDir(), "build-renders.log")},
			"node", "node_modules/next/dist/bin/next", "build")
		writeStamp(t, src, buildStamp, sourceHash)
	}
	return src
}

// lockBuild flocks the build lock of the app at src with how (LOCK_EX to
// install or build, LOCK_SH to copy the build) and returns its release, so
// that test binaries running at once never copy a build another one is
// replacing.
func lockBuild(t *testing.T, src string, how int) (release func()) {
	t.Helper()
	lock, err := os.OpenFile(filepath.Join(src, buildLock), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), how); err != nil {
		lock.Close()
		t.Fatalf("flock %s: %v", lock.Name(), err)
	}
	return func() { lock.Close() } // closing releases the lock
}

// sourceFiles lists the app's files that the build depends on, relative to
// src: everything but the install, the build and the local state.
func sourceFiles(t *testing.T, src string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		switch {
		case d.IsDir() && (rel == "node_modules" || rel == ".next"):
			return filepath.SkipDir
		case d.Type().IsRegular() && rel != "renders.log" && rel != buildLock:
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// hashFiles returns the SHA-256 of the names and contents of files in dir,
// in sorted order.
func hashFiles(t *testing.T, dir string, files []string) string {
	t.Helper()
	h := sha256.New()
	for _, f := range slices.Sorted(slices.Values(files)) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func readStamp(dir, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return strings.TrimSpace(string(b))
}

func writeStamp(t *testing.T, dir, name, hash string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(hash+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runIn runs name with args in dir, with env added to a minimal
// environment, and returns its output; it fails the test if the command
// fails, showing the output.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), nextTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(nodeEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// nodeEnv is the environment of every node and npm command.
func nodeEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "NEXT_TELEMETRY_DISABLED=1"}
	for _, k := range []string{"npm_config_registry", "npm_config_cache", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// startNext copies the built app at src into a temporary directory (its
// .next without Next's runtime cache, node_modules as a symlink), so that
// every run starts from the build's pages, and runs `next start` there on
// a free loopback port. The CMS file starts as the app's data/cms.json.
// Next is killed at the end of the test; its output is logged if the test
// failed.
func startNext(t *testing.T, src string) *nextApp {
	t.Helper()
	tmp := t.TempDir()
	app := &nextApp{
		Dir:           filepath.Join(tmp, "app"),
		cms:           filepath.Join(tmp, "cms.json"),
		renderLog:     filepath.Join(tmp, "renders.log"),
		PreviewIDFile: filepath.Join(tmp, "preview-id"),
	}
	release := lockBuild(t, src, syscall.LOCK_SH)
	err := os.CopyFS(filepath.Join(app.Dir, ".next"), os.DirFS(filepath.Join(src, ".next")))
	release()
	if err != nil {
		t.Fatalf("copying the build: %v", err)
	}
	for _, runtime := range []string{"cache", "server/route-cache"} { // Next's ISR cache of earlier runs
		if err := os.RemoveAll(filepath.Join(app.Dir, ".next", runtime)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"package.json", "next.config.mjs"} {
		copyFile(t, filepath.Join(src, f), filepath.Join(app.Dir, f))
	}
	copyFile(t, filepath.Join(src, "data", "cms.json"), app.cms)
	if err := os.Symlink(filepath.Join(src, "node_modules"), filepath.Join(app.Dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	app.BuildID = strings.TrimSpace(readFile(t, filepath.Join(app.Dir, ".next", "BUILD_ID")))
	var manifest struct {
		Preview struct {
			PreviewModeID string `json:"previewModeId"`
		} `json:"preview"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(app.Dir, ".next", "prerender-manifest.json"))), &manifest); err != nil {
		t.Fatalf("prerender-manifest.json: %v", err)
	}
	app.PreviewID = manifest.Preview.PreviewModeID
	if app.PreviewID == "" {
		t.Fatal("prerender-manifest.json has no preview.previewModeId")
	}
	if err := os.WriteFile(app.PreviewIDFile, []byte(app.PreviewID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("node", "node_modules/next/dist/bin/next", "start", "-H", "127.0.0.1", "-p", "0")
	cmd.Dir = app.Dir
	cmd.Env = append(nodeEnv(), "CMS_FILE="+app.cms, "RENDER_LOG="+app.renderLog)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &lineSink{}
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatalf("next start: %v", err)
	}
	exited := make(chan struct{})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(out, line)
			if _, u, ok := strings.Cut(line, "- Local:"); ok {
				select {
				case urls <- strings.TrimSpace(u):
				default:
				}
			}
		}
		_, _ = io.Copy(out, stdout)
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("next start output:\n%s", out)
		}
	})
	select {
	case app.URL = <-urls:
	case <-exited:
		t.Fatalf("next start exited before listening:\n%s", out)
	case <-time.After(eventuallyTimeout):
		t.Fatalf("next start did not print its address within %v:\n%s", eventuallyTimeout, out)
	}
	c := newClient(t)
	eventually(t, "next start answers", func() error {
		a, err := do(t.Context(), c, http.MethodGet, app.URL+"/", "")
		if err == nil && a.Status != http.StatusOK {
			err = fmt.Errorf("GET / = %d", a.Status)
		}
		return err
	})
	return app
}

// setPost changes post id in the CMS file. The file is replaced at once,
// so a render never reads half of it.
func (a *nextApp) setPost(t *testing.T, id, title, body string) {
	t.Helper()
	var cms struct {
		Posts map[string]map[string]string `json:"posts"`
	}
	if err := json.Unmarshal([]byte(readFile(t, a.cms)), &cms); err != nil {
		t.Fatal(err)
	}
	cms.Posts[id] = map[string]string{"title": title, "body": body}
	b, err := json.MarshalIndent(cms, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	tmp := a.cms + ".new"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, a.cms); err != nil {
		t.Fatal(err)
	}
}

// renders returns how many times Next rendered page ("posts" or "legacy")
// for id, from the render log.
func (a *nextApp) renders(t *testing.T, page, id string) int {
	t.Helper()
	b, err := os.ReadFile(a.renderLog)
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) == 4 && f[0] == page && f[1] == id {
			n++
		}
	}
	return n
}

// refresh asks Next itself to render path anew (as isrcache's regenerations
// do, with x-prerender-revalidate), so that Next's own cache of the page is
// fresh for its revalidate time: requests within it get no STALE copy and
// start no background render.
func (a *nextApp) refresh(t *testing.T, c *http.Client, path string) {
	t.Helper()
	ans := mustDo(t, c, http.MethodGet, a.URL+path, "", "x-prerender-revalidate", a.PreviewID)
	if got := ans.Header.Get("X-Nextjs-Cache"); ans.Status != http.StatusOK || got != "REVALIDATED" {
		t.Fatalf("GET %s at Next with x-prerender-revalidate = %d, x-nextjs-cache %q, want 200 REVALIDATED", path, ans.Status, got)
	}
}

// dataPath returns the Pages Router data route of path.
func (a *nextApp) dataPath(path string) string {
	return "/_next/data/" + a.BuildID + path + ".json"
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b := readFile(t, from)
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nextStack is the Next.js tests' world: a redis-server, the example app
// under `next start`, and three replica processes of the cmd/isrcache
// binary in front of it, configured as a user would: ISR_ORIGIN and the
// app's preview id in ISR_NEXTJS_PREVIEW_ID_FILE.
type nextStack struct {
	c    *cluster
	next *nextApp
	reps []*process
}

// newNextStack starts the stack for t from the built app at src and the
// isrcache binary bin.
func newNextStack(t *testing.T, src, bin string) *nextStack {
	t.Helper()
	s := &nextStack{c: newCluster(t), next: startNext(t, src)}
	env := map[string]string{"ISR_ORIGIN": s.next.URL, "ISR_NEXTJS_PREVIEW_ID_FILE": s.next.PreviewIDFile}
	for i := range 3 {
		s.reps = append(s.reps, s.c.startProcess(t, bin, fmt.Sprintf("r%d", i+1), env))
	}
	return s
}
