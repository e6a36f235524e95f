package k8s_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// An object is one decoded manifest: a pointer to a k8s.io/api struct.
type object struct {
	file, kind, name string
	obj              any
}

// kinds maps each kind the manifests may use to its apiVersion and a
// constructor of its API type. A kind not listed here fails the tests.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"Namespace":               {"v1", func() any { return new(corev1.Namespace) }},
	"Service":                 {"v1", func() any { return new(corev1.Service) }},
	"Secret":                  {"v1", func() any { return new(corev1.Secret) }},
	"ConfigMap":               {"v1", func() any { return new(corev1.ConfigMap) }},
	"Deployment":              {"apps/v1", func() any { return new(appsv1.Deployment) }},
	"StatefulSet":             {"apps/v1", func() any { return new(appsv1.StatefulSet) }},
	"HorizontalPodAutoscaler": {"autoscaling/v2", func() any { return new(autoscalingv2.HorizontalPodAutoscaler) }},
	"PodDisruptionBudget":     {"policy/v1", func() any { return new(policyv1.PodDisruptionBudget) }},
	"NetworkPolicy":           {"networking.k8s.io/v1", func() any { return new(networkingv1.NetworkPolicy) }},
	"Ingress":                 {"networking.k8s.io/v1", func() any { return new(networkingv1.Ingress) }},
}

// decodeFile strictly decodes every YAML document of the manifest file at
// path. Documents holding only comments are skipped.
func decodeFile(t *testing.T, path string) []object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []object
	for i, doc := range splitDocuments(data) {
		o, err := decodeStrict(doc)
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, i+1, err)
		}
		if o.obj != nil {
			o.file = path
			objs = append(objs, o)
		}
	}
	return objs
}

// documentSeparator is a YAML "---" line.
var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// splitDocuments splits a multi-document YAML stream.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range documentSeparator.Split(string(data), -1) {
		docs = append(docs, []byte(d))
	}
	return docs
}

// decodeStrict decodes one YAML document into the API type of its kind.
// Duplicate keys, unknown or misplaced fields (matched case-sensitively) and
// a wrong apiVersion are errors. An empty document returns a zero object.
func decodeStrict(doc []byte) (object, error) {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return object{}, err
	}
	if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
		return object{}, nil
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(j, &head); err != nil {
		return object{}, err
	}
	k, ok := kinds[head.Kind]
	switch {
	case !ok:
		return object{}, fmt.Errorf("kind %q is not one the tests know", head.Kind)
	case head.APIVersion != k.apiVersion:
		return object{}, fmt.Errorf("%s %q: apiVersion %q, want %q", head.Kind, head.Metadata.Name, head.APIVersion, k.apiVersion)
	case head.Metadata.Name == "":
		return object{}, fmt.Errorf("%s without metadata.name", head.Kind)
	}
	obj := k.new()
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return object{}, fmt.Errorf("%s %q: %w", head.Kind, head.Metadata.Name, err)
	}
	if err := sameKeys(j, obj); err != nil {
		return object{}, fmt.Errorf("%s %q: %w", head.Kind, head.Metadata.Name, err)
	}
	return object{kind: head.Kind, name: head.Metadata.Name, obj: obj}, nil
}

// sameKeys reports a key of the document that the decoded object does not
// encode again. encoding/json matches field names case-insensitively, the
// API server does not: "Replicas" must fail as it would there.
func sameKeys(doc []byte, obj any) error {
	again, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	var a, b any
	if err := json.Unmarshal(doc, &a); err != nil {
		return err
	}
	if err := json.Unmarshal(again, &b); err != nil {
		return err
	}
	return keysIn(a, b, "")
}

// keysIn checks that every map key of a, at any depth, is in b. Empty
// values are skipped: the API types omit them when encoding.
func keysIn(a, b any, path string) error {
	switch a := a.(type) {
	case map[string]any:
		bm, _ := b.(map[string]any)
		for k, v := range a {
			bv, ok := bm[k]
			if !ok && !empty(v) {
				return fmt.Errorf("unknown field %q", strings.TrimPrefix(path+"."+k, "."))
			}
			if err := keysIn(v, bv, path+"."+k); err != nil {
				return err
			}
		}
	case []any:
		bl, _ := b.([]any)
		for i, v := range a {
			if i < len(bl) {
				if err := keysIn(v, bl[i], fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// empty reports whether v is null, false, 0, "" or an empty map or list:
// values the API types may omit when encoding.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// TestDecodeStrictRefuses shows the decoder refuses what the API server
// would: misplaced, unknown and miscased fields, and duplicate keys.
func TestDecodeStrictRefuses(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"misplaced": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    replicas: 3\n",
		"unknown":   "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  prots: []\n",
		"miscased":  "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  Type: ClusterIP\n",
		"nested":    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{Port: 80}]\n",
		"duplicate": "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nmetadata: {name: b}\n",
		"version":   "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\n",
		"kind":      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
	}
	for name, doc := range bad {
		if _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error:\n%s", name, doc)
		}
	}
	good := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: 0\n  paused: false\n"
	if _, err := decodeStrict([]byte(good)); err != nil {
		t.Errorf("zero values: %v", err)
	}
	if got := len(splitDocuments([]byte("a: 1\n---\nb: 2\n--- # c\nc: 3\n"))); got != 3 {
		t.Errorf("splitDocuments: %d documents, want 3", got)
	}
}
