#!/usr/bin/env bash
# Installs and starts what Mirage's tests need on a Debian machine that has only the Rust
# toolchain: a PostgreSQL server on 127.0.0.1:5432 that the `postgres` role reaches without a
# password (tests create and drop their own databases), and Node.js with npm plus the
# `oidc-provider` package the OIDC login tests run (tests/oidc-provider). Safe to run again.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

pg_ok() { psql "postgresql://postgres@127.0.0.1:5432/postgres" -Atqc 'select 1' >/dev/null 2>&1; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "test-deps: installing PostgreSQL"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "test-deps: starting PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if ! pg_ok; then
  # A fresh Debian cluster asks for passwords on TCP; this throwaway test server trusts loopback.
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  echo "test-deps: trusting 127.0.0.1 in $hba"
  $SUDO sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  sleep 1
fi
pg_ok || { echo "test-deps: PostgreSQL on 127.0.0.1:5432 is not reachable as postgres" >&2; exit 1; }

# Databases left behind by interrupted test runs.
psql "postgresql://postgres@127.0.0.1:5432/postgres" -Atqc \
  "select datname from pg_database where datname like 'mirage_t_%'" |
  while read -r db; do
    psql "postgresql://postgres@127.0.0.1:5432/postgres" -qc "drop database if exists \"$db\" with (force)" >/dev/null || true
  done
echo "test-deps: PostgreSQL ready"

# Node.js and npm for the OpenID Provider of the OIDC tests (oidc-provider 9 wants Node 20+).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "test-deps: installing Node.js and npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "test-deps: warning: Node.js $(node --version) is older than the 20 oidc-provider 9 expects" >&2
fi

# The provider's packages, exactly as tests/oidc-provider/package-lock.json pins them. npm
# writes node_modules/.package-lock.json last, so its absence means a missing or broken install.
oidc_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/oidc-provider"
if [ ! -f "$oidc_dir/node_modules/.package-lock.json" ] ||
  [ "$oidc_dir/package-lock.json" -nt "$oidc_dir/node_modules/.package-lock.json" ]; then
  echo "test-deps: npm ci in tests/oidc-provider"
  (cd "$oidc_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "test-deps: OpenID Provider packages ready"
