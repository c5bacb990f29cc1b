# SPDX-License-Identifier: GPL-2.0-or-later
# govde build. `make` builds every tool into bin/, `make test` is THE test command (README), `make demo` shows it working.

SHELL   := /bin/bash
GO      ?= go
MODULE  := github.com/govde/govde
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X $(MODULE)/internal/buildinfo.Version=$(VERSION)

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man

# Every directory under cmd/ with a main.go is a tool.
TOOLS   := $(sort $(patsubst cmd/%/main.go,%,$(wildcard cmd/*/main.go)))
MANS    := $(wildcard man/*.1)
# VDE names installed by install-compat as symlinks to ours: compat-name:our-name.
COMPAT  := vde_plug:vplug vde_switch:vswitch vde_plug2tap:plug2tap vde_tunctl:tunctl \
           vdeterm:vterm unixterm:vterm unixcmd:vterm vdecmd:vterm ctys-vnetctl:vnetctl \
           ctys-setupVDE:vnetctl

SUDO    := $(if $(filter 0,$(shell id -u)),,sudo)
FUZZTIME ?=
FUZZ_BUDGET ?= 6m
TESTFLAGS ?=

.PHONY: all build install install-compat uninstall test test-race test-root unit deps fmt-check vet lint fuzz bench bench-compare demo clean

all: build

build:
	@mkdir -p bin
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ $(addprefix ./cmd/,$(TOOLS))

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	for t in $(TOOLS); do install -m 0755 bin/$$t $(DESTDIR)$(BINDIR)/$$t; done
	for m in $(MANS); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1/; done

install-compat: install
	@for pair in $(COMPAT); do \
	  c=$${pair%%:*}; o=$${pair##*:}; \
	  if [ -e bin/$$o ]; then ln -sfn $$o $(DESTDIR)$(BINDIR)/$$c && echo "$(DESTDIR)$(BINDIR)/$$c -> $$o"; fi; \
	done

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t $(DESTDIR)$(MANDIR)/man1/$$t.1; done
	for pair in $(COMPAT); do rm -f $(DESTDIR)$(BINDIR)/$${pair%%:*}; done

# deps installs the test dependencies (real vde2 tools, iproute2, iperf3, ...) when run as root; quiet and idempotent.
deps:
	@scripts/deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt: these files are not formatted:"; echo "$$out"; exit 1; fi

# vet also type-checks the macOS and FreeBSD builds, so that the portable parts keep building there (TAPs,
# bridges and the relay's fast path are Linux-only; elsewhere they report errors.ErrUnsupported or fall back).
vet:
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=freebsd $(GO) vet ./...

lint: fmt-check vet

# test: unit, integration and interop tests. As root the root-only tests (TAP, namespaces, real vde2 tools) run too.
test: deps fmt-check vet build
	GOVDE_BIN=$(CURDIR)/bin $(GO) test -race -count=1 -timeout 14m $(TESTFLAGS) ./...
	@scripts/check-man.sh
	@scripts/check-install.sh

test-race: test

# unit runs what needs neither root nor the real tools.
unit:
	$(GO) test -race -short ./...

test-root: build
	$(SUDO) env GOVDE_BIN=$(CURDIR)/bin $(GO) test -count=1 ./...

# fuzz runs every fuzz target for an equal share of FUZZ_BUDGET (6m, plus ~25 s of build per target: a CI job of
# its own under 15 minutes), or
# for FUZZTIME each when set; SAVE=1 copies the inputs it found into the seed corpora (testdata/fuzz), which
# `make test` replays. Fuzzing is not part of `make test`: the instrumented builds alone would take minutes
# of its 15-minute budget, and a few seconds per target finds little.
fuzz:
	@FUZZTIME=$(FUZZTIME) FUZZ_BUDGET=$(FUZZ_BUDGET) SAVE=$(SAVE) scripts/fuzz.sh

bench: deps build
	@scripts/bench.sh

# bench-compare BASE=REV: every scripts/bench-*.sh for REV's tree and for this one, alternating, in one run.
bench-compare: deps build
	@test -n "$(BASE)" || { echo "usage: make bench-compare BASE=REV"; exit 2; }
	@scripts/compare-bench.sh $(BASE)

demo: deps build
	@scripts/demo.sh

clean:
	rm -rf bin
