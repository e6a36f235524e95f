package k8s_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// A kustomization is the part of kustomization.yaml these files use.
// Decoding is strict: a field not listed here fails the tests, so a new
// kustomize feature gets a matching check here before it is used.
type kustomization struct {
	APIVersion         string       `json:"apiVersion"`
	Kind               string       `json:"kind"`
	Namespace          string       `json:"namespace"`
	Labels             []labelPairs `json:"labels"`
	Resources          []string     `json:"resources"`
	Components         []string     `json:"components"`
	ConfigMapGenerator []generator  `json:"configMapGenerator"`
	Images             []image      `json:"images"`
}

type labelPairs struct {
	Pairs map[string]string `json:"pairs"`
}

// A generator is a configMapGenerator entry.
type generator struct {
	Name     string   `json:"name"`
	Behavior string   `json:"behavior"` // "" (create), merge or replace
	Files    []string `json:"files"`    // "path" or "key=path"
	Literals []string `json:"literals"` // "key=value"
}

type image struct {
	Name    string `json:"name"`
	NewName string `json:"newName"`
	NewTag  string `json:"newTag"`
}

// readKustomization strictly decodes dir/kustomization.yaml.
func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	want := map[string]string{"Kustomization": "kustomize.config.k8s.io/v1beta1", "Component": "kustomize.config.k8s.io/v1alpha1"}
	if want[k.Kind] == "" || want[k.Kind] != k.APIVersion {
		t.Fatalf("%s/kustomization.yaml: %s %s, want a Kustomization or Component", dir, k.APIVersion, k.Kind)
	}
	return k
}

// genFile splits a generator's "key=path" file entry.
func genFile(entry string) (key, path string) {
	if k, p, ok := strings.Cut(entry, "="); ok {
		return k, p
	}
	return filepath.Base(entry), entry
}

// A bundle is what kubectl apply -k would send, as far as the tests need:
// the manifests and the generated ConfigMaps' data by name (before the
// hash suffix).
type bundle struct {
	objects    []object
	configMaps map[string]map[string]string
}

// build collects the kustomization in dir into b, as kustomize does:
// resources (files and directories) first, then components, then the
// directory's own generators.
func build(t *testing.T, dir string, b *bundle) {
	t.Helper()
	k := readKustomization(t, dir)
	if b.configMaps == nil {
		b.configMaps = map[string]map[string]string{}
	}
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			build(t, p, b)
			continue
		}
		b.objects = append(b.objects, decodeFile(t, p)...)
	}
	for _, c := range k.Components {
		build(t, filepath.Join(dir, c), b)
	}
	for _, g := range k.ConfigMapGenerator {
		data := map[string]string{}
		for _, f := range g.Files {
			key, path := genFile(f)
			content, err := os.ReadFile(filepath.Join(dir, path))
			if err != nil {
				t.Fatal(err)
			}
			data[key] = string(content)
		}
		for _, l := range g.Literals {
			key, value, _ := strings.Cut(l, "=")
			data[key] = value
		}
		old, exists := b.configMaps[g.Name]
		switch {
		case g.Behavior == "merge" && exists:
			for k, v := range data {
				old[k] = v
			}
		case g.Behavior == "replace" && exists, g.Behavior == "" && !exists, g.Behavior == "create" && !exists:
			b.configMaps[g.Name] = data
		default:
			t.Fatalf("%s: configMapGenerator %q: behavior %q but the ConfigMap exists: %v", dir, g.Name, g.Behavior, exists)
		}
	}
}

// find returns the bundle's object of kind and name, or nil.
func (b bundle) find(kind, name string) any {
	for _, o := range b.objects {
		if o.kind == kind && o.name == name {
			return o.obj
		}
	}
	return nil
}

// all returns the bundle's objects of kind, decoded as T.
func all[T any](b bundle, kind string) []*T {
	var out []*T
	for _, o := range b.objects {
		if o.kind == kind {
			out = append(out, o.obj.(*T))
		}
	}
	return out
}

// kustomizationDirs lists every directory under root holding a
// kustomization.yaml.
func kustomizationDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestKustomizationsListEveryFile checks that every path a kustomization
// names exists, and that every YAML file under k8s/ is named by one, so no
// manifest is left out of kubectl apply -k by mistake.
func TestKustomizationsListEveryFile(t *testing.T) {
	t.Parallel()
	listed := map[string]bool{}
	for _, dir := range kustomizationDirs(t, ".") {
		k := readKustomization(t, dir)
		var paths []string
		paths = append(paths, k.Resources...)
		paths = append(paths, k.Components...)
		for _, g := range k.ConfigMapGenerator {
			for _, f := range g.Files {
				_, p := genFile(f)
				paths = append(paths, p)
			}
		}
		for _, p := range paths {
			p = filepath.Join(dir, p)
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				t.Errorf("%s/kustomization.yaml names %s: %v", dir, p, err)
			case fi.IsDir():
				if _, err := os.Stat(filepath.Join(p, "kustomization.yaml")); err != nil {
					t.Errorf("%s/kustomization.yaml names directory %s without a kustomization.yaml", dir, p)
				}
			default:
				listed[p] = true
			}
		}
	}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		ext := filepath.Ext(p)
		if err == nil && (ext == ".yaml" || ext == ".yml") && d.Name() != "kustomization.yaml" && !listed[p] {
			t.Errorf("%s is not named by any kustomization.yaml", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) == 0 {
		t.Fatal("no kustomization lists a file")
	}
}

// TestManifestsDecodeStrictly decodes every resource file of every
// kustomization into the Kubernetes API types.
func TestManifestsDecodeStrictly(t *testing.T) {
	t.Parallel()
	n := 0
	for _, dir := range kustomizationDirs(t, ".") {
		for _, r := range readKustomization(t, dir).Resources {
			p := filepath.Join(dir, r)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				n += len(decodeFile(t, p))
			}
		}
	}
	if n == 0 {
		t.Fatal("no manifests decoded")
	}
}

// overlays lists the directories under overlays/: the deployable builds.
func overlays(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("overlays/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no overlays: %v", err)
	}
	return slices.DeleteFunc(dirs, func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "kustomization.yaml"))
		return err != nil
	})
}

// jsonString is a helper for error messages.
func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
