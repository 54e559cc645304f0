#!/usr/bin/env bash
# No Docker daemon runs on our machines, so the compose file is checked by
# Debian's docker-compose without starting anything.
set -euo pipefail
cd "$(dirname "$0")/.."
docker-compose -f docker-compose.yml config -q
echo "compose: docker-compose.yml is valid"
