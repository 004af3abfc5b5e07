# assay — `make help` lists the targets.

GO        ?= go
BIN       ?= bin
# Packages of every module in go.work (./... does not cross modules).
PKGS      := work
SERVICES  := ingest infer score judge report

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: demo
demo: ## Run the bundled demo (embedded NATS, simulated models) and print where the report is
	$(GO) run ./cmd/assay demo

.PHONY: test
test: ## Vet and run every test with the race detector
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

# Modules of their own outside go.work (their Kubernetes, KEDA and
# Prometheus dependencies stay out of assay's): the deployment's
# manifests, dashboards and rules, each tested against the upstream types
# and parsers. Without the race detector: they test files, and compiling
# client-go with it doubles a cold build.
DEPLOY_MODULES := $(patsubst %/go.mod,%,$(wildcard deploy/*/go.mod))

.PHONY: test-deploy
test-deploy: ## Test the Kubernetes manifests, dashboards and alert rules (modules of their own; a cold build takes minutes)
	@for m in $(DEPLOY_MODULES); do echo "== $$m"; (cd $$m && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) test -count=1 -timeout 30m ./...) || exit 1; done

.PHONY: bench
bench: ## Run the benchmarks and print their figures (see BENCHMARKS.md)
	$(GO) test -run '^$$' -bench Pipeline -benchtime 1x -timeout 30m ./cmd/assay
	$(GO) test -run '^$$' -bench 'Scale/layout=inprocess/' -benchtime 1x -timeout 8h ./cmd/assay
	$(GO) test -run '^$$' -bench Continuous -benchtime 1x -timeout 30m ./cmd/assay
	$(GO) test -run '^$$' -bench . -benchmem -timeout 10m $$($(GO) list $(PKGS) | grep -v '/cmd/assay$$')
	ASSAY_SIM_REPS=20000 $(GO) test -count=1 -run TestSimulationTable -v ./services/report/stats

.PHONY: lint
lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# --version prints VERSION and the commit (-buildvcs=auto records it even
# where GOFLAGS turns it off, and builds outside a checkout all the same).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null)
BUILDFLAGS = -buildvcs=auto -ldflags "-X github.com/assay-eval/assay/pkg/stage.version=$(VERSION)"

.PHONY: build
build: ## Build assay and one binary per service into bin/ (assay --version names the commit)
	$(GO) build $(BUILDFLAGS) -o $(BIN)/assay ./cmd/assay
	@for s in $(SERVICES); do $(GO) build $(BUILDFLAGS) -o $(BIN)/assay-$$s ./services/$$s/cmd/assay-$$s || exit 1; done

# The images: static binaries (no cgo) on an empty base, one per binary,
# tagged $(IMAGE_PREFIX)<binary>:$(IMAGE_TAG); IMAGE_PREFIX is a registry
# path ending in "/" (default none: local images).
IMAGE_PREFIX ?=
IMAGE_TAG    ?= $(if $(VERSION),$(VERSION),dev)
REVISION     ?= $(shell git rev-parse HEAD 2>/dev/null)
STATICFLAGS   = -trimpath -buildvcs=auto -ldflags "-s -w -X github.com/assay-eval/assay/pkg/stage.version=$(IMAGE_TAG)"

.PHONY: images
images: ## Build the container images (deploy/docker) from static binaries built here; nothing is pulled
	@mkdir -p $(BIN)/static
	CGO_ENABLED=0 $(GO) build $(STATICFLAGS) -o $(BIN)/static/assay ./cmd/assay
	@for s in $(SERVICES); do CGO_ENABLED=0 $(GO) build $(STATICFLAGS) -o $(BIN)/static/assay-$$s ./services/$$s/cmd/assay-$$s || exit 1; done
	deploy/docker/images.sh $(BIN)/static "$(IMAGE_PREFIX)" $(IMAGE_TAG) $(if $(REVISION),$(REVISION),unknown)

# The Compose stack's secrets and .env (deploy/compose/secrets.sh): run
# after make images, then docker-compose -f deploy/compose/compose.yaml up -d.
.PHONY: compose-secrets
compose-secrets: ## Make deploy/compose's secrets (NATS config, nkeys, tokens) and .env for the images make images built
	$(GO) build $(BUILDFLAGS) -o $(BIN)/assay ./cmd/assay
	deploy/compose/secrets.sh $(BIN)/assay "$(IMAGE_PREFIX)" $(IMAGE_TAG)

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s)
	@for p in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
	    echo "== $$p $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-10s} $$p || exit 1; \
	  done; \
	done
