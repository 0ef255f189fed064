# pipe — build, run, test, benchmark.
#
#   make run     build bin/pipe, install ONNX Runtime if missing, run the quickstart job
#   make test    install ONNX Runtime (and the tokenizer files, OCR models,
#                ImageMagick and Chromium the tests use) if missing, vet, run every test with
#                the race detector, run each fuzz target briefly
#   make bench   the benchmarks whose figures the README reports
#   make test-arm64  cross-build the ONNX Runtime tests (bridge/ort, executor,
#                stages/model) for linux/arm64 with cgo and run them under
#                qemu-user; installs the cross gcc, qemu and the arm64 library
#   make dist    release archives for linux/amd64 and linux/arm64 (cgo) in
#                dist/, with dist/SHA256SUMS; darwin/arm64 is not built here
#                (a cgo link for macOS needs Apple's SDK and linker), only
#                type-checked by darwin-check and objc-check
#
# ONNX Runtime (pinned in scripts/install-ort.sh) is loaded at run time from
# $PIPE_ORT_LIB, else ${XDG_CACHE_HOME:-~/.cache}/pipe/onnxruntime/<version>/.

SHELL       := bash
.SHELLFLAGS := -euo pipefail -c
GO          ?= go
BIN         := bin/pipe
JOB         ?= pipelines/quickstart.yaml
FUZZTIME    ?= 8s
# The test suite may not take longer than this in CI.
TESTTIMEOUT ?= 12m

# ORT_LIB is the installed library; installing prints its path.
ORT_LIB = $(shell scripts/install-ort.sh)

.PHONY: all build ort run test vet fmt-check funclen unit fuzz bench bench-go objc-check darwin-check test-arm64 dist docs clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/pipe

ort:
	@scripts/install-ort.sh >/dev/null

run: build
	@lib=$$(scripts/install-ort.sh) && echo "onnxruntime: $$lib" && \
	  vips=$$(scripts/install-vips.sh) && echo "libvips: $$vips" && \
	  PIPE_ORT_LIB=$$lib PIPE_VIPS_LIB=$$vips ./$(BIN) run $(JOB)

test: vet fmt-check funclen
	@lib=$$(scripts/install-ort.sh) && echo "onnxruntime: $$lib" && \
	  vips=$$(scripts/install-vips.sh) && echo "libvips: $$vips" && \
	  PIPE_ORT_LIB=$$lib PIPE_VIPS_LIB=$$vips PIPE_TOKENIZERS_DIR=$$(scripts/install-tokenizers.sh) \
	  PIPE_OCR_MODELS_DIR=$$(scripts/install-ocr-models.sh) \
	  PIPE_CHROMIUM=$$(scripts/install-chromium.sh) $(GO) test -race -shuffle=on -timeout $(TESTTIMEOUT) ./...
	@$(MAKE) --no-print-directory fuzz

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Functions over 80 lines fail, unless their doc comment says why with a
# "// long: <reason>" line or the allowlist names them; see
# internal/cmd/funclen. Every package is checked: go list names their
# folders, made relative so funclen prints names as the allowlist writes
# them (testdata is left out, as go list leaves it out).
FUNCLEN_DIRS = $(filter-out ./out/%,$(patsubst $(CURDIR)%,.%,$(shell $(GO) list -e -f '{{.Dir}}' ./...)))

funclen:
	$(GO) run ./internal/cmd/funclen -allow internal/cmd/funclen/allow.txt $(FUNCLEN_DIRS)

# Each native fuzz target runs for FUZZTIME on top of its seed corpus (the
# seeds also run in every plain `go test`); scripts/fuzz.sh says how a
# known Go 1.26 fuzzing flake is told from a finding.
FUZZ_TARGETS := \
	./pipeline:FuzzLoad \
	./output:FuzzManifestNames \
	./stages/source:FuzzCSV \
	./stages/source:FuzzJSONL \
	./stages/source:FuzzJSONLInfer \
	./stages/source:FuzzParquet \
	./stages/source:FuzzIPC \
	./stages/source:FuzzIPCMetadata \
	./stages/source:FuzzParquetArrowSchema \
	./stages/source:FuzzParseVector \
	./stages/source:FuzzParseFloat32 \
	./stages/transform:FuzzFilterExpr \
	./batcher:FuzzBatcher \
	./tokenizer:FuzzEncode \
	./stages/image:FuzzImageDecode \
	./internal/onnx:FuzzDecode \
	./serve:FuzzDecodeJSONRequest \
	./serve:FuzzDecodeBinaryRequest

fuzz:
	@GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh $(FUZZ_TARGETS)

bench: build
	@scripts/bench.sh

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./batcher ./stages/... ./pipeline

objc-check:
	scripts/objc-check.sh

# No -race here: ThreadSanitizer does not run under qemu-user (see the script).
test-arm64:
	@GO=$(GO) scripts/test-arm64.sh

# The version stamped in is `git describe --tags --always --dirty`.
dist:
	@GO=$(GO) scripts/dist.sh

# Type-check every darwin-only Go file (the Apple bridges' cgo code, darwin
# tests) as a darwin/arm64 cgo build would, on any machine; the command's
# doc says what it cannot catch (C-side errors are objc-check's).
darwin-check:
	$(GO) run ./internal/cmd/darwincheck

docs: build
	./$(BIN) docs > docs/stages.md

clean:
	rm -rf bin out
