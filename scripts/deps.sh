#!/usr/bin/env bash
# Installs the Debian 12 packages groupbuyd needs to build, run and test,
# only those missing. Idempotent, and quick when everything is there (one
# dpkg-query). Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  make gcc pkg-config libc6-dev
  libevent-dev libpq-dev libcjson-dev libssl-dev
  postgresql-15 postgresql-client-15
  python3 python3-pytest python3-psycopg2 python3-jsonschema
  clang-format docker-compose jq curl libcurl4-openssl-dev libidn2-dev zlib1g-dev
  chromium fonts-wqy-microhei
)
# The browser suite's runner: Debian's nodejs and npm, unless a node and an
# npm are already there (another packaging of node brings its own npm,
# which Debian's npm package would conflict with).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
if [ "${GROUPBUYD_DEPS_EXTRA:-}" != "" ]; then
  # shellcheck disable=SC2206
  packages+=(${GROUPBUYD_DEPS_EXTRA})
fi

missing=()
while read -r pkg status; do
  [ "$status" = "installed" ] || missing+=("$pkg")
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
# dpkg-query prints nothing for packages it has never heard of.
for p in "${packages[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -q '^installed$' || {
    case " ${missing[*]:-} " in *" $p "*) ;; *) missing+=("$p");; esac
  }
done

[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them once.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package starts a system cluster on 5432; ours lives
# under var/ on its own socket, so the system one is left alone.
echo "deps: done"
