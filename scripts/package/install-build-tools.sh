#!/usr/bin/env bash
# Installs the Debian tools that building and testing the .deb packages needs, when they are missing:
#   dpkg-dev (dpkg-deb, dpkg-shlibdeps), lintian, a C/C++ toolchain and python3 for node-gyp,
#   crossbuild-essential-arm64 (better-sqlite3 and unix-dgram for arm64), qemu-user-static with the arm64
#   C libraries from Debian multiarch (to run the arm64 tree here), debootstrap (fresh Debian 12 and 11
#   roots for the install tests; the arm64 Debian 11 root's second stage runs under qemu-aarch64-static),
#   binutils (ar, strip). Zig, which builds better-sqlite3 for glibc 2.28, is not a Debian package here:
#   the build installs it from the npm registry into its cache (scripts/package/zig-toolchain.ts). Like scripts/install-test-tools.sh: never assumed present, installed by name.
#   bash scripts/package/install-build-tools.sh [--check]    (--check: only report what is missing, exit 1 if any)
set -euo pipefail

CHECK=0
[ "${1:-}" = --check ] && CHECK=1

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

for cmd_pkg in dpkg-deb:dpkg-dev dpkg-shlibdeps:dpkg-dev lintian:lintian debootstrap:debootstrap \
  qemu-aarch64-static:qemu-user-static aarch64-linux-gnu-gcc:crossbuild-essential-arm64 \
  aarch64-linux-gnu-g++:crossbuild-essential-arm64 gcc:build-essential g++:build-essential make:build-essential \
  python3:python3 xz:xz-utils strip:binutils ar:binutils fakeroot:fakeroot; do
  have_cmd "${cmd_pkg%%:*}" || need+=("${cmd_pkg#*:}")
done
have_pkg debian-archive-keyring || need+=(debian-archive-keyring)
# qemu-aarch64-static runs dynamically linked arm64 programs (the bundled Node) with these libraries.
arm64_libs=(libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64)
for p in "${arm64_libs[@]}"; do have_pkg "$p" || need+=("$p"); done

if [ ${#need[@]} -eq 0 ]; then exit 0; fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$CHECK" = 1 ]; then
  echo "missing package build tools: ${need[*]} (install: bash scripts/package/install-build-tools.sh)" >&2
  exit 1
fi

echo "==> installing package build tools: ${need[*]}"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
fi
# apt-get update exits non-zero when an index cannot be fetched; say which mirror, not just "failed".
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! $SUDO apt-get update -qq >"$log" 2>&1 || grep -q '^[WE]: Failed to fetch' "$log"; then
  cat "$log" >&2
  mirrors=$(grep -rhoE '^(deb[[:space:]]+(\[[^]]*\][[:space:]]+)?|URIs:[[:space:]]*)[a-z]+://[^[:space:]]+' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -oE '[a-z]+://[^[:space:]]+' | sort -u | tr '\n' ' ' || true)
  echo "install-build-tools: apt cannot reach the Debian mirror (${mirrors:-none configured in /etc/apt/sources.list*});" >&2
  echo "install-build-tools: the package build needs: ${need[*]}" >&2
  exit 1
fi
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
