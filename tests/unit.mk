# C unit tests: small TAP executables under ASan + UBSan, run by tests/05-unit.bats.
# The agent and lib objects they link are built once, with the sanitizers, into
# $(BUILD)/unit-obj (no BPF, no main).
UNIT_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all $(WARN) -std=gnu11 -D_GNU_SOURCE \
	-DSF_VERSION='"$(VERSION)"' $(SF_INCLUDES) -Itests/unit
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
UNIT_SRCS := agent/agent.c agent/credseed.c agent/exehash.c agent/sinks/sink_spec.c agent/sinks/sink_mqtt.c \
	agent/sinks/sink_http.c agent/sinks/sink_nats.c agent/sbuf.c agent/cli.c agent/cli_opts.c agent/cli_doc.c \
	$(wildcard agent/encoders/*.c) agent/workload.c agent/sinks/sink.c agent/sinks/sink_file.c \
	agent/sinks/sinkq.c agent/sinks/sink_net.c agent/sinks/sink_spool.c agent/sinks/sink_spool_damage.c agent/sinks/sink_topic.c agent/modes/bundle.c \
	lib/util.c lib/cgroup.c lib/json.c lib/oci.c lib/oci_config.c lib/proto.c lib/formats.c $(wildcard agent/filter/*.c) \
	agent/seccomp/seccomp_profile.c agent/seccomp/seccomp_record.c agent/daemon/budget.c \
	agent/uring_keys.c agent/lazylib.c agent/sinks/lazy.c
# the libraries what they link needs (tests/fuzz/fuzz.mk uses them too)
UNIT_LIBS := -lbpf -ldl -lseccomp -lyajl -lcrypto -lz -lpthread
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/unit-obj/%.o)

$(BUILD)/unit-obj/%.o: %.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(UNIT_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(BUILD)/unit-obj/agent/sinks/lazy.o $(BUILD)/unit-obj/agent/encoders/lazy_avro.o: UNIT_CFLAGS += $(LAZY_SONAMES)

$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_OBJS)
	@mkdir -p $(@D)
	$(call msg,UNIT,$@)
	$(Q)$(CC) $(UNIT_CFLAGS) $(DEPFLAGS) -o $@ $< $(UNIT_OBJS) $(UNIT_LIBS)

# test workloads (plain programs the suites run under sfagent)
WORKLOADS := $(patsubst tests/workloads/%.c,$(BUILD)/tests/%,$(wildcard tests/workloads/*.c))
# escape, uring and resolved also run in busybox containers: static;
# uring needs liburing
WL_LDFLAGS_escape := -static
WL_LDFLAGS_uring := -static -luring
WL_LDFLAGS_resolved := -static
WL_LDFLAGS_credwait := -static -pthread
WL_LDFLAGS_filehash := -luring
WL_LDFLAGS_uringflow := -luring
# flow32: a 32-bit static program with no libc (ia32 syscalls by int $0x80),
# built by the 64-bit compiler alone (no gcc-multilib)
WL_LDFLAGS_flow32 := -m32 -static -nostdlib -ffreestanding -fno-pic -fno-stack-protector
$(BUILD)/tests/%: tests/workloads/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -no-pie -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $< $(WL_LDFLAGS_$*)

# the JetStream consumer of the NATS suite (tests/49-nats.bats)
$(BUILD)/tests/natsread: tests/helpers/natsread.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $< -lnats

# static copies for containers (a busybox rootfs has no libc): bind-mounted in
STATIC_WORKLOADS := $(BUILD)/tests/static/flood
$(BUILD)/tests/static/%: tests/workloads/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -static -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<

unit: $(UNIT_TESTS) $(WORKLOADS) $(STATIC_WORKLOADS) $(BUILD)/tests/natsread
