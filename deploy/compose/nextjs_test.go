package compose

import (
	"path"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/isrcache/isrcache/internal/config"
)

// The nextjs profile's files and names.
const (
	nextjsService = "nextjs"
	nextjsEnvFile = "deploy/compose/nextjs.env"
	nextjsSource  = "examples/nextjs"
)

// TestComposeNextjsProfile checks the stack of
// `docker compose --env-file deploy/compose/nextjs.env up`: the example
// Next.js app runs (built from examples/nextjs), the replicas use it as
// their origin and wait for it to be healthy, and they read its preview id
// from the file it writes on the volume they share, read-only.
func TestComposeNextjsProfile(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	p := loadProject(t, nil, nextjsEnvFile)
	if _, ok := p.Services[nextjsService]; !ok {
		t.Fatalf("%s does not enable the %s service (COMPOSE_PROFILES)", nextjsEnvFile, nextjsService)
	}
	if _, ok := loadProject(t, nil).Services[nextjsService]; ok {
		t.Errorf("the %s service runs without its profile", nextjsService)
	}
	n := p.Services[nextjsService]
	if n.Build == nil || n.Build.Context != filepath.Join(root, nextjsSource) {
		t.Errorf("%s: build %+v, want the context %s", nextjsService, n.Build, nextjsSource)
	}
	d := readDockerfile(t, filepath.Join(root, nextjsSource, "Dockerfile"))
	last := d.stages[len(d.stages)-1]
	if expose := last.find("EXPOSE"); len(expose) != 1 || expose[0].args != "3000" {
		t.Errorf("%s/Dockerfile: EXPOSE %+v, want 3000 (next start -p 3000)", nextjsSource, expose)
	}
	if n.HealthCheck == nil || len(n.HealthCheck.Test) < 2 || n.HealthCheck.Test[0] != "CMD" {
		t.Errorf("%s: healthcheck %+v, want a CMD test", nextjsService, n.HealthCheck)
	} else {
		checkHealthcheck(t, n, n.HealthCheck.Test) // interval, timeout, retries
	}
	checkUnpublished(t, n)

	idFile := env(n, "PREVIEW_ID_FILE")
	volume := mountOf(n, path.Dir(idFile))
	if volume == nil || volume.Type != types.VolumeTypeVolume || volume.ReadOnly {
		t.Fatalf("%s: PREVIEW_ID_FILE=%q is not on a named volume it can write: %+v", nextjsService, idFile, n.Volumes)
	}
	for _, name := range replicaServices {
		s := p.Services[name]
		checkURL(t, s, "ISR_ORIGIN", "http", nextjsService, "3000")
		if c := s.DependsOn[nextjsService].Condition; c != types.ServiceConditionHealthy {
			t.Errorf("%s: depends_on %s condition %q, want %s: the preview id file must exist when it starts", name, nextjsService, c, types.ServiceConditionHealthy)
		}
		file := env(s, "ISR_NEXTJS_PREVIEW_ID_FILE")
		v := mountOf(s, path.Dir(file))
		switch {
		case v == nil || v.Source != volume.Source:
			t.Errorf("%s: ISR_NEXTJS_PREVIEW_ID_FILE=%q is not on the %s volume %q", name, file, nextjsService, volume.Source)
		case path.Base(file) != path.Base(idFile):
			t.Errorf("%s: ISR_NEXTJS_PREVIEW_ID_FILE=%q, but %s writes %s", name, file, nextjsService, idFile)
		case !v.ReadOnly:
			t.Errorf("%s: the preview id volume is mounted read-write", name)
		}
		// The rest of the environment is a valid configuration.
		if _, err := config.Load(nil, func(k string) string {
			if k == "ISR_NEXTJS_PREVIEW_ID_FILE" || k == "ISR_REVALIDATE_SECRET_FILE" {
				return filepath.Join(root, demoSecretFile) // a file that exists
			}
			return env(s, k)
		}); err != nil {
			t.Errorf("%s: its environment is not a valid isrcache configuration: %v", name, err)
		}
	}

	// Without the profile, the replicas keep the demo origin and no
	// preview id.
	for _, name := range replicaServices {
		s := loadProject(t, nil).Services[name]
		if got := env(s, "ISR_NEXTJS_PREVIEW_ID_FILE"); got != "" {
			t.Errorf("%s: ISR_NEXTJS_PREVIEW_ID_FILE=%q without the nextjs profile, want empty", name, got)
		}
		if dep, ok := s.DependsOn[nextjsService]; ok && dep.Required {
			t.Errorf("%s: depends on %s without its profile", name, nextjsService)
		}
	}
}

// mountOf returns the volume of s mounted at target, or nil.
func mountOf(s types.ServiceConfig, target string) *types.ServiceVolumeConfig {
	for i, v := range s.Volumes {
		if v.Target == target {
			return &s.Volumes[i]
		}
	}
	return nil
}
