# mambaflow — the two set-up commands:
#   make demo   install what is missing (Debian), build, run the demo on the bundled model
#   make test   install what is missing (Debian), build, run the tests
# Other targets: make build, make deps, make gpu-build (sm_90, for the GPU machine), make clean.

BUILD     ?= build
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
BUILD_TYPE ?= Release
CMAKE_ARGS ?=
NVCC      := $(firstword $(wildcard /usr/local/cuda/bin/nvcc) $(shell command -v nvcc 2>/dev/null))

# Debian packages the build needs (checked with dpkg, installed with apt-get when missing).
DEB_PKGS := cmake g++ make pkg-config libtbb-dev libsndfile1-dev libsoxr-dev libfftw3-dev libhts-dev \
            libboost-program-options-dev catch2 nlohmann-json3-dev zlib1g-dev

ifneq ($(NVCC),)
  CUDA_ARGS := -DCMAKE_CUDA_COMPILER=$(NVCC)
else
  CUDA_ARGS := -DMAMBAFLOW_CUDA=OFF
endif

.PHONY: all deps build test demo clean gpu-build

all: build

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "mambaflow: installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@[ -n "$(NVCC)" ] || echo "mambaflow: nvcc not found: building without CUDA (CPU only)"

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CUDA_ARGS) $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(BUILD)/bin/mambaflow_gpu_tests >/dev/null 2>&1; \
	  [ $$? -ne 77 ] || echo "mambaflow: no usable CUDA GPU here: the GPU tests were SKIPPED (scripts/gpu-check runs them on a GPU machine)"

demo: build
	@echo; echo "== mambaflow info (bundled tiny model: random weights, for plumbing only) =="
	$(BUILD)/bin/mambaflow info --model models/tiny-random-dna
	@echo; echo "== embed a bundled FASTA (2 records) on the CPU =="
	rm -rf $(BUILD)/demo-out
	$(BUILD)/bin/mambaflow embed --model models/tiny-random-dna --device cpu --chunk 1000 \
	    -o $(BUILD)/demo-out examples/data/demo.fa
	@ls -l $(BUILD)/demo-out

# A build for the H100/H200 machine: portable CPU code (no -march=native), sm_90 kernels.
gpu-build: deps
	cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release $(CUDA_ARGS) \
	  -DCMAKE_CUDA_ARCHITECTURES=90 -DMAMBAFLOW_NATIVE=OFF $(CMAKE_ARGS)
	cmake --build build-gpu -j $(JOBS)

clean:
	rm -rf $(BUILD) build-gpu
