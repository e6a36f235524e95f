package secretfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	write(t, path, "tok en\t\r\n\n ")
	if s, err := Read(path); err != nil || s != "tok en" {
		t.Fatalf("Read = %q, %v; want %q", s, err, "tok en")
	}
	write(t, path, " \n")
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("Read(blank) = %v, want an error saying it is empty", err)
	}
	if _, err := Read(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Read(missing) succeeded")
	}
}

// TestFileFollowsChanges steps the clock: a rewritten file is read again
// once CheckEvery has passed; a blank or removed file keeps the last
// secret; a Kubernetes-style symlink swap is followed.
func TestFileFollowsChanges(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	// As a Secret volume: id -> ..data/id, ..data -> a timestamped dir.
	for _, d := range []string{"v1", "v2", "v3"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "v1", "id"), "first\n")
	if err := os.Symlink("v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id")
	if err := os.Symlink(filepath.Join("..data", "id"), path); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, Options{CheckEvery: time.Second, Now: clock})
	if err != nil || f.Value() != "first" {
		t.Fatalf("Open = %v; Value %q", err, f.Value())
	}
	swap := func(to string) {
		t.Helper()
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(to, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "v2", "id"), "second-id\n")
	swap("v2")
	if got := f.Value(); got != "first" {
		t.Fatalf("Value within CheckEvery = %q, want the old %q", got, "first")
	}
	now = now.Add(time.Second)
	if got := f.Value(); got != "second-id" {
		t.Fatalf("Value after the swap = %q, want %q", got, "second-id")
	}
	write(t, filepath.Join(dir, "v3", "id"), "\n")
	swap("v3")
	now = now.Add(time.Second)
	if got := f.Value(); got != "second-id" {
		t.Fatalf("Value after a blank update = %q, want the last secret", got)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if got := f.Value(); got != "second-id" {
		t.Fatalf("Value after the file was removed = %q, want the last secret", got)
	}
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("Open(removed file) succeeded")
	}
}
