# isrcache: `make help` lists the targets.

GO        ?= go
FUZZTIME  ?= 20s
BENCH     ?= .
BENCHTIME ?= 1s
TESTFLAGS ?=
DEMO_ADDR ?= 127.0.0.1:3000

.PHONY: help run demo test fuzz bench bench-go lint build clean

help:
	@echo 'make demo    build, then run the demo origin on $(DEMO_ADDR) and isrcache on 127.0.0.1:8080 in front of it'
	@echo 'make run     go run ./cmd/isrcache (needs ISR_ORIGIN)'
	@echo 'make test    go vet, then all tests with -race (integration tests start their own redis-server)'
	@echo 'make soak    the history checker for about two minutes, 4 replicas, every fault (a 3s Redis pause among them)'
	@echo 'make fuzz    every Fuzz target for FUZZTIME=$(FUZZTIME)'
	@echo 'make bench   hot-path benchmark: wrk against a bare net/http server and isrcache (default, warn, Redis), ratios; BENCH_ROUNDS=$(BENCH_ROUNDS)'
	@echo 'make bench-go  Go benchmarks matching BENCH=$(BENCH) for BENCHTIME=$(BENCHTIME)'
	@echo 'make bench-load  load benchmark: redis-server, demo origin, 3 replicas on loopback; BENCH_RUNS=$(BENCH_RUNS) runs, medians'
	@echo 'make lint    gofmt and go vet'
	@echo 'make build   bin/isrcache, bin/demo-origin and bin/isrctl'
	@echo 'make docker  the container images isrcache and isrcache-demo-origin (docker build); docker compose up --build runs the stack'

build:
	$(GO) build -o bin/isrcache ./cmd/isrcache
	$(GO) build -o bin/demo-origin ./cmd/demo-origin
	$(GO) build -o bin/isrctl ./cmd/isrctl

run:
	@test -n "$$ISR_ORIGIN" || { echo 'ISR_ORIGIN is not set: try "make demo", or ISR_ORIGIN=http://127.0.0.1:3000 make run' >&2; exit 2; }
	$(GO) run ./cmd/isrcache

# demo runs the demo origin in the background and isrcache in the
# foreground, both on loopback; stopping isrcache (Ctrl-C) stops the origin
# too. The revalidate token is "demo-secret" unless ISR_REVALIDATE_SECRET
# is set.
demo: build
	@bin/demo-origin -addr $(DEMO_ADDR) & origin=$$!; \
	trap 'kill $$origin 2>/dev/null; wait $$origin' EXIT; trap 'exit 130' INT TERM; \
	ISR_ORIGIN=http://$(DEMO_ADDR) ISR_ADDR=$${ISR_ADDR:-127.0.0.1:8080} \
	ISR_REVALIDATE_SECRET=$${ISR_REVALIDATE_SECRET:-demo-secret} bin/isrcache

# MODULES are the repository's Go modules: the project, and the manifest
# checks of k8s/ and deploy/compose/, which have modules of their own so
# that importing pkg/isr does not pull in the Kubernetes and Compose APIs.
MODULES ?= . k8s deploy/compose

test:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done
	@for m in $(MODULES); do (cd $$m && $(GO) test -race -count=1 -timeout 15m $(TESTFLAGS) ./...) || exit 1; done

# soak runs the history checker (integration/history_test.go) for longer,
# with four replicas and every fault, among them Redis paused for 3s.
# SOAK_REPORT names a file for its JSON report.
SOAK_REPORT ?=
.PHONY: soak
soak:
	ISR_SOAK=1 ISR_HISTORY_REPORT=$(SOAK_REPORT) $(GO) test -race -count=1 -timeout 30m -run '^TestClusterHistory$$' -v ./integration/

# fuzz discovers the Fuzz targets with `go test -list` and runs each one in
# turn (go test -fuzz takes one target of one package at a time).
fuzz:
	@list=$$($(GO) test -list '^Fuzz' ./...) || { echo "$$list" >&2; exit 1; }; \
	targets=$$(echo "$$list" | awk '/^Fuzz/ { f[n++] = $$1; next } /^ok/ { for (i = 0; i < n; i++) print $$2, f[i]; n = 0 }'); \
	if [ -z "$$targets" ]; then echo 'no Fuzz targets found'; exit 0; fi; \
	echo "$$targets" | while read -r pkg fn; do \
		echo "== $$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	done

# bench builds isrload and runs its hot-path benchmark (cmd/isrload/hotpath.go):
# a bare net/http server writing prepared 8 KiB and 64 KiB pages, and isrcache
# replicas in front of it (embedded store at the default log level and at
# warn, and on a redis-server), each measured with wrk -t2 -c64 in every round;
# it prints medians and ratios. BENCH_HOT_FLAGS: e.g. -profile /tmp/cpu.prof,
# -json FILE, -wrk-d 10s.
BENCH_ROUNDS    ?= 3
BENCH_HOT_FLAGS ?=
bench:
	$(GO) build -o bin/isrload ./cmd/isrload
	bin/isrload -hotpath -rounds $(BENCH_ROUNDS) $(BENCH_HOT_FLAGS)

bench-go:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./...

# bench-load builds isrload, which builds cmd/isrcache and cmd/demo-origin
# into a temporary directory, then runs the load scenarios BENCH_RUNS times,
# each on a fresh stack (redis-server on a free port, the demo origin, three
# replicas, all on 127.0.0.1), and prints the medians. Everything it starts
# is stopped when it ends. BENCH_LOAD_FLAGS: e.g. -quick, -json FILE.
BENCH_RUNS       ?= 3
BENCH_LOAD_FLAGS ?=
.PHONY: bench-load
bench-load:
	$(GO) build -o bin/isrload ./cmd/isrload
	bin/isrload -stack -runs $(BENCH_RUNS) $(BENCH_LOAD_FLAGS)

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo 'gofmt -l lists files that need formatting:' >&2; echo "$$out" >&2; exit 1; fi
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

clean:
	rm -rf bin

# docker builds the two images of the Dockerfile: isrcache (the default
# target) and the demo origin. docker compose up --build builds its own.
.PHONY: docker
docker:
	docker build -t isrcache .
	docker build --target demo-origin -t isrcache-demo-origin .
