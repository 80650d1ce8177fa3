# veer: weighted TCP traffic splitting in eBPF.
#
#   make            build everything into build/
#   make test       install missing packages, build, run all test layers (root)
#   make demo       install missing packages, build, run the namespace demo (root)
#   make bench      veer vs iptables/nftables/HAProxy/nginx (scripts/bench.sh; root)
#   make microbench per-packet cost of each program, from BPF_PROG_TEST_RUN
#   make microbench-compare BASE=REV  per-packet cost of a change: paired runs
#                   of two builds, 95% interval of the difference (root)
#   make kernel-matrix  unit, packet and e2e tests on Debian's stock kernels in
#                   qemu (scripts/kernel-matrix.sh; root; ~40 min per kernel)
#   make soak       10 minutes of mixed load and attacks in the lab (root)
#   make vmlinux    regenerate vmlinux/vmlinux.h from this kernel's BTF
#   make format     clang-format every C source
#   make fuzz       fuzz the config loaders for FUZZ_SECONDS (default 60)
#   make fuzz-smoke the same for 20 seconds (for tests/run.sh)

BUILD     := build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

WARNINGS  := -Wall -Wextra
CFLAGS    ?= -O2 -g
USER_CFLAGS := $(CFLAGS) $(WARNINGS) -std=gnu11 -Iinclude -Iuser -I$(BUILD)
BPF_CFLAGS  := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) $(WARNINGS) \
	       -Ivmlinux -Iinclude -Ibpf
# libcurl and json-c: fleet mode's etcd client (user/etcd.c).
LIBS      := -lbpf -lelf -lz -lyaml -ljson-c
# What a node reports as its veer in fleet mode (user/fleet.h).
VEER_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
USER_CFLAGS += -DVEER_VERSION='"$(VEER_VERSION)"'

# Test programs and tools: the user flags, the test libraries' headers, and
# the test-only skeletons. build/tests/ first: a build/veer_sock_test.skel.h
# left by older trees (the test object was once in bpf/) must not shadow
# the current one.
TEST_CFLAGS := -I$(BUILD)/tests $(USER_CFLAGS) -Itests/lib -Itests/tools
# Every object also writes its header dependencies (build/**/*.d, included
# at the end): a header change rebuilds exactly what includes it.
DEPFLAGS  := -MMD -MP

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
# Test-only BPF objects (not loaded by veer), their skeletons in build/tests/.
TEST_BPF_OBJS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/tests/%.bpf.o,\
		   $(wildcard tests/bpf/*.bpf.c)) $(BUILD)/tests/veer_drop.bpf.o
TEST_SKELS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/tests/%.skel.h,\
		$(wildcard tests/bpf/*.bpf.c))

# The command line (main, option tables, commands) is the command's alone;
# everything else is linked into the command and into the tests.
CLI_SRCS  := user/veer.c user/cli.c $(wildcard user/cmd_*.c)
CLI_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(CLI_SRCS))
LIB_SRCS  := $(filter-out $(CLI_SRCS),$(wildcard user/*.c))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
# Only for the fuzzer, built in one command without dependency files.
USER_HDRS := $(wildcard user/*.h) $(wildcard include/*.h)

# The tests' objects, in build/tests/ under their source's path.
UNIT_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/unit/*.c))
PACKET_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/packet/*.c))
PKT_OBJ     := $(BUILD)/tests/lib/pkt.o
TOOL_OBJ    := $(BUILD)/tests/tools/tool_common.o

# The dependency files of every object any rule below may compile.
DEPS      := $(patsubst %.o,%.d,$(BPF_OBJS) $(TEST_BPF_OBJS)) \
	     $(patsubst %.c,$(BUILD)/%.d,$(wildcard user/*.c tests/*/*.c))

TOOLS     := $(BUILD)/veer-testsrv $(BUILD)/veer-testclient \
	     $(BUILD)/veer-loadgen $(BUILD)/veer-spoof $(BUILD)/veer-drop \
	     $(BUILD)/veer-httpsrv $(BUILD)/veer-httpclient \
	     $(BUILD)/veer-fleet-probe

TEST_BINS := $(BUILD)/test_unit $(BUILD)/test_packet

# libFuzzer over the config loaders: only the sources they need (no BPF
# skeletons), all instrumented; any sanitizer report is a crash.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=all $(WARNINGS) -std=gnu11 -Iinclude -Iuser
FUZZ_SRCS := user/addr.c user/model.c user/diag.c user/load.c user/native.c \
	     user/wait.c user/yaml_tree.c $(wildcard user/istio*.c) \
	     user/yaml_read.c user/objects.c user/objset.c user/yaml_emit.c
FUZZ_CORPUS := $(BUILD)/fuzz-corpus

.PHONY: all test demo deps vmlinux format clean tests-bin fuzz fuzz-smoke \
	microbench microbench-compare bench soak kernel-matrix
.DELETE_ON_ERROR:
# The BPF objects are kept (make would delete them as intermediates of the
# skeletons): the verifier tools, bpftool and `make` runs after them read
# them.
.SECONDARY: $(BPF_OBJS) $(TEST_BPF_OBJS)

all: $(BUILD)/veer $(TOOLS)

$(BUILD):
	@mkdir -p $(BUILD)/user $(BUILD)/tests

# An object whose .d file is missing (a tree built before dependency files)
# is rebuilt; the empty rule lets make go on without one. (Named, not a
# pattern: a missing intermediate would not rebuild anything.) clang writes
# the .d file after the object: every compile rule touches its object, or
# it would be older than its .d and rebuilt on every run.
$(DEPS): ;

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/%.bpf.d | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@
	@touch $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/user/%.o: user/%.c $(BUILD)/user/%.d | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(DEPFLAGS) -c $< -o $@
	@touch $@

# Only the loader includes the skeletons: a BPF change rebuilds it alone.
$(BUILD)/user/loader.o: $(SKELS)

# ncurses draws `veer top`: only the command links it. libmicrohttpd
# (`veer metrics`) is opened by that command alone (cmd_metrics.c says why).
$(BUILD)/veer: $(CLI_OBJS) $(LIB_OBJS)
	$(CC) $(USER_CFLAGS) $^ -o $@ $(LIBS) -lncurses -lm

# Test-only BPF objects, each with its skeleton in build/tests/, never part
# of veer: the packet tests' socket-path entry (tests/bpf/) and the lab's
# packet loss, a TC classifier (tests/tools/veer_drop.bpf.c) with its loader.
$(BUILD)/tests/%.bpf.o: tests/bpf/%.bpf.c $(BUILD)/tests/%.bpf.d | $(BUILD)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@
	@touch $@

$(BUILD)/tests/veer_drop.bpf.o: tests/tools/veer_drop.bpf.c \
		$(BUILD)/tests/veer_drop.bpf.d | $(BUILD)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -mcpu=v3 -Itests/tools $(DEPFLAGS) -c $< -o $@
	@touch $@

$(BUILD)/tests/%.skel.h: $(BUILD)/tests/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

# Test programs' and tools' objects.
$(BUILD)/tests/%.o: tests/%.c $(BUILD)/tests/%.d | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(DEPFLAGS) -c $< -o $@
	@touch $@

# Generated headers they include, made before they compile (afterwards
# their .d files name them).
$(PACKET_OBJS): | $(SKELS) $(TEST_SKELS)
$(BUILD)/tests/tools/veer_drop.o: | $(BUILD)/tests/veer_drop.skel.h

$(BUILD)/veer-testsrv: $(BUILD)/tests/tools/veer_testsrv.o $(TOOL_OBJ)
	$(CC) $(USER_CFLAGS) $^ -o $@

$(BUILD)/veer-testclient: $(BUILD)/tests/tools/veer_testclient.o $(TOOL_OBJ)
	$(CC) $(USER_CFLAGS) $^ -o $@

# The conntrack tests' adversary: crafted segments from tests/lib/pkt.c.
$(BUILD)/veer-spoof: $(BUILD)/tests/tools/veer_spoof.o $(PKT_OBJ) $(TOOL_OBJ)
	$(CC) $(USER_CFLAGS) $^ -o $@ -lbpf

# The lab's packet loss: the loader of tests/tools/veer_drop.bpf.c.
$(BUILD)/veer-drop: $(BUILD)/tests/tools/veer_drop.o $(TOOL_OBJ)
	$(CC) $(USER_CFLAGS) $^ -o $@ -lbpf -lelf -lz

# HTTP/1.1 backend and client of the header-routing tests.
$(BUILD)/veer-httpsrv: $(BUILD)/tests/tools/veer_httpsrv.o $(TOOL_OBJ)
	$(CC) $(USER_CFLAGS) $^ -o $@

$(BUILD)/veer-httpclient: $(BUILD)/tests/tools/veer_httpclient.o $(TOOL_OBJ)
	$(CC) $(USER_CFLAGS) $^ -o $@

# Fleet mode's node side, driven by the fleet tests (read, watch, report)
# until veer watch --etcd does it; converge times the fleet benchmark's
# changes on the nodes' maps.
$(BUILD)/veer-fleet-probe: $(BUILD)/tests/tools/veer_fleet_probe.o $(LIB_OBJS)
	$(CC) $(USER_CFLAGS) $^ -o $@ $(LIBS)

$(BUILD)/veer-loadgen: $(BUILD)/tests/bench/loadgen.o $(TOOL_OBJ)
	$(CC) $(USER_CFLAGS) $^ -o $@

$(BUILD)/test_unit: $(UNIT_OBJS) $(LIB_OBJS)
	$(CC) $(USER_CFLAGS) $^ -o $@ $(LIBS) -lcunit

$(BUILD)/test_packet: $(PACKET_OBJS) $(PKT_OBJ) $(LIB_OBJS)
	$(CC) $(USER_CFLAGS) $^ -o $@ $(LIBS) -lcunit -lm

$(BUILD)/microbench: $(BUILD)/tests/bench/microbench.o $(PKT_OBJ) $(LIB_OBJS)
	$(CC) $(USER_CFLAGS) $^ -o $@ $(LIBS)

tests-bin: all $(TEST_BINS)

# veer against iptables, nftables, HAProxy and nginx in the namespace lab
# (root; about 32 minutes, 4 of them the http part and 3 the fleet part).
# BENCH_ARGS passes options, e.g. BENCH_ARGS="-p http -H 3".
bench: deps
	@$(MAKE) --no-print-directory all
	scripts/bench.sh $(BENCH_ARGS)

# Ten minutes of everything at once in the lab (root): streams, flips,
# short connections, a SYN flood, killed applies, an upgrade. SOAK_ARGS
# passes options, e.g. SOAK_ARGS="-d 60 -m xdp".
soak: deps
	@$(MAKE) --no-print-directory all
	scripts/soak.sh $(SOAK_ARGS)

# Unit, packet and an e2e subset on each stock kernel Debian's configured
# sources offer, booted in qemu over this tree (root; not part of make
# test). KERNEL_MATRIX_ARGS passes options, e.g. KERNEL_MATRIX_ARGS=--full.
kernel-matrix: deps
	@$(MAKE) --no-print-directory tests-bin
	scripts/kernel-matrix.sh $(KERNEL_MATRIX_ARGS)

# Per-packet cost of each program (root): BPF_PROG_TEST_RUN with repeat.
microbench: all $(BUILD)/microbench
	$(BUILD)/microbench

# What a change costs per packet: microbench of two revisions in paired,
# alternating runs, with a 95% interval of the difference (root), e.g.
# make microbench-compare BASE=v1.2 [NEW=REV] [COMPARE_ARGS="-p 40"].
microbench-compare:
	@test -n "$(BASE)" || { echo "make microbench-compare: set BASE=REV" >&2; exit 2; }
	scripts/microbench-compare.sh $(COMPARE_ARGS) $(BASE) $(NEW)

$(BUILD)/fuzz_config: tests/fuzz/fuzz_config.c $(FUZZ_SRCS) $(USER_HDRS) | $(BUILD)
	$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_config.c $(FUZZ_SRCS) -o $@ -lyaml

# The working corpus persists in build/ so runs build on each other; new
# crashes land in build/fuzz-artifacts/ and make the target fail.
fuzz: $(BUILD)/fuzz_config
	@mkdir -p $(BUILD)/fuzz-artifacts
	tests/fuzz/corpus.sh $(FUZZ_CORPUS)
	$(BUILD)/fuzz_config -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
		-max_len=16384 -timeout=20 -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz-artifacts/ $(FUZZ_CORPUS)

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

deps:
	@scripts/install-deps.sh

test: deps
	@$(MAKE) --no-print-directory tests-bin
	tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	scripts/demo.sh

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v '^vmlinux/')

clean:
	rm -rf $(BUILD)

include $(wildcard $(DEPS))
