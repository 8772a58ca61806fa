# libFuzzer harnesses (clang): tests/fuzz/fuzz_*.c, seeds in tests/fuzz/corpus/<name>.
# `make test` runs each for FUZZ_QUICK_SECS on the committed corpus plus what
# it finds (kept under $(BUILD)/fuzz/work, never written into the corpus);
# `make fuzz` runs each for FUZZ_SECS.  Linked against Debian's libyajl: every
# JSON read is held to json_check_text's limits before yajl's parser sees it,
# and the harnesses fuzz our code around yajl (see tests/fuzz/README.md).
FUZZ_QUICK_SECS ?= 10
FUZZ_SECS ?= 300
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -Wall -Wextra -Werror -Wno-unused-parameter -std=gnu11 \
	-D_GNU_SOURCE -DSF_VERSION='"$(VERSION)"' $(SF_INCLUDES) -Itests/fuzz
FUZZ_LIB := lib/util.c lib/json.c lib/oci.c lib/oci_config.c lib/proto.c lib/formats.c
FUZZ_NAMES := oci proto xattr inject filter
FUZZERS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_EXTRA_inject := agent/modes/run_inject.c
# the filter needs the event names and more of the agent: what the unit
# tests link (tests/unit.mk), so it follows their refactors
FUZZ_EXTRA_filter = $(filter-out $(FUZZ_LIB),$(UNIT_SRCS))
FUZZ_LIBS_filter = $(UNIT_LIBS)
$(BUILD)/fuzz/fuzz_filter: FUZZ_CFLAGS += $(LAZY_SONAMES)

.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB) $$(FUZZ_EXTRA_$$*) $(wildcard lib/*.h agent/*.h agent/*/*.h)
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB) $(FUZZ_EXTRA_$*) -lyajl $(FUZZ_LIBS_$*)

fuzz-build: $(FUZZERS)

# one harness: fresh work dir seeded from the corpus, bounded time
define fuzz_run
	$(Q)for n in $(FUZZ_NAMES); do \
		w=$(BUILD)/fuzz/work/$$n; rm -rf $$w; mkdir -p $$w; \
		printf '  %-8s %s (%ss)\n' FUZZ $$n $(1); \
		$(BUILD)/fuzz/fuzz_$$n -max_total_time=$(1) -timeout=10 -rss_limit_mb=1024 \
			-max_len=65536 -print_final_stats=0 -artifact_prefix=$(BUILD)/fuzz/crash-$$n- \
			$$w tests/fuzz/corpus/$$n >$(BUILD)/fuzz/$$n.log 2>&1 \
		|| { tail -40 $(BUILD)/fuzz/$$n.log; echo "fuzz_$$n failed: see $(BUILD)/fuzz/$$n.log" >&2; exit 1; }; \
	done
endef

fuzz-quick: $(FUZZERS)
	$(call fuzz_run,$(FUZZ_QUICK_SECS))

fuzz: deps-test $(FUZZERS)
	$(call fuzz_run,$(FUZZ_SECS))

# ---- the daemon under ASan+UBSan and under TSan (the sink threads) --------
# One daemon suite each, with the agent built into $(BUILD)/asan and
# $(BUILD)/tsan; a report in the sanitizer's log directory fails the target.
# Leak checking is off here: LeakSanitizer's stop-the-world spins forever at
# the daemon's exit on this machine; leaks are valgrind's job
# (tests/25-hook-valgrind.bats) and the unit tests'.
SAN_ASAN_SUITES ?= tests/20-hook-runc.bats
SAN_TSAN_SUITES ?= tests/44-daemon-export.bats
# the MQTT and HTTP streams: where the sink threads are
SAN_TSAN_FILTER ?= export=mqtt: the stream|export=file,mqtt|export=http: the stream
SAN_LOGS = $(abspath $(BUILD))/san-logs
sanitize-daemon: build bundles
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" $(BUILD)/asan/sfagent
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan CFLAGS="-O1 -g -fsanitize=thread" \
		$(BUILD)/tsan/sfagent
	$(Q)rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	$(Q)SFAGENT_BIN=$(abspath $(BUILD))/asan/sfagent \
		ASAN_OPTIONS=log_path=$(SAN_LOGS)/asan:detect_leaks=0 \
		UBSAN_OPTIONS=log_path=$(SAN_LOGS)/ubsan:print_stacktrace=1 \
		tests/run-bats $(SAN_ASAN_SUITES)
	$(Q)SFAGENT_BIN=$(abspath $(BUILD))/tsan/sfagent \
		TSAN_OPTIONS=log_path=$(SAN_LOGS)/tsan:halt_on_error=0 \
		tests/run-bats -f '$(SAN_TSAN_FILTER)' $(SAN_TSAN_SUITES)
	$(Q)if ls $(SAN_LOGS)/* >/dev/null 2>&1; then head -60 $(SAN_LOGS)/*; \
		echo "sanitizer reports in $(SAN_LOGS)" >&2; exit 1; fi
