#!/usr/bin/env bash
# API benchmark: starts a release `mirage serve` on loopback with a fresh data dir, registers an
# organization, measures login (argon2id dominated) and drives the `me` query with wrk.
# Usage: deploy/bench/api.sh [seconds] [connections]   (needs `wrk`: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-32}
port=18089
dir=$(mktemp -d)
cargo build --release -q -p api --bin mirage
bin="${CARGO_TARGET_DIR:-target}/release/mirage"
MIRAGE_SIGNUP=open MIRAGE_LOG_LEVEL=warn "$bin" serve --listen 127.0.0.1:$port --data-dir "$dir" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:$port/health >/dev/null && break; sleep 0.2; done

gql() { curl -sf http://127.0.0.1:$port/graphql -H 'content-type: application/json' -d "$1"; }
gql '{"query":"mutation { registerOrganization(input: { organizationName: \"Bench\", email: \"bench@bench.test\", password: \"correct horse battery staple\", displayName: \"Bench\" }) { accessToken } }"}' >/dev/null

start=$(date +%s.%N)
logins=20
for _ in $(seq 1 $logins); do
  token=$(gql '{"query":"mutation { login(input: { email: \"bench@bench.test\", password: \"correct horse battery staple\" }) { accessToken } }"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["login"]["accessToken"])')
done
end=$(date +%s.%N)
python3 -c "print(f'login (sequential, argon2id m=19456 t=2 p=1): {$logins/($end-$start):.1f} logins/s')"

MIRAGE_TOKEN=$token wrk -t2 -c"$connections" -d"${seconds}s" -s deploy/bench/me.lua http://127.0.0.1:$port/graphql | tail -n 1
