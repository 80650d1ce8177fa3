# veer: weighted TCP traffic splitting in eBPF.
#
#   make            build everything into build/
#   make test       install missing packages, build, run all test layers (root)
#   make demo       install missing packages, build, run the namespace demo (root)
#   make bench      veer vs iptables/nftables/HAProxy/nginx (scripts/bench.sh; root)
#   make microbench per-packet cost of each program, from BPF_PROG_TEST_RUN
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
LIBS      := -lbpf -lelf -lz -lyaml

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/lib/*.h) $(wildcard include/*.h)

# Everything but main(): linked into the command and into the tests.
LIB_SRCS  := $(filter-out user/veer.c,$(wildcard user/*.c))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
USER_HDRS := $(wildcard user/*.h) $(wildcard include/*.h)

TOOLS     := $(BUILD)/veer-testsrv $(BUILD)/veer-testclient \
	     $(BUILD)/veer-loadgen $(BUILD)/veer-spoof $(BUILD)/veer-drop \
	     $(BUILD)/veer-httpsrv $(BUILD)/veer-httpclient

TEST_BINS := $(BUILD)/test_unit $(BUILD)/test_packet

# libFuzzer over the config loaders: only the sources they need (no BPF
# skeletons), all instrumented; any sanitizer report is a crash.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=all $(WARNINGS) -std=gnu11 -Iinclude -Iuser
FUZZ_SRCS := user/addr.c user/model.c user/diag.c user/load.c user/native.c \
	     user/wait.c user/yaml_tree.c user/istio.c user/yaml_read.c
FUZZ_CORPUS := $(BUILD)/fuzz-corpus

.PHONY: all test demo deps vmlinux format clean tests-bin fuzz fuzz-smoke \
	microbench bench soak kernel-matrix
.DELETE_ON_ERROR:
# The BPF objects are kept (make would delete them as intermediates of the
# skeletons): the verifier tools, bpftool and `make` runs after them read
# them.
.SECONDARY: $(BPF_OBJS) $(BUILD)/tests/veer_drop.bpf.o

all: $(BUILD)/veer $(TOOLS)

$(BUILD):
	@mkdir -p $(BUILD)/user $(BUILD)/tests

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/user/%.o: user/%.c $(USER_HDRS) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -c $< -o $@

# Only the loader includes the skeletons: a BPF change rebuilds it alone.
$(BUILD)/user/loader.o: $(SKELS)

$(BUILD)/veer: $(BUILD)/user/veer.o $(LIB_OBJS)
	$(CC) $(USER_CFLAGS) $^ -o $@ $(LIBS)

TOOL_COMMON := tests/tools/tool_common.c tests/tools/tool_common.h

$(BUILD)/veer-testsrv: tests/tools/veer_testsrv.c $(TOOL_COMMON) | $(BUILD)
	$(CC) $(USER_CFLAGS) $< tests/tools/tool_common.c -o $@

$(BUILD)/veer-testclient: tests/tools/veer_testclient.c $(TOOL_COMMON) | $(BUILD)
	$(CC) $(USER_CFLAGS) $< tests/tools/tool_common.c -o $@

# The conntrack tests' adversary: crafted segments from tests/lib/pkt.c.
$(BUILD)/veer-spoof: tests/tools/veer_spoof.c tests/lib/pkt.c tests/lib/pkt.h \
		$(TOOL_COMMON) | $(BUILD)
	$(CC) $(USER_CFLAGS) -Itests/lib $< tests/lib/pkt.c \
		tests/tools/tool_common.c -o $@ -lbpf

# The lab's packet loss: a TC classifier (tests/tools/veer_drop.bpf.c) in a
# skeleton of its own, and its loader.
$(BUILD)/tests/veer_drop.bpf.o: tests/tools/veer_drop.bpf.c tests/tools/veer_drop.h | $(BUILD)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -mcpu=v3 -Itests/tools -c $< -o $@

$(BUILD)/tests/veer_drop.skel.h: $(BUILD)/tests/veer_drop.bpf.o
	$(BPFTOOL) gen skeleton $< name veer_drop > $@

$(BUILD)/veer-drop: tests/tools/veer_drop.c tests/tools/veer_drop.h \
		$(BUILD)/tests/veer_drop.skel.h $(TOOL_COMMON) | $(BUILD)
	$(CC) $(USER_CFLAGS) -Itests/tools -I$(BUILD)/tests $< \
		tests/tools/tool_common.c -o $@ -lbpf -lelf -lz

# HTTP/1.1 backend and client of the header-routing tests.
$(BUILD)/veer-httpsrv: tests/tools/veer_httpsrv.c tests/tools/http_common.h \
		$(TOOL_COMMON) | $(BUILD)
	$(CC) $(USER_CFLAGS) $< tests/tools/tool_common.c -o $@

$(BUILD)/veer-httpclient: tests/tools/veer_httpclient.c tests/tools/http_common.h \
		$(TOOL_COMMON) | $(BUILD)
	$(CC) $(USER_CFLAGS) $< tests/tools/tool_common.c -o $@

$(BUILD)/veer-loadgen: tests/bench/loadgen.c $(TOOL_COMMON) | $(BUILD)
	$(CC) $(USER_CFLAGS) $< tests/tools/tool_common.c -o $@

$(BUILD)/test_unit: $(wildcard tests/unit/*.c tests/unit/*.h) $(LIB_OBJS) $(USER_HDRS)
	$(CC) $(USER_CFLAGS) $(wildcard tests/unit/*.c) $(LIB_OBJS) -o $@ \
		$(LIBS) -lcunit

$(BUILD)/test_packet: $(wildcard tests/packet/*.c tests/packet/*.h tests/lib/*) $(LIB_OBJS) \
		$(USER_HDRS) $(SKELS)
	$(CC) $(USER_CFLAGS) -Itests/lib $(wildcard tests/packet/*.c) \
		tests/lib/pkt.c $(LIB_OBJS) -o $@ $(LIBS) -lcunit -lm

$(BUILD)/microbench: tests/bench/microbench.c $(wildcard tests/lib/*) \
		$(LIB_OBJS) $(USER_HDRS) $(SKELS)
	$(CC) $(USER_CFLAGS) -Itests/lib tests/bench/microbench.c \
		tests/lib/pkt.c $(LIB_OBJS) -o $@ $(LIBS)

tests-bin: all $(TEST_BINS)

# veer against iptables, nftables, HAProxy and nginx in the namespace lab
# (root; about 29 minutes, 4 of them the http part). BENCH_ARGS passes
# options, e.g. BENCH_ARGS="-p http -H 3".
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
