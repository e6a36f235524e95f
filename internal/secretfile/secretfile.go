// Package secretfile reads secrets from files, as mounted by Kubernetes
// Secret volumes, Docker secrets or a volume shared with the program that
// writes them, and reads a file again when it changes.
package secretfile

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Read returns the secret in the file at path: its content without
// trailing whitespace. An unreadable or empty file is an error; the error
// never holds the content.
func Read(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), " \t\r\n")
	if s == "" {
		return "", fmt.Errorf("%q is empty", path)
	}
	return s, nil
}

// A File is a secret file that is read again when it changes: Value looks
// at the file's modification time and size at most once per CheckEvery, and
// re-reads it when they moved (a Kubernetes Secret volume swaps a symlink;
// a writer replaces or rewrites the file). A file that cannot be read, or
// is empty, keeps the last value: a secret is never dropped by a half
// written update. Create one with [Open]. It starts no goroutine and is
// safe for concurrent use.
type File struct {
	path  string
	now   func() time.Time
	every time.Duration

	mu      sync.Mutex
	value   string
	mod     time.Time
	size    int64
	checked time.Time
}

// Options configure a [File]. The zero value selects the defaults.
type Options struct {
	// CheckEvery is the least time between two looks at the file. Zero
	// means one second.
	CheckEvery time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Open reads the secret file at path, which must hold a secret, and
// returns a File that follows its changes.
func Open(path string, opts Options) (*File, error) {
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &File{path: path, now: opts.Now, every: opts.CheckEvery}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if f.value, err = Read(path); err != nil {
		return nil, err
	}
	f.mod, f.size, f.checked = st.ModTime(), st.Size(), f.now()
	return f, nil
}

// Value returns the secret, read again if the file changed since.
func (f *File) Value() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if now.Sub(f.checked) < f.every {
		return f.value
	}
	f.checked = now
	st, err := os.Stat(f.path)
	if err != nil || (st.ModTime().Equal(f.mod) && st.Size() == f.size) {
		return f.value
	}
	if s, err := Read(f.path); err == nil {
		f.value, f.mod, f.size = s, st.ModTime(), st.Size()
	}
	return f.value
}
