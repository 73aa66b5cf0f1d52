#!/usr/bin/env bash
# Install what machine needs on a Debian/Ubuntu host, then its npm packages, then build it.
# Idempotent and quiet when everything is there. Used by scripts/up.sh and scripts/test.sh.
#   WITH_TEST_TOOLS=1  also what the test suite uses (shells, tmux, busybox, debootstrap, openssl, sftp-server, shellcheck...)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Runtime: QEMU (the Linux default driver) and what iso/build.sh uses to build the ISO.
pkgs=(qemu-system-x86 qemu-utils xorriso isolinux syslinux-common zstd squashfs-tools cpio kmod dosfstools mtools ca-certificates)
[ "${WITH_TEST_TOOLS:-0}" = 1 ] && pkgs+=(debootstrap openssl busybox-static docker-registry tmux zsh fish tcsh socat curl openssh-sftp-server shellcheck
  qemu-system-arm qemu-efi-aarch64 qemu-user-static) # arm64 machines, and building their ISO here
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: only when package-lock.json changed since the last install.
stamp=node_modules/.lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing npm packages"
  # ci installs exactly the committed lock and never rewrites it (install did: a dirty tree after a
  # test run). The lock names nushell's binary for every platform, as ci wants; the other platforms'
  # entries carry no integrity (only linux-x64's could be fetched when they were added).
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

say "building"
npx tsc -b tsconfig.json
