# sfagent — one entry point: build, install, test, demo, bench.
# `make V=1` shows full commands.

VERSION := 0.1.0
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
LIBEXECDIR ?= $(PREFIX)/libexec/sfagent
HOOKSDIR ?= /usr/share/containers/oci/hooks.d
# sfhook's fail policy in the installed hooks.d file (the operator's, never
# a pod's): open or closed
HOOK_FAIL ?= open

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

WARN := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS ?= -O2 -g
# agent/ is split by role (docs/hacking.md); its subfolders are include paths.
AGENT_DIRS := agent agent/modes agent/daemon agent/encoders agent/sinks agent/filter agent/seccomp agent/viewer
SF_INCLUDES := -Ilib -Ibpf $(AGENT_DIRS:%=-I%) -I$(BUILD)
SF_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -DSF_VERSION='"$(VERSION)"' \
	$(SF_INCLUDES) -DSF_LIBEXECDIR='"$(LIBEXECDIR)"'
# header dependencies come from the compiler (build/**/*.d)
DEPFLAGS = -MMD -MP
# libcurl, paho-mqtt and cnats are not linked: the sink that needs one opens
# it (agent/lazylib.h), by the SONAME of the one built against; libavro
# likewise for -F sysflow (agent/encoders/lazy_avro.h)
LDLIBS_AGENT := -lbpf -lelf -lz -lyajl -lseccomp -lcrypto -lpthread -ldl
soname = $(shell objdump -p $$($(CC) -print-file-name=lib$(1).so) 2>/dev/null | awk '$$1 == "SONAME" { print $$2 }')
LAZY_SONAMES := -DLAZY_SONAME_CURL='"$(call soname,curl)"' -DLAZY_SONAME_PAHO='"$(call soname,paho-mqtt3as)"' \
	-DLAZY_SONAME_NATS='"$(call soname,nats)"' -DLAZY_SONAME_AVRO='"$(call soname,avro)"'
# sfhook runs at every container start: linked static-pie it skips the
# dynamic loader (libyajl, libc: ~0.9 ms of CPU per prestart + poststop pair,
# docs/performance.md) and keeps ASLR.  HOOK_LINK=dynamic links it against
# the shared libraries instead (libc updates then reach it without a rebuild;
# and for CFLAGS=-fsanitize=address builds: ASan cannot link static).
HOOK_LINK ?= static
ifeq ($(HOOK_LINK),static)
HOOK_LDFLAGS := -static-pie
LDLIBS_HOOK := $(shell $(CC) -print-file-name=libyajl_s.a)
else ifeq ($(HOOK_LINK),dynamic)
HOOK_LDFLAGS :=
LDLIBS_HOOK := -lyajl
else
$(error HOOK_LINK must be static or dynamic)
endif

# Debian packages the build, the tests and the demo need.
PKGS_BUILD := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libyajl-dev \
	libpaho-mqtt-dev libcurl4-openssl-dev libnats-dev libseccomp-dev libavro-dev libssl-dev \
	make gcc pkg-config python3 xxd
# make demo needs only runc, a busybox for the sample bundle and python3
PKGS_DEMO := runc busybox-static python3
PKGS_TEST := prometheus curl $(PKGS_DEMO) clang-format bats bats-assert bats-support mosquitto nats-server \
	mosquitto-clients openssl podman containerd valgrind libclang-rt-14-dev \
	iproute2 strace jq util-linux liburing-dev
# deploy/ checks: YAML + the Kubernetes API schema (python3-kubernetes),
# systemd-analyze verify of the unit, shellcheck of the node scripts.
PKGS_TEST += python3-yaml python3-kubernetes yamllint systemd shellcheck
# NATS operator-mode JWTs and NKeys made by tests/helpers/natsjwt.py
PKGS_TEST += python3-cryptography
# the man pages: mandoc -T lint (tests/06-docs.bats)
PKGS_TEST += mandoc
# -F sysflow read back (tests/62-sysflow.bats)
PKGS_TEST += avro-bin python3-avro
PKGS_BENCH := hyperfine bpftrace strace linux-perf time apache2-utils

LIB_SRCS := $(wildcard lib/*.c)
AGENT_SRCS := $(foreach d,$(AGENT_DIRS),$(wildcard $(d)/*.c))
HOOK_SRCS := $(wildcard hook/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/%.o)
HOOK_OBJS := $(HOOK_SRCS:%.c=$(BUILD)/%.o)
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.bpf.o)
SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)

.SECONDARY:
.DELETE_ON_ERROR:
.PHONY: fuzz fuzz-quick fuzz-build sanitize-daemon
.PHONY: all deps deps-demo deps-test deps-bench build test test-long demo bench bench-report bench-tools install clean bundles \
	check-format format unit FORCE install-deploy sfhook-static docs-gen

all: build

build: $(BUILD)/.libexecdir $(BUILD)/sfagent $(BUILD)/sfagent.dlopen $(if $(HOOK_SRCS),$(BUILD)/sfhook)

# Install only what is missing; apt-get update only when something is.
define install_pkgs
	$(Q)missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
		|| missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "  APT     $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "sfagent: missing packages:$$missing (run as root to install them)" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
endef

deps:
	$(call install_pkgs,$(PKGS_BUILD))
deps-demo: deps
	$(call install_pkgs,$(PKGS_DEMO))
deps-test: deps
	$(call install_pkgs,$(PKGS_TEST))
deps-bench: deps-test
	$(call install_pkgs,$(PKGS_BENCH))

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h bpf/*.def) $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-I$(BUILD) -Ibpf -I/usr/include/$(shell uname -m)-linux-gnu -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BUILD)/agent/%.o: agent/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(SF_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(BUILD)/agent/sinks/lazy.o $(BUILD)/agent/encoders/lazy_avro.o: SF_CFLAGS += $(LAZY_SONAMES)

# only the loader includes the BPF skeleton
$(BUILD)/agent/probe.o: $(SKELS)

# -F sysflow's schema, sf-apis' avro/avsc/SysFlow.avsc, compiled in
$(BUILD)/sysflow_avsc.h: data/sysflow/SysFlow.avsc
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)cd data/sysflow && xxd -i SysFlow.avsc > $(abspath $@).tmp && mv $(abspath $@).tmp $(abspath $@)
$(BUILD)/agent/encoders/encode_sysflow.o $(BUILD)/unit-obj/agent/encoders/encode_sysflow.o: $(BUILD)/sysflow_avsc.h
$(BUILD)/bench/encbench $(BUILD)/bench/filterbench: $(BUILD)/sysflow_avsc.h

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(SF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/hook/%.o: hook/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(SF_CFLAGS) $(DEPFLAGS) -c $< -o $@

# --inject-hook's default hook path is compiled in: rebuild when it changes
$(BUILD)/agent/modes/run_inject.o: $(BUILD)/.libexecdir
$(BUILD)/.libexecdir: FORCE
	@mkdir -p $(@D)
	@echo '$(LIBEXECDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR)' > $@
$(BUILD)/.hooklink: FORCE
	@mkdir -p $(@D)
	@echo '$(HOOK_LINK)' | cmp -s - $@ || echo '$(HOOK_LINK)' > $@
FORCE:

$(BUILD)/sfagent: $(AGENT_OBJS) $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(SF_CFLAGS) -o $@ $^ $(LDLIBS_AGENT)

# what ldd does not show: the SONAMEs the agent opens when a sink needs one
# (agent/lazylib.h), one a line, for deploy/Containerfile's runtime packages
$(BUILD)/sfagent.dlopen: Makefile
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)printf '%s\n' $(call soname,curl) $(call soname,paho-mqtt3as) $(call soname,nats) $(call soname,avro) >$@

# relinked when HOOK_LINK changes
$(BUILD)/sfhook: $(HOOK_OBJS) $(LIB_OBJS) $(BUILD)/.hooklink
	$(call msg,LD,$@)
	$(Q)$(CC) $(SF_CFLAGS) $(HOOK_LDFLAGS) -o $@ $(HOOK_OBJS) $(LIB_OBJS) $(LDLIBS_HOOK)

# ---- sample bundles: rootfs from busybox-static -----------------------------
BUNDLES := $(patsubst %/config.json,%,$(wildcard bundles/*/config.json))
bundles: $(BUNDLES:%=%/rootfs/bin/busybox)
bundles/%/rootfs/bin/busybox: bundles/%/config.json $(shell find bundles -path '*/files/*' -type f 2>/dev/null) bundles/mkrootfs.sh
	$(call msg,ROOTFS,$(@D:%/bin=%))
	$(Q)bundles/mkrootfs.sh bundles/$*

# ---- tests ---------------------------------------------------------------
-include tests/unit.mk
-include tests/fuzz/fuzz.mk

test: deps-test build bundles unit check-format fuzz-quick
	$(Q)tests/run-bats $(TESTS)
	$(Q)$(MAKE) --no-print-directory sanitize-daemon

# The long versions of tests make test runs short: the spool across the
# 60 s broker and collector outages at 10,000 events/s (tests/48-spool.bats).
test-long: deps-test build unit
	$(Q)SPOOL_OUTAGE=60 SPOOL_RATE=10000 bats tests/48-spool.bats

demo: deps-demo build bundles
	$(Q)tests/demo.sh

# ---- benchmarks (tests/bench/run.sh; BENCH_QUICK=1 for a short smoke run) --
BENCH_TOOLS := $(BUILD)/bench/loadgen $(BUILD)/bench/bpfattach $(BUILD)/bench/rawtp.bpf.o \
	$(BUILD)/bench/floor.bpf.o $(BUILD)/bench/encbench $(BUILD)/bench/filterbench \
	$(BUILD)/bench/vtime
ENCBENCH_SRCS := agent/sbuf.c $(wildcard agent/encoders/*.c) agent/lazylib.c lib/util.c lib/formats.c lib/json.c
bench-tools: $(BENCH_TOOLS)
$(BUILD)/bench/loadgen: tests/bench/loadgen.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<
$(BUILD)/bench/bpfattach: tests/bench/bpfattach.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $< -lbpf -lelf -lz
# the verifier's time per program of the agent's object (section 7)
VTIME_SRCS := agent/kernel_ids.c lib/util.c
$(BUILD)/bench/vtime: tests/bench/vtime.c $(VTIME_SRCS) agent/kernel_ids.h bpf/sfagent.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Iagent -Ilib -Ibpf -o $@ $< $(VTIME_SRCS) -lbpf -lelf -lz
# the filter's cost per event (agent/filter on decoded events)
FILTERBENCH_SRCS := $(ENCBENCH_SRCS) agent/filter/filter.c agent/filter/filter_event.c
$(BUILD)/bench/filterbench: tests/bench/filterbench.c $(FILTERBENCH_SRCS) $(foreach d,$(AGENT_DIRS) lib bpf,$(wildcard $(d)/*.h))
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(SF_CFLAGS) $(LAZY_SONAMES) -o $@ $< $(FILTERBENCH_SRCS) -lyajl -lseccomp -lcrypto -ldl
$(BUILD)/bench/encbench: tests/bench/encbench.c $(ENCBENCH_SRCS) $(foreach d,$(AGENT_DIRS) lib bpf,$(wildcard $(d)/*.h))
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(SF_CFLAGS) $(LAZY_SONAMES) -o $@ $< $(ENCBENCH_SRCS) -lyajl -lseccomp -lcrypto -ldl
$(BUILD)/bench/%.bpf.o: tests/bench/%.bpf.c $(wildcard bpf/*.h) $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-I$(BUILD) -Ibpf -I/usr/include/$(shell uname -m)-linux-gnu -c $< -o $@

bench: deps-bench build bench-tools
	$(Q)BUILD=$(BUILD) tests/bench/run.sh

bench-report: deps-bench build bench-tools
	$(Q)BUILD=$(BUILD) tests/bench/run.sh --report docs/performance.md

# Made from the option table (agent/cli_opts.c): the man page, the bash
# completion, the sample /etc/default/sfagent.  sfhook(8) is docs/sfhook.8,
# sfagent-filters(7) docs/filters.md through docs/md2man.py.
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= /etc
GENDOCS := $(BUILD)/doc/sfagent.8 $(BUILD)/doc/sfagent.bash $(BUILD)/doc/sfagent.default \
	$(BUILD)/doc/sfagent-filters.7
docs-gen: $(GENDOCS)
# sfagent-filters(7) is docs/filters.md, converted
$(BUILD)/doc/sfagent-filters.7: docs/filters.md docs/md2man.py
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)python3 docs/md2man.py sfagent-filters 7 "Miscellaneous Information Manual" < $< > $@
$(BUILD)/doc/sfagent.8: $(BUILD)/sfagent
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)$< --doc man > $@
$(BUILD)/doc/sfagent.bash: $(BUILD)/sfagent
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)$< --doc bash-completion > $@
$(BUILD)/doc/sfagent.default: $(BUILD)/sfagent
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)$< --doc default > $@

install: build docs-gen
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(HOOKSDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(SYSCONFDIR)/default
	install -m 0755 $(BUILD)/sfagent $(DESTDIR)$(PREFIX)/bin/sfagent
	install -m 0755 $(BUILD)/sfhook $(DESTDIR)$(LIBEXECDIR)/sfhook
	case '$(HOOK_FAIL)' in open|closed) ;; *) echo "HOOK_FAIL must be open or closed" >&2; exit 2;; esac
	sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g;s|@HOOK_FAIL@|$(HOOK_FAIL)|g' oci/hooks.d/sfagent.json > $(DESTDIR)$(HOOKSDIR)/sfagent.json
	chmod 0644 $(DESTDIR)$(HOOKSDIR)/sfagent.json
	install -m 0644 $(BUILD)/doc/sfagent.8 docs/sfhook.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(BUILD)/doc/sfagent-filters.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 0644 $(BUILD)/doc/sfagent.bash $(DESTDIR)$(BASHCOMPDIR)/sfagent
	@# a configuration already there is the admin's: never overwritten
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/sfagent ] || \
		install -m 0644 $(BUILD)/doc/sfagent.default $(DESTDIR)$(SYSCONFDIR)/default/sfagent

# ---- deploy/: systemd unit, containerd handler, node installer ------------
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SFDATADIR ?= $(PREFIX)/share/sfagent
install: install-deploy
install-deploy: build
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SFDATADIR)/containerd
	sed 's|@BINDIR@|$(PREFIX)/bin|' deploy/systemd/sfagent.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/sfagent.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/sfagent.service
	for f in deploy/node-install.sh oci/containerd-base-spec.sh; do \
		sed 's|/usr/local/libexec/sfagent/sfhook|$(LIBEXECDIR)/sfhook|' $$f \
		> $(DESTDIR)$(SFDATADIR)/$${f##*/} && chmod 0755 $(DESTDIR)$(SFDATADIR)/$${f##*/} || exit 1; done
	install -m 0644 deploy/containerd/sfagent-v2.toml deploy/containerd/sfagent-v3.toml \
		$(DESTDIR)$(SFDATADIR)/containerd/

# sfhook linked statically (static-pie) whatever HOOK_LINK: the DaemonSet
# copies it onto nodes, which may not have libyajl (deploy/Containerfile).
sfhook-static:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/static HOOK_LINK=static $(BUILD)/static/sfhook

FORMAT_SRCS = $(foreach d,$(AGENT_DIRS) lib hook bpf tests/unit tests/fuzz,$(wildcard $(d)/*.[ch]))
check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD) bundles/*/rootfs bundles/*/rootfs.tmp

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
