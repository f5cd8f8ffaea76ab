# sfops.salesforce — developer entry points. `make demo` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
CCI_VENV := .venv-cci
BIN := $(abspath $(VENV)/bin)
ROOT := $(abspath .)
BUILD := $(ROOT)/.build
INSTALLED := $(BUILD)/ansible_collections/sfops/salesforce
OUTPUT := $(ROOT)/tests/output
PYTEST_WORKERS ?= 2
export LC_ALL := C.UTF-8
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg

.PHONY: help venv venv-cci demo test test-emulator sanity units integration lint docs-lint changelog-lint build bench clean
.PHONY: test-live record-live test-live-sfemu
.PHONY: test-matrix matrix-venvs matrix-constraints

help:
	@echo "make demo   run the integration-user job against the local Salesforce emulator (sfemu), twice, then a drift check"
	@echo "make test   every check: emulator tests, ansible-test sanity + units, integration against sfemu, ansible-lint, docs lint"
	@echo "make bench  API requests / wall time / memory per org for 1, 10, 100 orgs, with the uri and Salesforce CLI baselines (writes bench/results.md); BENCH_ARGS=\"--orgs 100,1000 ...\" for other sizes"
	@echo "make test-live    end to end against your sandbox or scratch org (SFOPS_LIVE_* variables, docs/live.md)"
	@echo "make record-live  the same, saving every answer, scrubbed, under tests/fixtures/recorded/"
	@echo "make test-matrix  sanity, units and the integration smoke test on ansible-core $(MATRIX_CORES) (part of make test)"
	@echo "make venv   create .venv with pinned tools; .venv/bin/ansible-* resolve sfops.salesforce to this checkout"
	@echo "make venv-cci  create .venv-cci with pinned CumulusCI (a real client the emulator's tests run; make test does it)"

# ---------------------------------------------------------------------------------------------------------------
venv: $(VENV)/.installed

$(VENV)/.installed: requirements/dev.txt requirements/collection.txt requirements/constraints.txt sfemu/pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c requirements/constraints.txt -r requirements/dev.txt
	$(VENV)/bin/python -m pip install --quiet -c requirements/constraints.txt -e sfemu
	@# The collection loader finds sfops.salesforce through ansible.cfg's collections_path = .venv.
	@mkdir -p $(VENV)/ansible_collections/sfops
	@ln -sfn ../../.. $(VENV)/ansible_collections/sfops/salesforce
	@touch $@

# CumulusCI in a venv of its own (its pins clash with the tools above: docutils<=0.21.2). sfemu's tests run its
# `cci` unchanged against the emulator (sfemu/tests/test_cumulusci.py).
venv-cci: $(CCI_VENV)/.installed

$(CCI_VENV)/.installed: requirements/cumulusci.txt requirements/cumulusci-constraints.txt
	@test -x $(CCI_VENV)/bin/python || $(PYTHON) -m venv $(CCI_VENV)
	$(CCI_VENV)/bin/python -m pip install --quiet -c requirements/cumulusci-constraints.txt -r requirements/cumulusci.txt
	@touch $@

# ---------------------------------------------------------------------------------------------------------------
demo: venv
	$(BIN)/python tools/demo.py

bench: venv
	$(BIN)/python -m pip install --quiet -r requirements/bench.txt
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# ---------------------------------------------------------------------------------------------------------------
# The collection as it ships: build the tarball and install it where ansible-test wants it
# (.../ansible_collections/<namespace>/<name>); sanity and units run on exactly what galaxy would publish.
build: venv
	@rm -rf $(BUILD) && mkdir -p $(BUILD)/dist
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD)/dist . > /dev/null
	$(BIN)/ansible-galaxy collection install --force -p $(BUILD) $(BUILD)/dist/sfops-salesforce-*.tar.gz > /dev/null
	@# ansible-test lists files through the nearest git repository; without one of its own it would see this
	@# checkout's, where .build is ignored, and skip every target.
	@cd $(INSTALLED) && git init -q . && git add -A
	@echo "built and installed $$(ls $(BUILD)/dist)"

test: venv
	@rm -rf $(OUTPUT) && mkdir -p $(OUTPUT)
	$(MAKE) --no-print-directory test-emulator build sanity units integration test-live-sfemu lint docs-lint changelog-lint test-matrix
	@$(BIN)/python tools/test_summary.py $(OUTPUT)

test-emulator: venv venv-cci
	$(BIN)/python -m pytest sfemu/tests -q -p no:cacheprovider -n $(PYTEST_WORKERS) --junitxml=$(OUTPUT)/junit-sfemu.xml

# ansible-test bootstraps pip in each of its venvs from a host this network cannot reach; our own script provides it.
# Every Python interpreter found (3.9 .. 3.13) is put first on PATH so compile and import run on each of them.
sanity: build
	@$(BIN)/python tools/ansible_test_pip_bootstrap.py
	@PYBIN=$$(tools/python_interpreters.sh $(BUILD)/pybin); \
	  cd $(INSTALLED) && PATH="$$PYBIN:$(BIN):$$PATH" $(BIN)/ansible-test sanity --color no \
	    $${SANITY_ARGS:-}
	@mkdir -p $(OUTPUT) && cp -r $(INSTALLED)/tests/output/junit $(OUTPUT)/junit-sanity 2>/dev/null || true

units: build
	cd $(INSTALLED) && PATH="$(BIN):$$PATH" $(BIN)/ansible-test units --color no --python 3.11
	@mkdir -p $(OUTPUT) && cp -r $(INSTALLED)/tests/output/junit $(OUTPUT)/junit-units 2>/dev/null || true

integration: venv
	$(BIN)/python -m pytest tests/integration -q -p no:cacheprovider -n $(PYTEST_WORKERS) --junitxml=$(OUTPUT)/junit-integration.xml

# The live-org path (docs/live.md): against the org the SFOPS_LIVE_* variables name; without them it says what to
# set and exits 0. record-live also saves every answer, scrubbed, under tests/fixtures/recorded/<date>-<run id>/.
test-live: venv
	$(BIN)/python -m pytest tests/live -q -p no:cacheprovider -n 0 -rA

record-live: venv
	SFOPS_LIVE_RECORD=1 $(BIN)/python -m pytest tests/live -q -p no:cacheprovider -n 0 -rA

# The same suite with a fresh sfemu standing in for the org, then its recording replayed against sfemu.
test-live-sfemu: venv
	SFOPS_LIVE_SFEMU_JUNIT=$(OUTPUT)/junit-live.xml $(BIN)/python -m pytest tests/live_sfemu -q -p no:cacheprovider \
	  -n 0 --junitxml=$(OUTPUT)/junit-live-sfemu.xml

lint: venv
	ANSIBLE_COLLECTIONS_PATH=$(ROOT)/$(VENV) $(BIN)/ansible-lint --offline

docs-lint: build
	PATH="$(BIN):$$PATH" $(BIN)/antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs=all $(INSTALLED)

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

# ---------------------------------------------------------------------------------------------------------------
# The ansible-core matrix. The dev venv (.venv) runs every check on 2.19; the newer releases that meta/runtime.yml's
# requires_ansible admits get ansible-test sanity (on every Python 3.9 .. 3.13 found), ansible-test units and the
# integration smoke test (tests/integration/test_smoke.py: the demo's setup + drift check on one org), each in its
# own venv on a Python it supports on the controller (2.20 and 2.21 need 3.12 or later). Linters and docs checks
# do not depend on the release and run once, on .venv.
MATRIX_CORES := 2.20 2.21
MATRIX_PYTHON_2.20 := 3.12
MATRIX_PYTHON_2.21 := 3.13
MATRIX_TESTS := $(addprefix test-core,$(MATRIX_CORES))
.PHONY: $(MATRIX_TESTS)

matrix-venvs: $(foreach core,$(MATRIX_CORES),.venv-core$(core)/.installed)

.venv-core%/.installed: requirements/matrix.txt requirements/collection.txt requirements/constraints-core%.txt \
                        sfemu/pyproject.toml
	tools/matrix_venv.sh $* $(MATRIX_PYTHON_$*) .venv-core$*

# After a change to requirements/matrix.txt, or to take newer releases: rewrite requirements/constraints-core*.txt.
matrix-constraints:
	$(foreach core,$(MATRIX_CORES),tools/matrix_venv.sh --lock $(core) $(MATRIX_PYTHON_$(core)) &&) true

test-matrix: $(MATRIX_TESTS)

# One release: sanity and units on the tree `build` installed (its tests/output/junit emptied first, so each
# release's reports are its own), then the smoke test with this venv's Python, ansible-playbook and sfemu.
$(MATRIX_TESTS): test-core%: build .venv-core%/.installed
	@echo "== ansible-core $* ($$($(ROOT)/.venv-core$*/bin/ansible --version | sed -n 1p)) on Python $(MATRIX_PYTHON_$*)"
	@$(ROOT)/.venv-core$*/bin/python tools/ansible_test_pip_bootstrap.py
	@rm -rf $(INSTALLED)/tests/output/junit
	@PYBIN=$$(tools/python_interpreters.sh $(BUILD)/pybin); \
	  cd $(INSTALLED) && PATH="$$PYBIN:$(ROOT)/.venv-core$*/bin:$$PATH" $(ROOT)/.venv-core$*/bin/ansible-test sanity \
	    --color no $${SANITY_ARGS:-}
	cd $(INSTALLED) && PATH="$(ROOT)/.venv-core$*/bin:$$PATH" $(ROOT)/.venv-core$*/bin/ansible-test units --color no \
	  --python $(MATRIX_PYTHON_$*)
	@mkdir -p $(OUTPUT) && rm -rf $(OUTPUT)/junit-core$* && cp -r $(INSTALLED)/tests/output/junit $(OUTPUT)/junit-core$*
	SFOPS_ANSIBLE_CORE=$* SFEMU_TEST_ORGS=1 $(ROOT)/.venv-core$*/bin/python -m pytest tests/integration/test_smoke.py \
	  -q -p no:cacheprovider -n 0 --junitxml=$(OUTPUT)/junit-core$*/smoke.xml

clean:
	rm -rf $(BUILD) $(OUTPUT) .demo .pytest_cache
