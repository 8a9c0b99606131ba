#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, when missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev zlib1g-dev libzstd-dev
      nettle-dev libyaml-dev libsqlite3-dev jq python3 zstd gzip time
      libmicrohttpd-dev curl sqlite3 wrk chromium)
# The dashboards' build (npm ci in web/) needs Node.js and npm; keep one
# that is already installed, whatever its origin.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}"
