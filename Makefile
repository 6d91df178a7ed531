# jaild — see README.md. Targets that create jails need root.
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO          ?= go
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
TAGS        := seccomp
GOFLAGS_BUILD := -tags $(TAGS) -trimpath -ldflags "-X main.version=$(VERSION)"
BIN         := bin
STATE_DIR   ?= /var/lib/jaild
# The privileged tests run on root filesystems kept apart from a real daemon's.
TEST_STATE_DIR ?= /var/lib/jaild-test
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
ACTIONLINT  := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
APT_PACKAGES := gcc libc6-dev libseccomp-dev pkg-config ca-certificates systemd
# make test-systemd: systemd-nspawn and mmdebstrap to build and boot a Debian with systemd.
APT_PACKAGES_SYSTEMD := systemd-container mmdebstrap
# make install
PREFIX      ?= /usr/local
DESTDIR     ?=
UNITDIR     ?= /etc/systemd/system
CONFDIR     ?= /etc/jaild
export CGO_ENABLED := 1

.PHONY: help deps deps-systemd build rootfs rootfs-test serve test test-unit test-systemd test-vm test-escape soak fuzz lint run install clean seccomp-profiles bench

help: ## show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install build dependencies from Debian (root)
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES)

deps-systemd: ## install what make test-systemd needs from Debian (root)
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES_SYSTEMD)

build: ## build bin/jaild (cgo, -tags seccomp) and bin/jailctl
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/jaild ./cmd/jaild
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/jailctl ./cmd/jailctl

rootfs: build ## build and verify the python and node rootfs in STATE_DIR (root)
	$(BIN)/jaild rootfs build python --state-dir $(STATE_DIR)
	$(BIN)/jaild rootfs build node --state-dir $(STATE_DIR)

# Reuses images already built and intact; rebuilds what is missing or altered.
rootfs-test: build ## build or reuse the test rootfs in TEST_STATE_DIR (root; used by test, bench)
	@for l in python node; do \
	  $(BIN)/jaild rootfs verify $$l --no-verify --state-dir $(TEST_STATE_DIR) >/dev/null 2>&1 \
	    || $(BIN)/jaild rootfs build $$l --state-dir $(TEST_STATE_DIR) || exit 1; \
	done

test: rootfs-test ## run every test; privileged jail tests need root (CI runs as root)
	# -p 1: the privileged packages each keep both cores busy with jails
	# (hostile suite, evals, rootfs builds); run side by side they starve
	# each other's wall budgets for no gain in total time.
	JAILD_TEST_STATE_DIR=$(TEST_STATE_DIR) $(GO) test -tags $(TAGS) -count=1 -p 1 -timeout 900s ./...

# Security gates (README "Security gates").
test-escape: rootfs-test ## hostile-script suite: every attack in jail/container/testdata/hostile (root)
	JAILD_TEST_STATE_DIR=$(TEST_STATE_DIR) $(GO) test -tags $(TAGS) -count=1 -timeout 600s -run '^TestHostileScripts$$' ./jail/container/

SOAK_RUNS ?= 10000
SOAK_FLAGS ?=
soak: build ## soak a real daemon: SOAK_RUNS (10000) mixed runs from 16 clients, then audit leaks and RSS (root; SOAK_FLAGS=--zygote)
	$(GO) build -tags $(TAGS) -o $(BIN)/jaild-soak ./cmd/jaild-soak
	$(BIN)/jaild-soak -n $(SOAK_RUNS) -clients 16 -jaild $(BIN)/jaild -rootfs $(TEST_STATE_DIR)/rootfs -serve-flags "$(SOAK_FLAGS)"

FUZZTIME ?= 15s
FUZZ_TARGETS := ./daemon:FuzzDecodeRun ./daemon:FuzzConfigFile ./policy:FuzzSeccompCloneAndPersonality \
	./jail:FuzzValidFileName ./jail/container:FuzzCapture ./jail/container:FuzzSeccompProfile \
	./rootfs:FuzzEscapes ./rootfs:FuzzResolveIn ./daemon:FuzzPistonExecute ./policy:FuzzParse
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when a duration -fuzztime ends under CPU contention (golang/go#75804:
# its stop() compares against the worker context only). Go 1.27 fixes it, so the
# fuzzer alone runs on the approved 1.27 toolchain, fetched by the go command from
# the module proxy on first use (~76 MB, ~10 s). The module stays on 1.26.8.
FUZZ_TOOLCHAIN ?= go1.27.3
fuzz: ## run every fuzz target for FUZZTIME (15s) each from its committed seed corpus
	@set -o pipefail; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$fn ($$pkg, $(FUZZTIME))"; \
	  GOTOOLCHAIN=$(FUZZ_TOOLCHAIN) $(GO) test -tags $(TAGS) -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg 2>&1 \
	    | grep -v '^fuzz: elapsed' || exit 1; done

test-unit: ## run the tests that need neither root nor a rootfs
	$(GO) test -tags $(TAGS) -count=1 -short ./...

# Installs mmdebstrap and qemu-system-x86 itself if missing; caches the guest
# image in /var/cache/jaild-vm. See .ci/vm/run.sh and README (Testing on cgroup v2).
test-vm: rootfs-test ## privileged suites in a QEMU VM: systemd PID 1, cgroup v2, Delegate=yes (root)
	JAILD_TEST_STATE_DIR=$(TEST_STATE_DIR) bash .ci/vm/run.sh

lint: ## gofmt, go vet, staticcheck and the house bans
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...
	$(GO) run $(STATICCHECK) -tags $(TAGS) ./...
	@! grep -rn --include='*.go' 'os\.IsNotExist' . || { echo 'use errors.Is(err, fs.ErrNotExist)'; exit 1; }
	@! grep -rn --include='*.go' 'os\.Create(' jail rootfs || { echo 'no os.Create on paths a jail can influence'; exit 1; }
	@! grep -rnE --include='*.go' --exclude='*_test.go' '^(var +)?[[:space:]]*[A-Za-z_]+ += regexp\.MustCompile\(.*\{[0-9]*,?[0-9]+\}' cmd/jaild daemon jail policy rootfs systemd \
	  || { echo 'package-level regexp with a counted repetition: compiled in every jail start; use lazyRegexp'; exit 1; }
	$(GO) run $(ACTIONLINT) .github/workflows/ci.yml
	@$(MAKE) -s build
	systemd/verify.sh $(BIN)/jaild

# Boots a Debian with systemd under systemd-nspawn, installs jaild there with
# make install and checks units, notify, watchdog, journal, reload, socket
# activation and a clean stop for real (root; see test/systemd/run.sh).
test-systemd: build rootfs-test ## run jaild under a real systemd in systemd-nspawn (root)
	JAILD_TEST_STATE_DIR=$(TEST_STATE_DIR) test/systemd/run.sh

install: build ## install binaries, units and a default config (PREFIX, DESTDIR; root)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR)
	install -m 0755 $(BIN)/jaild $(BIN)/jailctl $(DESTDIR)$(PREFIX)/bin/
	sed 's|/usr/local/bin/jaild|$(PREFIX)/bin/jaild|' systemd/jaild.service > $(DESTDIR)$(UNITDIR)/jaild.service
	install -m 0644 systemd/jaild.socket $(DESTDIR)$(UNITDIR)/jaild.socket
	chmod 0644 $(DESTDIR)$(UNITDIR)/jaild.service
	@# An operator's config is never overwritten.
	@if [ -e $(DESTDIR)$(CONFDIR)/jaild.toml ]; then echo "keeping $(DESTDIR)$(CONFDIR)/jaild.toml"; \
	  else install -m 0644 systemd/jaild.toml $(DESTDIR)$(CONFDIR)/jaild.toml; fi
	@# Group jaild may use the socket. Into DESTDIR only when it is a root filesystem.
	@if [ -z "$(DESTDIR)" ]; then getent group jaild >/dev/null || groupadd --system jaild; \
	  elif [ -e $(DESTDIR)/etc/group ]; then grep -q '^jaild:' $(DESTDIR)/etc/group || groupadd --system --root $(DESTDIR) jaild; fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; \
	  echo "installed: systemctl enable --now jaild.socket (and build a rootfs: jaild rootfs build python)"; fi

serve: build ## run the daemon in the foreground on /run/jaild/jaild.sock (root; needs `make rootfs`)
	$(BIN)/jaild serve --state-dir $(STATE_DIR)

# BENCH_FLAGS e.g. "-json" or "-n 300"; numbers are only meaningful on an idle machine.
bench: build rootfs-test ## bare interpreter vs jaild cold, warm and zygote: p50/p99, runs/s, RSS (root)
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/jaild-bench ./cmd/jaild-bench
	$(BIN)/jaild-bench -jaild $(BIN)/jaild -rootfs $(TEST_STATE_DIR)/rootfs $(BENCH_FLAGS)

run: build ## run examples/hello.py in a jail without the daemon (root; needs `make rootfs`)
	$(BIN)/jaild run --state-dir $(STATE_DIR) examples/hello.py

seccomp-profiles: rootfs-test ## re-derive policy/seccomp/{python,node}.json with strace (root, strace; see docs/SECCOMP.md)
	STATE_DIR=$(TEST_STATE_DIR) policy/seccomp/derive.sh

clean: ## remove build output
	rm -rf $(BIN)
