# descent: `make demo` and `make test` each install what is missing, configure, build and run.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test test-sanitize demo bench fuzz torture clean

all: build

deps:
	@scripts/install-deps

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The main job: the seeds' experiment on Fashion-MNIST (examples/compare-fashion-mnist.toml): SGD with
# momentum, Adam, AdamW, RMSprop and Lion on the MLP, 3 seeds each, paired by seed, one trial per core;
# prints the comparison table (tests against AdamW) and the paths of comparison.json and the HTML report.
demo: build
	$(BUILD_DIR)/descent compare examples/compare-fashion-mnist.toml

bench: build
	@scripts/install-deps --bench
	scripts/bench-all

# The whole test suite built with clang under AddressSanitizer and UndefinedBehaviorSanitizer in its own
# build folder; any report fails the test that triggered it (halt_on_error, no recovery).
SANITIZE_DIR ?= build-sanitize

test-sanitize: deps
	CC=clang CXX=clang++ cmake -S . -B $(SANITIZE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DDESCENT_SANITIZE=ON -DDESCENT_BENCH=OFF -DDESCENT_WERROR=OFF
	cmake --build $(SANITIZE_DIR) -j $(JOBS)
	ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir $(SANITIZE_DIR) --output-on-failure -j $(JOBS)

# Kills, full disks and concurrent processes against the built program (docs/RELIABILITY.md); long, so
# outside `make test`, which runs a 3-kill version of each.
TORTURE_KILLS ?= 20

torture: build
	scripts/torture $(BUILD_DIR)/descent $(TORTURE_KILLS)

# Fuzzes every reader of untrusted input (IDX, CSV, safetensors, configs, the report's JSON files) and the
# paths past decoding (checkpoints into a trainer, configs into models) with libFuzzer + ASan + UBSan in
# its own clang build folder, each for FUZZ_SECONDS over the seed corpus in fuzz/corpus; fails on any
# crash or sanitizer report.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60

fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DDESCENT_FUZZ=ON -DDESCENT_TESTS=OFF -DDESCENT_BENCH=OFF
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_idx fuzz_csv fuzz_safetensors fuzz_config \
	  fuzz_report fuzz_checkpoint fuzz_model fuzz_study
	fuzz/run-fuzzers $(FUZZ_DIR) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD_DIR)
