# Front door for the build: `make demo` sets up and runs the main job,
# `make check` runs every test. CMake does the real work in build*/.
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz

.PHONY: all deps demo check check-release check-asan fuzz bench bench-serve clean

all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

deps:
	bash scripts/deps.sh

demo: deps all
	bash scripts/demo.sh $(BUILD)/beaconwatch

check: deps check-release check-asan

check-release: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

check-asan:
	CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DBW_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS)

# Short libFuzzer run of every reader target (FUZZ_SECONDS each).
FUZZ_SECONDS ?= 30
fuzz:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DBW_FUZZ=ON -DBW_SANITIZE=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: all
	bash bench/run.sh $(BUILD)/beaconwatch

# Dashboard API latency under wrk (bench/README.md).
bench-serve: all
	bash bench/serve_bench.sh $(BUILD)/beaconwatch

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
