# optreg: one entry point. `make` builds bin/, `make test` runs every suite,
# `make run` starts a local registry; see README.md.

SHELL := /bin/sh
.DEFAULT_GOAL := all

# Sanitizer builds live in their own tree so objects never mix.
SAN ?=
ifeq ($(SAN),1)
BUILD ?= build/asan
CC := clang
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1 -g
else
BUILD ?= build/release
CC ?= cc
SANFLAGS :=
OPT := -O2 -g
endif
BIN ?= $(if $(filter 1,$(SAN)),$(BUILD)/bin,bin)

PKGS := jansson yaml-0.1 libcrypto libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libmicrohttpd libpq openblas 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SERVER_LIBS := $(shell pkg-config --libs libmicrohttpd libpq 2>/dev/null) -lz -lpthread
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS ?=
CFLAGS += -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wformat=2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	$(OPT) $(HARDEN) $(SANFLAGS) $(PKG_CFLAGS) -I. -MMD -MP
LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SANFLAGS)
LDLIBS := $(PKG_LIBS) -lm

# Each program's folder may have one level of subfolders (registry/api/, ...).
src_in = $(wildcard $(1)/*.c $(1)/*/*.c)
COMMON_SRC := $(call src_in,common)
VALIDATOR_SRC := $(call src_in,validator)
CLI_SRC := $(call src_in,cli)
SERVER_SRC := $(call src_in,registry)
SERVER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out registry/main.c,$(SERVER_SRC)))
SERVER_LIB := $(BUILD)/libregistry.a
# The web page's files (ui/*), embedded in optreg-server by a generated C
# file (registry/ui.h): the server reads no file at run time.
UI_GEN := $(BUILD)/gen/ui_files.c
SERVER_OBJ += $(BUILD)/gen/ui_files.o
# The runner's CUDA backend (runner/cuda/*.cu, docs/runner.md "GPU
# backend"): built when nvcc is there (CUDA ?= auto), skipped with
# `make CUDA=0`, when nvcc is missing, and in sanitizer builds (the CUDA
# runtime and ASan disagree about the address space); runner/cuda_none.c
# stands in for it then. Machine code for sm_90 (H100/H200) and sm_80, and
# compute_90 PTX for newer devices; --fmad=false so that no multiply-add is
# fused where the CPU rounds twice (runner/kernels.h).
NVCC ?= /usr/local/cuda/bin/nvcc
CUDA_HOME ?= /usr/local/cuda
ifeq ($(SAN),1)
CUDA ?= 0
else
CUDA ?= auto
endif
ifeq ($(CUDA),auto)
override CUDA := $(if $(wildcard $(NVCC)),1,0)
endif
CUDA_GENCODE ?= -gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_90,code=compute_90 \
	-gencode arch=compute_80,code=sm_80
NVCCFLAGS := -std=c++17 -O3 --fmad=false --default-stream per-thread \
	$(CUDA_GENCODE) \
	-Xcompiler -Wall,-Wextra,-Werror,-fPIE,-fstack-protector-strong \
	-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(PKG_CFLAGS) -I. -MMD -MP
CUDA_SRC := $(filter-out runner/cuda/bench.cu,$(wildcard runner/cuda/*.cu))
ifeq ($(CUDA),1)
CUDA_OBJ := $(patsubst %.cu,$(BUILD)/%.o,$(CUDA_SRC))
# cuBLAS is not linked: runner/cuda/backend.cu loads it when the backend
# starts (dlopen through this rpath), so a CPU run never maps it.
CUDA_LIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart \
	-ldl -lstdc++
RUNNER_NOCUDA := runner/cuda_none.c
else
CUDA_OBJ :=
CUDA_LIBS :=
RUNNER_NOCUDA :=
endif
RUNNER_SRC := $(filter-out runner/cuda/% $(RUNNER_NOCUDA),$(call src_in,runner))
RUNNER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out runner/main.c,$(RUNNER_SRC)))
RUNNER_OBJ += $(CUDA_OBJ)
RUNNER_LIB := $(BUILD)/librunner.a
RUNNER_LIBS := $(shell pkg-config --libs openblas zlib 2>/dev/null || echo -lopenblas -lz) -lpthread $(CUDA_LIBS)
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(COMMON_SRC) $(VALIDATOR_SRC))
CLI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out cli/main.c,$(CLI_SRC)))
CLI_LIB := $(BUILD)/libcli.a
LIB := $(BUILD)/liboptreg.a

# Unit tests mirror the tree: tests/unit/<dir>/<module>_test.c builds
# $(BUILD)/tests/<dir>/<module>_test.
UNIT_SRC := $(wildcard tests/unit/*_test.c tests/unit/*/*_test.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(patsubst %,$(BUILD)/tests/replay_%,$(FUZZ_TARGETS))
TOOLS_BIN := $(BUILD)/tests/cases_run $(BUILD)/tests/policy_run
# tests/tools/pyref: what the C code computes, for tests/python.
TOOLS_BIN += $(BUILD)/tests/pyref

.PHONY: all test check-build run bench soak valgrind bench-gpu calibrate fuzz asan format format-check clean bootstrap

all: $(BIN)/optreg $(BIN)/optreg-server $(if $(wildcard runner/main.c),$(BIN)/optreg-runner)

bootstrap:
	@scripts/bootstrap

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(CLI_LIB): $(CLI_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN)/optreg: $(BUILD)/cli/main.o $(CLI_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# scripts/ui-embed runs on every make (so that an added or removed file
# counts) but rewrites the C file only when ui/ changed.
$(UI_GEN): ui-embed-always
	@/usr/bin/python3 scripts/ui-embed ui $@

.PHONY: ui-embed-always
ui-embed-always:

$(BUILD)/gen/ui_files.o: $(UI_GEN)
	$(CC) $(CFLAGS) -c -o $@ $<

$(SERVER_LIB): $(SERVER_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN)/optreg-server: $(BUILD)/registry/main.o $(SERVER_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(SERVER_LIBS)

# The CUDA setting of the last build of this tree: the runner's library is
# rebuilt when it changes (it holds runner/cuda/ or runner/cuda_none.c).
CUDA_STAMP := $(BUILD)/cuda.setting
$(CUDA_STAMP): cuda-setting-always
	@mkdir -p $(dir $@)
	@echo "$(CUDA)" | cmp -s - $@ || echo "$(CUDA)" > $@

.PHONY: cuda-setting-always
cuda-setting-always:

$(RUNNER_LIB): $(RUNNER_OBJ) $(CUDA_STAMP)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $(RUNNER_OBJ)

$(BIN)/optreg-runner: $(BUILD)/runner/main.o $(RUNNER_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(RUNNER_LIBS)

$(BUILD)/tests/%_test: $(BUILD)/tests/unit/%_test.o $(SERVER_LIB) $(RUNNER_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(SERVER_LIBS) $(RUNNER_LIBS) $(CMOCKA_LIBS)

# The CLI's unit tests link the CLI library instead of the server's and
# the runner's (the more specific pattern wins).
$(BUILD)/tests/cli/%_test: $(BUILD)/tests/unit/cli/%_test.o $(CLI_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/cases_run: $(BUILD)/tests/cases/cases_run.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/policy_run: $(BUILD)/tests/cases/policy_run.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/pyref: $(BUILD)/tests/tools/pyref.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# The CPU Adam step's bandwidth against memcpy (bench/adam_cpu.c), a row
# of `make bench`; check-build builds it so that it keeps compiling.
BENCH_ADAM := $(BUILD)/bench/adam-cpu
$(BENCH_ADAM): $(BUILD)/bench/adam_cpu.o $(RUNNER_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(RUNNER_LIBS)

# Each fuzz target also builds, without libFuzzer, into a replay program that
# runs it over its corpus and kept crash inputs; `make test` runs those.
$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Targets whose parser lives in a program link that program's library (the
# explicit rules win over the pattern above).
$(BUILD)/tests/replay_fuzz_suite: $(BUILD)/tests/fuzz/fuzz_suite.o \
		$(BUILD)/tests/fuzz/replay.o $(RUNNER_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(RUNNER_LIBS)

$(BUILD)/tests/replay_fuzz_lock: $(BUILD)/tests/fuzz/fuzz_lock.o \
		$(BUILD)/tests/fuzz/replay.o $(CLI_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/replay_fuzz_http: $(BUILD)/tests/fuzz/fuzz_http.o \
		$(BUILD)/tests/fuzz/replay.o $(SERVER_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(SERVER_LIBS)

check-build: all $(UNIT_BIN) $(REPLAY_BIN) $(TOOLS_BIN) $(BENCH_ADAM)

# The whole suite; ends with one line `N passed, N failed`.
test: bootstrap
	@$(MAKE) --no-print-directory check-build
	@BIN=$(BIN) BUILD=$(BUILD) scripts/run-tests

asan: bootstrap
	@$(MAKE) --no-print-directory SAN=1 test

# `make fuzz FUZZ_TARGETS=fuzz_dsse FUZZ_SECONDS=600` runs one target.
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build/fuzz
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(PKG_CFLAGS) -I.
# Every target links common/ and validator/; a target whose parser lives in
# a program also links that program's sources (not its main.c): the runner
# without its CUDA backend, the CLI, the registry with its embedded page.
FUZZ_BASE_SRC := $(COMMON_SRC) $(VALIDATOR_SRC)
FUZZ_HDR := $(wildcard common/*.h validator/*.h runner/*.h cli/*.h \
	registry/*.h registry/*/*.h tests/fuzz/*.h)
FUZZ_SRC_fuzz_suite := $(filter-out runner/main.c runner/cuda/%,$(call src_in,runner))
FUZZ_LIBS_fuzz_suite := $(shell pkg-config --libs openblas zlib 2>/dev/null || echo -lopenblas -lz) -lpthread
FUZZ_SRC_fuzz_lock := $(filter-out cli/main.c,$(CLI_SRC))
FUZZ_SRC_fuzz_http := $(filter-out registry/main.c,$(SERVER_SRC)) $(UI_GEN)
FUZZ_LIBS_fuzz_http := $(SERVER_LIBS)
FUZZ_BIN := $(patsubst %,$(FUZZ_BUILD)/%,$(FUZZ_TARGETS))

define FUZZ_RULE
$(FUZZ_BUILD)/$(1): tests/fuzz/$(1).c $(FUZZ_BASE_SRC) $(FUZZ_SRC_$(1)) $(FUZZ_HDR)
	@mkdir -p $(FUZZ_BUILD)
	clang $(FUZZ_FLAGS) -o $$@ tests/fuzz/$(1).c $(FUZZ_BASE_SRC) \
		$(FUZZ_SRC_$(1)) $(LDLIBS) $(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz: bootstrap
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) \
		scripts/fuzz $(FUZZ_TARGETS)

run: bootstrap all
	@scripts/run

bench: bootstrap all $(BENCH_ADAM)
	@BIN=$(BIN) BENCH_ADAM=$(BENCH_ADAM) scripts/bench

# The registry under mixed load with a PostgreSQL restart and a replica
# killed (scripts/soak); SOAK_SECONDS, default 600. Not part of `make test`.
SOAK_SECONDS ?= 600
soak: bootstrap all
	@SOAK_SECONDS=$(SOAK_SECONDS) scripts/soak

# End-to-end tests with the servers under valgrind's memcheck
# (scripts/valgrind-e2e): no errors, nothing definitely or indirectly lost.
valgrind: bootstrap all
	@scripts/bootstrap --valgrind
	@scripts/valgrind-e2e

# The fused Adam step on the GPU at 1M, 16M and 128M float32 parameters
# against a device-to-device copy in the same run (runner/cuda/bench.cu);
# status 2 when there is no device or no CUDA build.
BENCH_GPU := $(BUILD)/bench-gpu
ifeq ($(CUDA),1)
$(BENCH_GPU): $(BUILD)/runner/cuda/bench.o $(RUNNER_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(RUNNER_LIBS)

# Then the reference suite on the CUDA backend with one config: the whole
# run's time and the first fmnist_mlp workload's training time per step
# (scripts/bench-gpu, which tests/gpu/run also calls).
BENCH_GPU_SUITE ?= runner/suites/ref-v2.yaml
BENCH_GPU_CONFIG ?= examples/configs/adamw-cosine-1e-3.yaml
bench-gpu: $(BENCH_GPU) $(BIN)/optreg-runner
	@scripts/bench-gpu $(BENCH_GPU) $(BIN)/optreg-runner \
		$(BENCH_GPU_SUITE) $(BENCH_GPU_CONFIG)
else
bench-gpu:
	@echo "make bench-gpu: built without CUDA (no $(NVCC), or CUDA=0)" >&2
	@exit 2
endif

# The calibration matrix (runner/calibration/matrix.yaml) on the reference
# suite: every case, then the fast and borderline ones again under each of
# CALIBRATE_CORETYPE's OpenBLAS kernel sets; docs/runner.md ("Calibration").
# CALIBRATE_ARGS adds options (-j 1, --suite FILE, --markdown FILE, ...).
# The runner's own kernel set is Haswell's (pinned on AVX2 CPUs), so the
# re-run takes another family: SkylakeX's AVX-512 kernels (OpenBLAS falls
# back to its own pick on a CPU without AVX-512, and calibrate says so).
# Sandybridge's AVX kernels are a third family, but 5-10x slower here.
CALIBRATE_CORETYPE ?= SkylakeX
CALIBRATE_ARGS ?=
calibrate: bootstrap all
	@BIN=$(BIN) /usr/bin/python3 scripts/calibrate \
		--coretype $(CALIBRATE_CORETYPE) --coretype-subset edge \
		$(CALIBRATE_ARGS)

FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
