#!/bin/sh
# docker-start.sh is the container's entry point (see Dockerfile): it writes
# the build's preview id to PREVIEW_ID_FILE, readable by the isrcache
# replicas that share its volume, then runs next start on port 3000.
set -eu
if [ -n "${PREVIEW_ID_FILE:-}" ]; then
	node -p 'require("./.next/prerender-manifest.json").preview.previewModeId' >"$PREVIEW_ID_FILE.tmp"
	chmod 0644 "$PREVIEW_ID_FILE.tmp"
	mv "$PREVIEW_ID_FILE.tmp" "$PREVIEW_ID_FILE"
fi
exec node node_modules/next/dist/bin/next start -H 0.0.0.0 -p 3000 "$@"
