package k8s_test

import (
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The Secret a Next.js app's deploy writes its preview id to, and its key.
const (
	nextjsSecret = "nextjs-preview-id"
	nextjsKey    = "preview-id"
)

// TestNextjsPreviewID checks where a Next.js origin's preview id goes, in
// every overlay: ISR_NEXTJS_PREVIEW_ID comes from the key preview-id of the
// Secret nextjs-preview-id, which no overlay ships (the Next app's deploy
// creates it, docs/kubernetes.md) and which is optional: without it the
// variable is unset and isrcache starts without an id; with it, isrcache
// reads the id. docs/kubernetes.md shows how to create it.
func TestNextjsPreviewID(t *testing.T) {
	t.Parallel()
	for _, dir := range overlays(t) {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			b, _, p := overlayPod(t, dir)
			var ref *corev1.SecretKeySelector
			for _, e := range p.container.Env {
				if e.Name == "ISR_NEXTJS_PREVIEW_ID" || e.Name == "ISR_NEXTJS_PREVIEW_ID_FILE" {
					if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						t.Fatalf("env %s: want a secretKeyRef (the id is a secret), got %+v", e.Name, e)
					}
					ref = e.ValueFrom.SecretKeyRef
				}
			}
			switch {
			case ref == nil:
				t.Fatal("no ISR_NEXTJS_PREVIEW_ID: the Deployment does not show where the preview id goes")
			case ref.Name != nextjsSecret || ref.Key != nextjsKey:
				t.Errorf("ISR_NEXTJS_PREVIEW_ID from Secret %q key %q, want %s key %s", ref.Name, ref.Key, nextjsSecret, nextjsKey)
			case ref.Optional == nil || !*ref.Optional:
				t.Error("ISR_NEXTJS_PREVIEW_ID is not optional: pods would not start until a Next app wrote its id")
			}
			if b.find("Secret", nextjsSecret) != nil {
				t.Errorf("the overlay ships Secret %s: it is the Next app's, made at its deploy", nextjsSecret)
			}

			env, err := p.env()
			if err != nil {
				t.Fatal(err)
			}
			if cfg := loadConfig(t, p, env); cfg.NextPreviewID != "" {
				t.Errorf("without Secret %s, the preview id is %d bytes, want none", nextjsSecret, len(cfg.NextPreviewID))
			}
			const id = "0123456789abcdef0123456789abcdef"
			p.secrets[nextjsSecret] = map[string]string{nextjsKey: id}
			if env, err = p.env(); err != nil {
				t.Fatal(err)
			}
			if cfg := loadConfig(t, p, env); cfg.NextPreviewID != id {
				t.Errorf("with Secret %s, the preview id is %q, want %q", nextjsSecret, cfg.NextPreviewID, id)
			}
		})
	}
	readme, err := os.ReadFile("../docs/kubernetes.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"create secret generic " + nextjsSecret, "--from-file=" + nextjsKey + "="} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("docs/kubernetes.md does not show %q", want)
		}
	}
}
