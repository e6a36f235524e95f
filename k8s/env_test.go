package k8s_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// A pod is one container of a workload, with what its environment and
// volumes draw on.
type pod struct {
	spec      corev1.PodSpec
	container corev1.Container
	// secrets holds the Secrets' data by name; configMaps the ConfigMaps'.
	secrets, configMaps map[string]map[string]string
}

// dependentVar is a $(NAME) reference in an env value.
var dependentVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// env resolves the container's environment as the kubelet does: values
// with $(NAME) expanded from the variables defined before, ConfigMap and
// Secret keys (a missing key is an error, unless the reference is optional:
// then the variable is not set), and resource fields.
func (p pod) env() (map[string]string, error) {
	out := map[string]string{}
	for _, e := range p.container.Env {
		v, err := p.envValue(e, out)
		if errors.Is(err, errMissing) && optionalRef(e) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		out[e.Name] = v
	}
	return out, nil
}

func (p pod) envValue(e corev1.EnvVar, defined map[string]string) (string, error) {
	from := e.ValueFrom
	switch {
	case from == nil:
		return dependentVar.ReplaceAllStringFunc(e.Value, func(ref string) string {
			if v, ok := defined[ref[2:len(ref)-1]]; ok {
				return v
			}
			return ref
		}), nil
	case from.SecretKeyRef != nil:
		return lookup(p.secrets, "Secret", from.SecretKeyRef.Name, from.SecretKeyRef.Key)
	case from.ConfigMapKeyRef != nil:
		return lookup(p.configMaps, "ConfigMap", from.ConfigMapKeyRef.Name, from.ConfigMapKeyRef.Key)
	case from.ResourceFieldRef != nil:
		return p.resourceField(*from.ResourceFieldRef)
	}
	return "", fmt.Errorf("unsupported valueFrom %+v", from)
}

// resourceField is the kubelet's value of a resourceFieldRef: the
// container's request or limit divided by the divisor, rounded up.
func (p pod) resourceField(ref corev1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" && ref.ContainerName != p.container.Name {
		return "", fmt.Errorf("resourceFieldRef names container %q", ref.ContainerName)
	}
	kind, res, _ := strings.Cut(ref.Resource, ".")
	list := map[string]corev1.ResourceList{"limits": p.container.Resources.Limits, "requests": p.container.Resources.Requests}[kind]
	q, ok := list[corev1.ResourceName(res)]
	if !ok {
		return "", fmt.Errorf("resourceFieldRef %s: the container sets no such value", ref.Resource)
	}
	div := ref.Divisor.Value()
	if div == 0 {
		div = 1
	}
	return fmt.Sprint((q.Value() + div - 1) / div), nil
}

// errMissing is lookup's error for a ConfigMap, Secret or key that does not
// exist.
var errMissing = errors.New("missing")

// lookup returns key of the named ConfigMap or Secret in maps.
func lookup(maps map[string]map[string]string, kind, name, key string) (string, error) {
	data, ok := maps[name]
	if !ok {
		return "", fmt.Errorf("%s %q does not exist: %w", kind, name, errMissing)
	}
	v, ok := data[key]
	if !ok {
		return "", fmt.Errorf("%s %q has no key %q: %w", kind, name, key, errMissing)
	}
	return v, nil
}

// optionalRef tells whether e refers to a ConfigMap or Secret key marked
// optional.
func optionalRef(e corev1.EnvVar) bool {
	from := e.ValueFrom
	switch {
	case from == nil:
		return false
	case from.SecretKeyRef != nil:
		return from.SecretKeyRef.Optional != nil && *from.SecretKeyRef.Optional
	case from.ConfigMapKeyRef != nil:
		return from.ConfigMapKeyRef.Optional != nil && *from.ConfigMapKeyRef.Optional
	}
	return false
}

// mountFiles writes the files the container's ConfigMap and Secret volumes
// would show under dir, and returns each file's path in the container
// mapped to its copy. A key the volume names but its source lacks is an
// error.
func (p pod) mountFiles(t *testing.T, dir string) (map[string]string, error) {
	t.Helper()
	files := map[string]string{}
	for _, m := range p.container.VolumeMounts {
		data, items, err := p.volume(m.Name)
		if err != nil {
			return nil, err
		}
		if m.SubPath != "" {
			return nil, fmt.Errorf("volume mount %s uses subPath: its files would never be updated", m.Name)
		}
		if len(items) == 0 {
			for k := range data {
				items = append(items, corev1.KeyToPath{Key: k, Path: k})
			}
		}
		for _, it := range items {
			content, ok := data[it.Key]
			if !ok {
				return nil, fmt.Errorf("volume %s: key %q does not exist", m.Name, it.Key)
			}
			copyPath := filepath.Join(dir, m.Name, it.Path)
			if err := os.MkdirAll(filepath.Dir(copyPath), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(copyPath, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			files[filepath.Join(m.MountPath, it.Path)] = copyPath
		}
	}
	return files, nil
}

// volume returns the data and items of the pod's ConfigMap or Secret
// volume name.
func (p pod) volume(name string) (map[string]string, []corev1.KeyToPath, error) {
	for _, v := range p.spec.Volumes {
		switch {
		case v.Name != name:
		case v.ConfigMap != nil:
			data, ok := p.configMaps[v.ConfigMap.Name]
			if !ok {
				return nil, nil, fmt.Errorf("volume %s: ConfigMap %q does not exist", name, v.ConfigMap.Name)
			}
			return data, v.ConfigMap.Items, nil
		case v.Secret != nil:
			data, ok := p.secrets[v.Secret.SecretName]
			if !ok {
				return nil, nil, fmt.Errorf("volume %s: Secret %q does not exist", name, v.Secret.SecretName)
			}
			return data, v.Secret.Items, nil
		case v.EmptyDir != nil:
			return nil, nil, nil
		default:
			return nil, nil, fmt.Errorf("volume %s: unsupported source", name)
		}
	}
	return nil, nil, fmt.Errorf("volume mount %s: no such volume", name)
}

// secretData returns a Secret's data, stringData winning as in the API.
func secretData(s *corev1.Secret) map[string]string {
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	for k, v := range s.StringData {
		out[k] = v
	}
	return out
}
