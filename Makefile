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

# The main job: the Fashion-MNIST MLP of examples/fashion-mnist-mlp.toml (AdamW, warm-up + cosine decay)
# trained with the progress bar into runs/; the run folder is printed at the end.
demo: build
	$(BUILD_DIR)/descent train examples/fashion-mnist-mlp.toml

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
