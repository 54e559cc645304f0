#!/usr/bin/env bash
# No Docker daemon runs on our machines, so the compose file is checked by
# Debian's docker-compose without starting anything: it must be valid with
# the secrets set, and refuse to start while any of them is unset.
set -euo pipefail
cd "$(dirname "$0")/.."
secrets=(POSTGRES_PASSWORD GROUPBUYD_PLATFORM_TOKEN GROUPBUYD_PAYMENT_WEBHOOK_SECRET)
env -u POSTGRES_PASSWORD -u GROUPBUYD_PLATFORM_TOKEN -u GROUPBUYD_PAYMENT_WEBHOOK_SECRET \
  POSTGRES_PASSWORD=check GROUPBUYD_PLATFORM_TOKEN=check GROUPBUYD_PAYMENT_WEBHOOK_SECRET=check \
  docker-compose -f docker-compose.yml config -q
for s in "${secrets[@]}"; do
  args=()
  for o in "${secrets[@]}"; do [ "$o" = "$s" ] || args+=("$o=check"); done
  if env -u "$s" "${args[@]}" docker-compose -f docker-compose.yml config -q 2>/dev/null; then
    echo "compose: docker-compose.yml starts without $s" >&2
    exit 1
  fi
done
grep -q '^version:' docker-compose.yml && { echo "compose: obsolete version: key" >&2; exit 1; }
grep -q 'pg_isready -h ' docker-compose.yml || { echo "compose: the database healthcheck must use TCP (pg_isready -h)" >&2; exit 1; }
echo "compose: docker-compose.yml is valid and needs its secrets"
