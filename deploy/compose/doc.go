// Package compose holds the assets of the local Docker Compose stack
// (docker-compose.yml at the repository root): the load balancer's
// configuration (haproxy.cfg) and the demo revalidate token. It has no code;
// its tests check docker-compose.yml, haproxy.cfg, the Dockerfile and
// .dockerignore by parsing them, so that they need no Docker engine.
package compose
