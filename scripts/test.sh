#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root): host packages, npm packages, the build,
# prettier and shellcheck, the boot2docker ISOs (amd64, arm64) and the VirtualBox chroot (both cached outside the
# clone, keyed by their recipe), then every test. Extra arguments go to vitest (e.g. a test file).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
WITH_TEST_TOOLS=1 bash scripts/setup.sh
# Style, before anything slow: the formatting prettier gives (.prettierrc.json), and the shell scripts.
npx prettier --check --log-level=warn .
shellcheck iso/*.sh scripts/*.sh
for arch in amd64 arm64; do echo "test: $arch ISO: $(bash iso/build.sh --arch "$arch" | tail -n1)" >&2; done
if [ "$(id -u)" = 0 ]; then bash scripts/vbox-chroot.sh setup >/dev/null; fi
echo "test: ready in $(( $(date +%s) - t0 ))s" >&2
exec npx vitest run "$@"
