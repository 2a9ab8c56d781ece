#!/usr/bin/env bash
# Runs Mirage's whole test suite: formatting, lints, unit tests and the integration tests against
# real SQLite, PostgreSQL and HTTP servers. This is the test command README.md gives.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/test-deps.sh

# Build artefacts are kept outside the checkout so fresh clones reuse compiled dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mirage/target}"
export CARGO_TERM_COLOR=never

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
