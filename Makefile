# descent: `make demo` and `make test` each install what is missing, configure, build and run.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo bench fuzz clean

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

# Fuzzes the IDX, CSV, safetensors and config readers with libFuzzer + ASan + UBSan in its own clang build folder, each for
# FUZZ_SECONDS over the seed corpus in fuzz/corpus; fails on any crash or sanitizer report.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60

fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DDESCENT_FUZZ=ON -DDESCENT_TESTS=OFF -DDESCENT_BENCH=OFF
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_idx fuzz_csv fuzz_safetensors fuzz_config
	fuzz/run-fuzzers $(FUZZ_DIR) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD_DIR)
