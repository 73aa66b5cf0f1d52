#!/usr/bin/env bash
# Make the release artifacts of the ISO from the recipe, and record them in the release manifest.
#
#   bash scripts/release-iso.sh [--arch amd64|arm64] [--base-url URL] [--out DIR] [--manifest FILE]
#
# Builds (or reuses) the ISO of the architecture (default amd64) with iso/build.sh, copies it to DIR as
# boot2docker-v<docker>-<key>-<arch>.iso with a .sha256 beside it, and replaces the entry of that
# architecture in releases/iso.json (the manifest shipped in the npm package, which machine
# downloads released ISOs by): url = URL/<file name>, size, sha256, and the recipe key, Docker and
# kernel versions the ISO records itself (/boot/build-info, a copy of its /etc/boot2docker/build-info), checked
# against its volume id, its application id and packages.lock. Then publish DIR's files at URL and
# commit releases/iso.json.
#
#   --base-url URL  the folder URL the files will be published at. The real release host is not
#                   decided yet: the default is the placeholder https://releases.invalid/machine/iso
#                   (.invalid never resolves), so a manifest written with it downloads nothing until
#                   this is run again with the real URL (or users pass --iso-mirror).
#   --out DIR       where the artifacts go (default: release-out/ in the repository, git-ignored)
#   --manifest FILE the manifest to update (default: releases/iso.json; the tests write their own)
#   --arch A        the architecture to release (default amd64); run once per architecture
#
# The ISO is reproducible: the same recipe and the same Debian package versions (packages-A.lock)
# give the same bytes, so a rebuild gives the same sha256.
# Host tools: those of iso/build.sh (xorriso among them), node, sha256sum.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE_URL=https://releases.invalid/machine/iso
OUT=$REPO/release-out
MANIFEST=$REPO/releases/iso.json
WANT_ARCH=amd64

usage() {
	echo "usage: $0 [--arch amd64|arm64] [--base-url URL] [--out DIR] [--manifest FILE]" >&2
	exit 2
}
while [[ $# -gt 0 ]]; do
	case $1 in
	--base-url) [[ $# -ge 2 ]] || usage; BASE_URL=$2; shift 2 ;;
	--out) [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
	--manifest) [[ $# -ge 2 ]] || usage; MANIFEST=$2; shift 2 ;;
	--arch) [[ ${2:-} == amd64 || ${2:-} == arm64 ]] || usage; WANT_ARCH=$2; shift 2 ;;
	*) usage ;;
	esac
done
[[ $BASE_URL =~ ^https?://[^?#[:space:]]+$ ]] || {
	echo "release-iso.sh: --base-url must be an http(s):// folder URL (no query or fragment), not '$BASE_URL'" >&2
	exit 2
}
BASE_URL=${BASE_URL%/}
for tool in xorriso node sha256sum; do
	command -v "$tool" >/dev/null || { echo "release-iso.sh: missing host tool '$tool'" >&2; exit 1; }
done

echo "release-iso.sh: building (or reusing) the $WANT_ARCH ISO with iso/build.sh" >&2
ISO=$(bash "$REPO/iso/build.sh" --arch "$WANT_ARCH" | tail -n1)
[[ -f $ISO ]] || { echo "release-iso.sh: iso/build.sh did not print an ISO path" >&2; exit 1; }
LOCK=$(dirname "$ISO")/packages.lock

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# What the ISO says of itself: /boot/build-info (the root's /etc/boot2docker/build-info), and
# its volume descriptor (whose application id mkisofs upper-cases).
xorriso -osirrox on -indev "$ISO" -extract /boot/build-info "$W/build-info" 2>"$W/xorriso.log" || {
	cat "$W/xorriso.log" >&2
	exit 1
}
info() { sed -n "s/^$1=//p" "$W/build-info"; }
KEY=$(info recipe)
DOCKER=$(info docker)
KERNEL=$(info kernel)
ARCH=$(info arch)
[[ $KEY =~ ^[0-9a-f]{16}$ && -n $DOCKER && -n $KERNEL ]] || {
	echo "release-iso.sh: $ISO has no usable /etc/boot2docker/build-info:" >&2
	cat "$W/build-info" >&2
	exit 1
}
[[ $ARCH == "$WANT_ARCH" && $KERNEL == *-"$ARCH" ]] || { echo "release-iso.sh: $ISO is for ${ARCH:-an unknown architecture} (kernel $KERNEL), not $WANT_ARCH" >&2; exit 1; }
pvd() { dd if="$ISO" bs=1 skip=$((32768 + $1)) count="$2" status=none | tr -d '\0' | sed 's/ *$//'; }
[[ $(pvd 40 32) == "b2d-v$DOCKER" ]] || { echo "release-iso.sh: volume id '$(pvd 40 32)' is not b2d-v$DOCKER" >&2; exit 1; }
APPID=$(pvd 574 128)
[[ ${APPID,,} == "machine-b2d $KEY" ]] || { echo "release-iso.sh: application id '$APPID' does not name recipe $KEY" >&2; exit 1; }
# iso/build.sh files it as <cache>/iso/<key>/<arch>/boot2docker.iso
[[ $(basename "$(dirname "$(dirname "$ISO")")") == "$KEY" ]] || { echo "release-iso.sh: $ISO is not filed under its recipe $KEY" >&2; exit 1; }
grep -q "^linux-image-$KERNEL " "$LOCK" || { echo "release-iso.sh: $LOCK does not list linux-image-$KERNEL" >&2; exit 1; }

NAME=boot2docker-v$DOCKER-$KEY-$ARCH.iso
mkdir -p "$OUT" "$(dirname "$MANIFEST")"
cp "$ISO" "$OUT/.$NAME.tmp"
mv "$OUT/.$NAME.tmp" "$OUT/$NAME"
SHA=$(sha256sum "$OUT/$NAME" | cut -d' ' -f1)
SIZE=$(wc -c <"$OUT/$NAME" | tr -d ' ')
echo "$SHA  $NAME" >"$OUT/$NAME.sha256"

# The manifest: entries of other architectures stay; this one's is replaced (the newest of an
# architecture is its last entry).
node -e '
const fs = require("fs");
const [file, arch, key, docker, kernel, url, size, sha256] = process.argv.slice(1);
const doc = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : { format: 1, isos: [] };
if (doc.format !== 1) throw new Error(file + ": format " + doc.format + ", this script writes format 1");
doc.isos = doc.isos.filter((e) => e.arch !== arch);
doc.isos.push({ arch, key, docker, kernel, url, size: Number(size), sha256 });
fs.writeFileSync(file + ".tmp", JSON.stringify(doc, null, 2) + "\n");
fs.renameSync(file + ".tmp", file);
' "$MANIFEST" "$ARCH" "$KEY" "$DOCKER" "$KERNEL" "$BASE_URL/$NAME" "$SIZE" "$SHA"

echo "release-iso.sh: $OUT/$NAME ($SIZE bytes, sha256 $SHA; Docker $DOCKER, kernel $KERNEL, recipe $KEY)" >&2
echo "release-iso.sh: $MANIFEST lists it at $BASE_URL/$NAME: publish $OUT/$NAME and its .sha256 there" >&2
echo "$OUT/$NAME"
