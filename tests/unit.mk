# C unit tests: small TAP executables under ASan + UBSan, run by tests/05-unit.bats.
UNIT_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all $(WARN) -std=gnu11 -D_GNU_SOURCE \
	-DSF_VERSION='"$(VERSION)"' -Ilib -Ibpf -Iagent -I$(BUILD) -Itests/unit
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
# agent sources the unit tests link against (no BPF, no main)
UNIT_DEPS := agent/sbuf.c agent/cli.c agent/encode.c agent/encode_util.c \
	agent/encode_json.c agent/workload.c agent/sink.c agent/sink_file.c \
	agent/sinkq.c agent/sink_topic.c agent/encode_quixote.c agent/encode_cadets.c \
	agent/bundle.c lib/util.c lib/cgroup.c lib/json.c lib/oci.c lib/proto.c

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/tap.h $(UNIT_DEPS) $(wildcard agent/*.h lib/*.h bpf/*.h)
	@mkdir -p $(@D)
	$(call msg,UNIT,$@)
	$(Q)$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_DEPS) -lseccomp -lyajl -lpthread

# test workloads (plain programs the suites run under sfagent)
WORKLOADS := $(patsubst tests/workloads/%.c,$(BUILD)/tests/%,$(wildcard tests/workloads/*.c))
$(BUILD)/tests/%: tests/workloads/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -no-pie -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<

unit: $(UNIT_TESTS) $(WORKLOADS)
