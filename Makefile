# The two commands: `make run` and `make test`. Everything else is a step of theirs.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps build run test unit integration bench fmt fmt-check clean

all: build

deps:
	@scripts/install-deps.sh test

# Compiler output is cached across clones and CI runs.
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/portico
export CCACHE_DIR ?= $(CACHE_DIR)/ccache
LAUNCHER = $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(LAUNCHER)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	scripts/run-local.sh

test: build fmt-check
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

bench: build
	@scripts/install-deps.sh bench
	bench/run.sh

fmt:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

fmt-check:
	@git ls-files '*.cc' '*.h' | xargs -r clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR)
