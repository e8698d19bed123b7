# Two commands do all set-up on a fresh machine: `make grade` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Which assignment (`grader list`); empty: the course's default, from course.yaml.
ASSIGNMENT  ?=
A           := $(if $(ASSIGNMENT),-a $(ASSIGNMENT))
EXAMPLES    := build/examples$(if $(ASSIGNMENT),-$(ASSIGNMENT))
SUBMISSIONS ?= $(EXAMPLES)
# The example class goes to reports/ (reports-<assignment>/ for another assignment); any other
# class to reports/<its name> (export.zip -> reports/export), so a class is never mixed into the
# examples' summary and gradebook.
ifeq ($(SUBMISSIONS),$(EXAMPLES))
OUT         ?= reports$(if $(ASSIGNMENT),-$(ASSIGNMENT))
else
# The name is the shell's: make's word functions split a path at its spaces ("My Class/x.zip").
OUT         ?= reports/$(shell p="$(SUBMISSIONS)"; p="$${p%/}"; p="$${p##*/}"; echo "$${p%.*}")
endif
JOBS        ?= 2

.PHONY: grade test lint format check stubs examples student-bundle gradescope train bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

# Grades the built-in example class unless SUBMISSIONS names something else.
grade: $(STAMP)
	@if [ "$(SUBMISSIONS)" = "$(EXAMPLES)" ]; then $(BIN)/grader examples $(A) "$(EXAMPLES)"; fi
	$(BIN)/grader grade "$(SUBMISSIONS)" --out "$(OUT)" -j $(JOBS) $(A)

test: $(STAMP) lint
	$(BIN)/python -m pytest -q -n 2 tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A student's self-check of their own files: make check FOLDER=path (default: the assignment's
# stubs, where the course file puts them; read when the recipe runs, after .venv is made). It
# once named backprop-ninja's: a course whose default was another assignment checked those.
FOLDER ?= $(shell $(BIN)/python -c 'import sys; from grader.assignment import load; print(load(sys.argv[1] or None).stubs)' "$(ASSIGNMENT)")
check: $(STAMP)
	$(BIN)/grader check $(A) "$(FOLDER)"

stubs: $(STAMP)
	$(BIN)/grader assign $(A)

examples: $(STAMP)
	$(BIN)/grader examples $(A) "$(EXAMPLES)"

student-bundle: $(STAMP)
	$(BIN)/grader bundle $(A) --out dist

gradescope: $(STAMP)
	$(BIN)/grader gradescope-zip $(A) --out dist

train: $(STAMP)
	$(BIN)/grader train $(A)

bench: $(STAMP)
	$(BIN)/python bench/bench.py

clean:
	rm -rf build dist reports reports-* .pytest_cache .ruff_cache
