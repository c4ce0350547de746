# The commands the README tells people to type. `make run` and `make test` install what is
# missing first (Debian/Ubuntu packages via apt, tauri-driver via cargo) and are quiet when
# everything is present.
SHELL := bash
.DEFAULT_GOAL := help
export CARGO_TERM_PROGRESS_WHEN ?= never

.PHONY: help run test lint unit e2e bench deps-run deps-test

help:
	@echo "make run    build and start RedeemDesk (sandbox mode on a fresh install)"
	@echo "make test   fmt check, clippy -D warnings, every test of every crate, end-to-end"
	@echo "make lint   fmt check and clippy only"
	@echo "make e2e    the end-to-end suite against the real app under Xvfb"
	@echo "make bench  every benchmark, release build; writes BENCHMARKS.md"

deps-run:
	@scripts/deps.sh run

deps-test:
	@scripts/deps.sh test

run: deps-run
	@scripts/run.sh

test: deps-test lint unit e2e

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings

unit:
	cargo test --workspace --exclude redeemdesk-e2e

e2e: deps-test
	scripts/e2e.sh

# The performance record. The generated ledgers are kept in target/bench-data/ (several GB
# for the 3.65 M file) so a second run skips generating them. Benchmarks 5–7 launch the
# release app under Xvfb (hence deps-test: tauri-driver). `make bench BENCH=5,6` runs only
# those and replaces just their sections.
bench: deps-test
	scripts/bench-record.sh $(BENCH)
