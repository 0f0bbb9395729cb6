#!/usr/bin/env bash
# Installs the Debian packages that plugin scenarios build against (mysqlclient compiles
# against MariaDB's client library), unless they are already there. Safe to run again.
set -euo pipefail

missing=()
for package in libmariadb-dev pkg-config; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
