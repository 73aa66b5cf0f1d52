#!/usr/bin/env bash
# Build a Boot2Docker-compatible hybrid ISO from Debian 13 (trixie) packages, with the engine
# (docker.io, containerd, runc) from forky, Debian's testing suite, for amd64 or arm64: the same
# package list and overlay, one lock per architecture.
#
#   bash iso/build.sh [--arch A]               build (or reuse) the ISO; last stdout line = ISO path
#   bash iso/build.sh [--arch A] --print-path  print the ISO path for the current recipe, build nothing
#   bash iso/build.sh [--arch A] --update-lock re-resolve iso/packages-A.lock, show what changed
#   A: amd64 (default) or arm64. amd64 boots by BIOS (ISOLINUX) and UEFI; arm64 by UEFI only.
#
# The build installs exactly the packages, versions and sha256 sums of iso/packages-A.lock (an
# input, committed); only --update-lock asks the archive for newer versions.
# Output: ${MACHINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/machine}/iso/<key>/A/boot2docker.iso
#         (+ packages.lock next to it). <key> is a hash of every regular file under iso/ (so of
#         the locks too), see recipe_key below; the TypeScript side asks --print-path for it.
# Host tools: apt-get, dpkg-deb, tar, xorriso, cpio, zstd, gzip, mksquashfs, depmod/modprobe (kmod),
#             readelf (binutils), xz, sha256sum, flock, mkfs.fat (dosfstools), mmd/mcopy (mtools);
#             for arm64 on another host, qemu-aarch64-static (qemu-user-static) to list busybox's applets.
# Nothing is installed on the host, and the host's apt configuration is neither read nor changed.
set -euo pipefail
umask 022
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

# ---------------------------------------------------------------------------------------------
# Recipe key: for every regular file under iso/ (path relative to the repo root), byte-wise
# sorted, the line "<relpath>\0<sha256hex>\n"; key = first 16 hex chars of sha256 of all lines.
recipe_key() {
	(
		cd "$REPO"
		find iso -type f -print0 | sort -z | while IFS= read -r -d '' f; do
			printf '%s\0%s\n' "$f" "$(sha256sum <"$f" | cut -d' ' -f1)"
		done | sha256sum | cut -c1-16
	)
}

CACHE=$(realpath -m "${MACHINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/machine}")
KEY=$(recipe_key)

MODE=build ARCH=amd64
usage() {
	echo "usage: $0 [--arch amd64|arm64] [--print-path | --update-lock]" >&2
	exit 2
}
while (($#)); do
	case $1 in
	--print-path) MODE=print ;;
	--update-lock) MODE=update ;;
	--arch)
		[[ ${2:-} == amd64 || ${2:-} == arm64 ]] || usage
		ARCH=$2
		shift
		;;
	*) usage ;;
	esac
	shift
done
OUTDIR=$CACHE/iso/$KEY/$ARCH
ISO=$OUTDIR/boot2docker.iso
if [[ $MODE == print ]]; then
	echo "$ISO"
	exit 0
fi
LOCK=$HERE/packages-$ARCH.lock

# What differs between the architectures. FOREIGN is the other one, whose binaries the VM runs
# through binfmt_misc with Debian's static qemu-user.
case $ARCH in
amd64)
	TRIPLET=x86_64-linux-gnu CONSOLE=ttyS0 FOREIGN=aarch64
	LDSO=ld-linux-x86-64.so.2 LDSO_LINK=/usr/lib64/ld-linux-x86-64.so.2
	EFI_PACKAGE=grub-efi-amd64-signed EFI_GRUB=/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed EFI_NAME=BOOTX64.EFI
	BIOS_PACKAGES=(isolinux syslinux-common)
	RUN_TARGET=()
	;;
arm64)
	TRIPLET=aarch64-linux-gnu CONSOLE=ttyAMA0 FOREIGN=x86_64
	LDSO=ld-linux-aarch64.so.1 LDSO_LINK=/usr/lib/ld-linux-aarch64.so.1
	EFI_PACKAGE=grub-efi-arm64-signed EFI_GRUB=/usr/lib/grub/arm64-efi-signed/gcdaa64.efi.signed EFI_NAME=BOOTAA64.EFI
	BIOS_PACKAGES=()
	# the build runs one target binary (busybox --list): natively, or through the host's qemu-user
	if [[ $(uname -m) == aarch64 ]]; then RUN_TARGET=(); else RUN_TARGET=(qemu-aarch64-static); fi
	;;
esac

if [[ $MODE == build && -f $ISO ]]; then
	echo "$ISO"
	exit 0
fi

for tool in apt-get dpkg-deb tar xorriso cpio zstd gzip mksquashfs depmod modprobe readelf xz sha256sum flock mkfs.fat mmd mcopy "${RUN_TARGET[@]}"; do
	command -v "$tool" >/dev/null || {
		echo "build.sh: missing host tool '$tool' (Debian: apt-get install xorriso cpio zstd squashfs-tools kmod binutils xz-utils util-linux dosfstools mtools qemu-user-static)" >&2
		exit 1
	}
done

mkdir -p "$CACHE/iso"
# One build per key at a time; a second caller waits and then reuses the result.
exec 9>"$CACHE/iso/.$KEY-$ARCH.lock"
flock 9
if [[ $MODE == build && -f $ISO ]]; then
	echo "$ISO"
	exit 0
fi

T0=$(date +%s)
log() { printf '[%4ds] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }

W=$(mktemp -d "$CACHE/iso/.build.XXXXXX") # same filesystem as the output: rename is atomic
# MACHINE_ISO_KEEP_WORK=1 keeps the work directory for debugging
if [[ -n ${MACHINE_ISO_KEEP_WORK:-} ]]; then log "work directory: $W"; else trap 'rm -rf "$W"' EXIT; fi

# ---------------------------------------------------------------------------------------------
# Packages. Explicit list: dependencies of these packages that we do not need (adduser, perl,
# systemd bits, ...) stay out; missing shared libraries are caught by the DT_NEEDED check below.
# Read by --update-lock only: the build installs what the lock says.
PACKAGES=(
	# kernel: resolved from linux-image-$ARCH below
	libc6 busybox-static
	# docker
	docker.io docker-cli containerd runc tini-static libsystemd0 libcap2 libseccomp2
	# iptables (legacy backend by default, nft too)
	iptables libxtables12 libip4tc2 libip6tc2 libnftnl11 libmnl0 libnetfilter-conntrack3
	libnfnetlink0 netbase
	# ssh: dropbear + OpenSSH's sftp-server and scp
	dropbear-bin openssh-sftp-server openssh-client libtomcrypt1 libtommath1 libgmp10 zlib1g libcrypt1
	# sudo + PAM
	sudo libpam0g libpam-modules libaudit1 libcap-ng0 libselinux1 libpcre2-8-0 libapparmor1
	# filesystems
	e2fsprogs libext2fs2t64 libcom-err2 libblkid1 libuuid1
	# TLS
	openssl libssl3t64 ca-certificates libzstd1
	# the other architecture's binaries, through binfmt_misc (static; only its one emulator is used)
	qemu-user
	# boot loaders (files used at build time only): ISOLINUX for BIOS (amd64), GRUB for UEFI
	"${BIOS_PACKAGES[@]}" "$EFI_PACKAGE"
)
# The engine comes from forky: trixie's docker.io is two majors behind. What they depend on
# (libc6 >= 2.38, libseccomp2) trixie has, so nothing else moves.
FROM_FORKY=(docker.io docker-cli containerd runc tini-static)

APTDIR=$CACHE/apt/$ARCH
DEBS=$APTDIR/debs
mkdir -p "$APTDIR"/{etc/apt.conf.d,etc/preferences.d,etc/sources.list.d,state/lists/partial,cache/archives/partial} "$DEBS"
: >"$APTDIR/state/status"
KR=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -f $KR ]] || { echo "build.sh: missing $KR (apt-get install debian-archive-keyring)" >&2; exit 1; }
cat >"$APTDIR/etc/sources.list" <<EOF
deb [signed-by=$KR] http://deb.debian.org/debian trixie main
deb [signed-by=$KR] http://deb.debian.org/debian-security trixie-security main
deb [signed-by=$KR] http://deb.debian.org/debian forky main
EOF
cat >"$APTDIR/etc/preferences" <<EOF
Package: *
Pin: release n=forky
Pin-Priority: 100

Package: ${FROM_FORKY[*]}
Pin: release n=forky
Pin-Priority: 990
EOF
# APT_CONFIG is read before anything else, so the host's /etc/apt is never consulted.
# Check-Valid-Until: the archive may be a frozen copy whose Release files have expired; what
# the build installs is pinned by sha256 in the lock anyway.
cat >"$APTDIR/apt.conf" <<EOF
Dir::Etc "$APTDIR/etc/";
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$APTDIR/etc/apt.conf.d/";
Dir::Etc::sourcelist "$APTDIR/etc/sources.list";
Dir::Etc::sourceparts "$APTDIR/etc/sources.list.d/";
Dir::Etc::preferences "$APTDIR/etc/preferences";
Dir::Etc::preferencesparts "$APTDIR/etc/preferences.d/";
Dir::State "$APTDIR/state/";
Dir::State::status "$APTDIR/state/status";
Dir::Cache "$APTDIR/cache/";
APT::Architecture "$ARCH";
APT::Architectures { "$ARCH"; };
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
APT::Sandbox::User "$(id -un)";
EOF
export APT_CONFIG=$APTDIR/apt.conf
apt_update() {
	log "apt-get update (trixie, trixie-security, forky)"
	apt-get -q update >"$W/apt-update.log" 2>&1 || { cat "$W/apt-update.log" >&2; exit 1; }
}

# .deb file name as apt-get download names it
deb_of() { echo "$DEBS/${1}_${2//:/%3a}_${3}.deb"; }
# the lock's entries, "name version arch sha256", without its comments
lock_entries() { grep -v -e '^#' -e '^$' "$1" || true; }

if [[ $MODE == update ]]; then
	apt_update
	KPKG=$(apt-cache show --no-all-versions "linux-image-$ARCH" | sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p')
	[[ -n $KPKG ]] || { echo "build.sh: cannot resolve linux-image-$ARCH" >&2; exit 1; }
	PACKAGES+=("$KPKG")
	apt-cache show --no-all-versions "${PACKAGES[@]}" |
		awk '/^Package: /{p=$2} /^Version: /{v=$2} /^Architecture: /{a=$2} /^SHA256: /{h=$2} /^$/{if(p!=""){print p, v, a, h}; p=""}' |
		sort -u >"$W/resolved"
	[[ $(wc -l <"$W/resolved") -eq ${#PACKAGES[@]} ]] || {
		echo "build.sh: some packages did not resolve:" >&2
		printf '%s\n' "${PACKAGES[@]}" | sort | comm -23 - <(cut -d' ' -f1 "$W/resolved") >&2
		exit 1
	}
	{
		echo "# The exact packages the ISO is built from (name version arch sha256): an input of the"
		echo "# build and of the recipe key. Re-resolve from the archive: npm run iso:update"
		cat "$W/resolved"
	} >"$W/packages.lock"
	[[ -f $LOCK ]] || : >"$LOCK"
	echo "iso/packages-$ARCH.lock:" >&2
	join -a1 -a2 -e - -o 0,1.2,2.2 <(lock_entries "$LOCK" | cut -d' ' -f1,2) <(cut -d' ' -f1,2 "$W/resolved") |
		awk '$2 != $3 {print "  " $1 ": " ($2 == "-" ? "(new)" : $2) " -> " ($3 == "-" ? "(removed)" : $3); n++}
			END {if (!n) print "  nothing changed"}' >&2
	mv "$W/packages.lock" "$LOCK"
	exit 0
fi

[[ -s $LOCK ]] || { echo "build.sh: $LOCK is missing: run npm run iso:update -- --arch $ARCH" >&2; exit 1; }
lock_entries "$LOCK" >"$W/resolved"
sha_ok() { [[ -f $1 && $(sha256sum <"$1" | cut -d' ' -f1) == "$2" ]]; }
: >"$W/debfiles"
need=()
while read -r p v a h; do
	f=$(deb_of "$p" "$v" "$a")
	echo "$f" >>"$W/debfiles"
	sha_ok "$f" "$h" || need+=("$p=$v")
done <"$W/resolved"
if ((${#need[@]})); then
	apt_update
	for pv in "${need[@]}"; do
		apt-cache show "$pv" >/dev/null 2>&1 || {
			echo "build.sh: iso/packages-$ARCH.lock pins ${pv%%=*} ${pv#*=}, which the archive no longer has: run npm run iso:update -- --arch $ARCH" >&2
			exit 1
		}
	done
	log "apt-get download (${#need[@]} of $(wc -l <"$W/resolved") packages, cached in $DEBS)"
	(cd "$DEBS" && apt-get -q download "${need[@]}" >"$W/apt-download.log" 2>&1) || { cat "$W/apt-download.log" >&2; exit 1; }
	# only what was just downloaded: the rest passed above
	while read -r p v a h; do
		[[ " ${need[*]} " == *" $p=$v "* ]] || continue
		sha_ok "$(deb_of "$p" "$v" "$a")" "$h" || { echo "build.sh: $p $v does not match the sha256 in iso/packages-$ARCH.lock" >&2; exit 1; }
	done <"$W/resolved"
fi
# forget superseded .debs so the cache does not grow forever
for f in "$DEBS"/*.deb; do grep -qxF "$f" "$W/debfiles" || rm -f "$f"; done
cut -d' ' -f1,2 "$W/resolved" >"$W/packages.lock"

DOCKER_VERSION=$(awk '$1=="docker.io"{print $2}' "$W/resolved" | sed 's/^[0-9]*://; s/[+~-].*//')
# Newest package (changelog date) would need unpacking all changelogs; a constant is simpler and
# still makes the image a pure function of (recipe, package versions).
export SOURCE_DATE_EPOCH=1735689600 # 2025-01-01T00:00:00Z

# ---------------------------------------------------------------------------------------------
log "unpacking packages"
S=$W/staging
mkdir -p "$S"
# qemu-user holds an emulator for every architecture: only the one the VM uses is unpacked
QEMU_FILES=("./usr/bin/qemu-$FOREIGN" "./usr/share/qemu/binfmt.d/qemu-$FOREIGN.conf")
while read -r f; do
	case ${f##*/} in
	qemu-user_*) dpkg-deb --fsys-tarfile "$f" | tar -x -C "$S" "${QEMU_FILES[@]}" ;;
	*) dpkg-deb -x "$f" "$S" ;;
	esac
done <"$W/debfiles"
KVER=$(basename "$(ls -d "$S"/usr/lib/modules/*)")

# depmod over the full module tree runs in the background while the rootfs is assembled
(depmod -b "$S/usr" "$KVER") &
DEPMOD_PID=$!

R=$W/root
mkdir -p "$R"/usr/{bin,lib64,libexec,share} "$R/usr/lib/$TRIPLET" "$R"/{etc,dev,proc,sys,run,tmp,mnt,root,home,var/{lib,log,spool,cache}}
# merged /usr and merged sbin: dropbear's non-root PATH (/usr/local/bin:/usr/bin:/bin) then
# finds ip, iptables, netstat, ... which docker-machine runs over ssh.
ln -s usr/bin "$R/bin"
ln -s usr/bin "$R/sbin"
ln -s bin "$R/usr/sbin"
ln -s usr/lib "$R/lib"
ln -s usr/lib64 "$R/lib64"
ln -s ../run "$R/var/run"
ln -s ../run/lock "$R/var/lock"
ln -s ../tmp "$R/var/tmp"
chmod 1777 "$R/tmp"
chmod 0700 "$R/root"

# copy a path from the staging tree, mapping sbin dirs onto usr/bin
dest_of() {
	local p=$1
	case $p in
	/sbin/* | /bin/* | /usr/sbin/*) p=/usr/bin/${p##*/} ;;
	/lib/*) p=/usr$p ;;
	esac
	echo "$p"
}
inst() { # inst /staging/path [/dest/path]
	local src=$S$1 dst
	dst=$R$(dest_of "${2:-$1}")
	[[ -e $src || -L $src ]] || { echo "build.sh: $1 not found in packages" >&2; exit 1; }
	mkdir -p "$(dirname "$dst")"
	cp -a "$src" "$dst"
}

log "assembling rootfs"
BINARIES=(
	/usr/sbin/dockerd /usr/sbin/docker-proxy /usr/bin/docker
	/usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc /usr/bin/tini-static
	/usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi
	/usr/sbin/dropbear /usr/bin/dropbearkey /usr/bin/dropbearconvert
	/usr/lib/openssh/sftp-server /usr/bin/scp
	/usr/bin/sudo /usr/sbin/visudo
	/usr/sbin/mke2fs /usr/sbin/e2fsck /usr/sbin/tune2fs /usr/sbin/resize2fs /usr/sbin/dumpe2fs
	/usr/bin/openssl
	"/usr/bin/qemu-$FOREIGN"
)
for b in "${BINARIES[@]}"; do inst "$b"; done
ln -s tini-static "$R/usr/bin/docker-init"
ln -s openssh/sftp-server "$R/usr/lib/sftp-server" # dropbear's compiled-in SFTP path
# binfmt_misc: the interpreter path Debian's rule names (its P flag wrapper), registered by rcS
inst "/usr/share/qemu/binfmt.d/qemu-$FOREIGN.conf"
mkdir -p "$R/usr/libexec/qemu-binfmt"
ln -s "../../bin/qemu-$FOREIGN" "$R/usr/libexec/qemu-binfmt/$FOREIGN-binfmt-P"
for n in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
	ln -s xtables-legacy-multi "$R/usr/bin/$n"
	ln -s xtables-legacy-multi "$R/usr/bin/${n/tables/tables-legacy}"
	ln -s xtables-nft-multi "$R/usr/bin/${n/tables/tables-nft}"
done
for n in mkfs.ext4 mkfs.ext3 mkfs.ext2; do ln -s mke2fs "$R/usr/bin/$n"; done
for n in fsck.ext4 fsck.ext3 fsck.ext2; do ln -s e2fsck "$R/usr/bin/$n"; done
ln -s tune2fs "$R/usr/bin/e2label"
# plugins and dlopen()ed objects
cp -a "$S/usr/lib/$TRIPLET/xtables" "$R/usr/lib/$TRIPLET/"
mkdir -p "$R/usr/libexec/sudo" "$R/usr/lib/$TRIPLET/security"
for f in sudoers.so libsudo_util.so.0 libsudo_util.so.0.0.0 group_file.so system_group.so; do
	[[ -e $S/usr/libexec/sudo/$f ]] && cp -a "$S/usr/libexec/sudo/$f" "$R/usr/libexec/sudo/"
done
for f in pam_unix.so pam_permit.so pam_deny.so pam_env.so pam_limits.so; do
	cp -a "$S/usr/lib/$TRIPLET/security/$f" "$R/usr/lib/$TRIPLET/security/"
done
inst /etc/mke2fs.conf
inst /etc/ssl/openssl.cnf
mkdir -p "$R/usr/lib/ssl" "$R/etc/ssl/private"
chmod 0700 "$R/etc/ssl/private"
for f in cert.pem certs openssl.cnf private; do cp -a "$S/usr/lib/ssl/$f" "$R/usr/lib/ssl/"; done
inst /etc/protocols
inst /etc/services
inst /etc/ethertypes

# CA bundle, as update-ca-certificates would build it
mkdir -p "$R/etc/ssl/certs"
find "$S/usr/share/ca-certificates" -name '*.crt' | sort | xargs cat >"$R/etc/ssl/certs/ca-certificates.crt"

# busybox and its applets (only names not provided by a real binary)
inst /usr/bin/busybox
for a in $("${RUN_TARGET[@]}" "$S/usr/bin/busybox" --list); do
	[[ -e $R/usr/bin/$a || -L $R/usr/bin/$a ]] || ln -s busybox "$R/usr/bin/$a"
done

# ---------------------------------------------------------------------------------------------
# Shared libraries: follow DT_NEEDED (and RUNPATH) from every ELF file; fail on anything missing.
log "resolving shared libraries"
cp -a "$S/usr/lib/$TRIPLET/$LDSO" "$R/usr/lib/$TRIPLET/"
ln -s "/usr/lib/$TRIPLET/$LDSO" "$R$LDSO_LINK"
LIBDIRS=("/usr/lib/$TRIPLET" /usr/lib /usr/lib64)
find_lib() { # soname [runpath...]
	local so=$1 d
	shift
	for d in "$@" "${LIBDIRS[@]}"; do
		if [[ -e $S$d/$so ]]; then
			echo "$d/$so"
			return 0
		fi
	done
	return 1
}
missing=0
while :; do
	added=0
	while IFS= read -r -d '' f; do
		[[ $(head -c4 "$f") == $'\x7fELF' ]] || continue
		dyn=$(readelf -d "$f" 2>/dev/null) || continue
		runpath=$(sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p' <<<"$dyn" | tr ':' ' ')
		mapfile -t needed < <(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn")
		for so in "${needed[@]}"; do
			found=0
			for d in $runpath "${LIBDIRS[@]}"; do [[ -e $R$d/$so ]] && found=1; done
			((found)) && continue
			# shellcheck disable=SC2086
			if p=$(find_lib "$so" $runpath); then
				mkdir -p "$R$(dirname "$p")"
				cp -L "$S$p" "$R$p"
				added=1
			else
				echo "build.sh: ${f#"$R"} needs $so, which no package provides" >&2
				missing=1
			fi
		done
	done < <(find "$R/usr" -type f \( -perm -u+x -o -name '*.so*' \) -print0)
	((missing)) && exit 1
	((added)) || break
done

# ---------------------------------------------------------------------------------------------
# Kernel modules: MODULES_STAGE1 (in the initramfs too) find and mount the CD's root;
# MODULES_EARLY and MODULES_DOCKER are loaded at boot, MODULES_EXTRA on demand.
MODULES_STAGE1=(
	# the CD: IDE/SATA (QEMU, VirtualBox), virtio-scsi, or the ISO written to a disk
	ata_piix ahci sr_mod virtio_pci virtio_scsi virtio_blk sd_mod
	isofs loop squashfs overlay
)
MODULES_EARLY=(
	# disks, CD, NICs (QEMU, VirtualBox, VMware)
	virtio_pci virtio_blk virtio_scsi virtio_net virtio_console virtio_rng
	ata_piix ahci sd_mod sr_mod e1000 e1000e pcnet32 vmxnet3
	# filesystems, ACPI power button for acpid
	ext4 isofs nls_utf8 button evdev
)
MODULES_DOCKER=( # loaded in the background while network and disk come up
	overlay bridge br_netfilter veth nf_conntrack nf_conntrack_netlink nf_nat
	ip_tables ip6_tables iptable_filter iptable_nat iptable_mangle
	ip6table_filter ip6table_nat ip6table_mangle
	xt_addrtype xt_conntrack xt_MASQUERADE xt_nat xt_tcpudp xt_mark xt_comment xt_multiport
	ipt_REJECT ip6t_REJECT xfrm_user esp4
)
MODULES_EXTRA=(
	vboxguest vboxsf 9p 9pnet 9pnet_virtio netfs fuse loop squashfs tun
	vxlan macvlan ipvlan dummy 8021q
	ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh xt_ipvs xt_policy xt_bpf xt_statistic xt_physdev
	xt_state xt_limit xt_set ip_set ip_set_hash_ip ip_set_hash_net iptable_raw ip6table_raw
	nf_tables nft_compat nft_chain_nat nft_ct nft_masq nft_nat nft_reject_inet nft_fib_inet
	nft_fib_ipv4 nft_fib_ipv6 nf_conntrack_ftp nf_conntrack_tftp
	crc32c_generic crc32c-intel nvme binfmt_misc
)
if [[ $ARCH == arm64 ]]; then
	# x86-only hardware and VirtualBox's x86 guest drivers are not in the arm64 kernel; the QEMU
	# virt machine's power button is a GPIO key (without it, a stop waits for the hard timeout)
	not_here=" ata_piix pcnet32 crc32c-intel vboxguest vboxsf "
	for list in MODULES_STAGE1 MODULES_EARLY MODULES_EXTRA; do
		declare -n l=$list
		kept=()
		for m in "${l[@]}"; do [[ $not_here == *" $m "* ]] || kept+=("$m"); done
		l=("${kept[@]}")
		unset -n l
	done
	MODULES_EARLY+=(gpio_keys)
fi
log "waiting for depmod, resolving kernel modules"
wait "$DEPMOD_PID"
MODDIR=/usr/lib/modules/$KVER
# the .ko files of the modules $@ and of what they depend on
module_files() {
	local m out
	for m in "$@"; do
		out=$(modprobe -d "$S/usr" -S "$KVER" --show-depends "$m" 2>&1) || {
			echo "build.sh: kernel module $m: $out" >&2
			exit 1
		}
		sed -n 's/^insmod \([^ ]*\).*/\1/p' <<<"$out"
	done | sort -u
}
module_files "${MODULES_STAGE1[@]}" >"$W/modules-stage1"
module_files "${MODULES_EARLY[@]}" "${MODULES_DOCKER[@]}" "${MODULES_EXTRA[@]}" | sort -u - "$W/modules-stage1" >"$W/modules"
while read -r k; do
	rel=${k#"$S"}
	dst=$R${rel%.xz}
	mkdir -p "$(dirname "$dst")"
	# decompress here: busybox modprobe cannot load .ko.xz, and the initramfs is compressed anyway
	case $k in
	*.xz) xz -dc "$k" >"$dst" ;;
	*) cp "$k" "$dst" ;;
	esac
done <"$W/modules"
cp -a "$S$MODDIR"/modules.{order,builtin,builtin.modinfo} "$R$MODDIR/"
depmod -b "$R/usr" "$KVER"
rm -f "$R$MODDIR"/*.bin # busybox modprobe reads the text files only
printf '%s\n' "${MODULES_EARLY[@]}" >"$R/etc/modules"
printf '%s\n' "${MODULES_DOCKER[@]}" >"$R/etc/modules-docker"

# ---------------------------------------------------------------------------------------------
log "overlay and generated files"
cp -a "$HERE/rootfs/." "$R/"
chmod 0755 "$R"/etc/init.d/* "$R"/usr/bin/b2d-* "$R/usr/bin/sethostname" \
	"$R/usr/share/udhcpc/default.script" "$R/etc/acpi/PWRF/00000080"
chmod 0440 "$R/etc/sudoers"
chmod 0640 "$R/etc/shadow"
chmod 4755 "$R/usr/bin/sudo"
[[ $CONSOLE == ttyS0 ]] || sed -i "s/ttyS0/$CONSOLE/g" "$R/etc/inittab" # the serial console's name
mkdir -p "$R/etc/dropbear" "$R/var/lib/boot2docker" "$R/var/lib/docker" "$R/etc/boot2docker" "$R/usr/local/bin"
rmdir "$R/etc/dropbear"
ln -s /var/lib/boot2docker/ssh "$R/etc/dropbear" # persisted host keys
ln -s /var/lib/boot2docker/etc/docker "$R/etc/docker"
ln -s /proc/mounts "$R/etc/mtab"

cat >"$R/etc/os-release" <<EOF
NAME=Boot2Docker
VERSION=$DOCKER_VERSION
ID=boot2docker
ID_LIKE=debian
VERSION_ID=$DOCKER_VERSION
PRETTY_NAME="Boot2Docker $DOCKER_VERSION (Debian 13 trixie)"
ANSI_COLOR="1;34"
EOF
ln -s ../../etc/os-release "$R/usr/lib/os-release"
cp "$W/packages.lock" "$R/etc/boot2docker/packages.lock"
cat >"$R/etc/boot2docker/build-info" <<EOF
recipe=$KEY
docker=$DOCKER_VERSION
kernel=$KVER
arch=$ARCH
EOF

# ---------------------------------------------------------------------------------------------
# The root: a squashfs on the CD, read on demand (the kernel decompresses 1 MiB blocks as files
# are read, so a boot reads only what it runs). zstd rather than xz: measured under TCG, the ISO
# is 79 MiB instead of 71, but containerd is up 8 s and dockerd 10 s sooner (decompression is
# most of it; on a slow host more so).
# MACHINE_ISO_SQUASHFS overrides the options for experiments only (it is not part of the key).
read -ra SQUASHFS_OPTS <<<"${MACHINE_ISO_SQUASHFS:--comp zstd -Xcompression-level 19 -b 1M}"
find "$R" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
ISOROOT=$W/isoroot
mkdir -p "$ISOROOT"/{boot,isolinux}
log "root (mksquashfs ${SQUASHFS_OPTS[*]})"
# (mksquashfs takes its timestamps from SOURCE_DATE_EPOCH)
mksquashfs "$R" "$ISOROOT/boot/rootfs.sqfs" -quiet -no-progress -noappend -all-root -no-xattrs \
	"${SQUASHFS_OPTS[@]}" >"$W/mksquashfs.log" 2>&1 || { cat "$W/mksquashfs.log" >&2; exit 1; }
# stage 1 boots only the root it was built with
ROOTFS_ID=$KEY-$(sha256sum <"$ISOROOT/boot/rootfs.sqfs" | cut -c1-16)
echo "$ROOTFS_ID" >"$ISOROOT/boot/rootfs.id"

# initramfs: busybox, the modules that reach the CD, stage 1's /init. Fixed mtimes, sorted newc
# archive owned by root, deterministic compression.
log "initramfs (stage 1)"
I=$W/initramfs
mkdir -p "$I"/{usr/bin,dev,proc,sys,etc}
ln -s usr/bin "$I/bin"
cp -a "$R/usr/bin/busybox" "$I/usr/bin/"
for a in sh modprobe; do ln -s busybox "$I/usr/bin/$a"; done
install -m 0755 "$HERE/initramfs/init" "$I/init"
echo "$ROOTFS_ID" >"$I/etc/rootfs.id"
while read -r k; do
	rel=${k#"$S"}
	mkdir -p "$I$(dirname "${rel%.xz}")"
	cp -a "$R${rel%.xz}" "$I${rel%.xz}"
done <"$W/modules-stage1"
mkdir -p "$I$MODDIR"
cp -a "$R$MODDIR"/modules.{order,builtin,builtin.modinfo} "$I$MODDIR/"
depmod -b "$I/usr" "$KVER"
rm -f "$I$MODDIR"/*.bin
printf '%s\n' "${MODULES_STAGE1[@]}" >"$I/etc/modules"
ln -s usr/lib "$I/lib"
find "$I" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$I" && find . -mindepth 1 -print0 | sort -z |
	cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) |
	zstd -q -19 >"$ISOROOT/boot/initrd.img"
# arm64's kernel is a plain Image (38 MB); GRUB and QEMU's -kernel both take it gzipped
case $ARCH in
amd64) cp "$S/boot/vmlinuz-$KVER" "$ISOROOT/boot/vmlinuz" ;;
arm64) gzip -9n <"$S/boot/vmlinuz-$KVER" >"$ISOROOT/boot/vmlinuz" ;;
esac

# ---------------------------------------------------------------------------------------------
log "iso (xorriso)"
# panic=10: a kernel that panics (rare, under emulation) reboots instead of leaving the caller
# waiting for an SSH that never comes
CMDLINE="loglevel=3 apparmor=0 rootfstype=ramfs panic=10 console=tty0 console=$CONSOLE,115200n8"
BIOS_BOOT=() EFI_HYBRID=()
if [[ $ARCH == amd64 ]]; then
	# BIOS: ISOLINUX; the ISO is also a bootable disk image (MBR and GPT)
	cp "$S/usr/lib/ISOLINUX/isolinux.bin" "$S/usr/lib/syslinux/modules/bios/ldlinux.c32" "$ISOROOT/isolinux/"
	cat >"$ISOROOT/isolinux/isolinux.cfg" <<-EOF
		default boot2docker
		prompt 0
		timeout 1
		label boot2docker
			kernel /boot/vmlinuz
			initrd /boot/initrd.img
			append $CMDLINE
	EOF
	BIOS_BOOT=(-b isolinux/isolinux.bin -no-emul-boot -boot-load-size 4 -boot-info-table
		-isohybrid-mbr "$S/usr/lib/ISOLINUX/isohdpfx.bin" -eltorito-alt-boot)
	EFI_HYBRID=(-isohybrid-gpt-basdat)
else
	rmdir "$ISOROOT/isolinux"
fi
# UEFI: Debian's signed monolithic CD GRUB as the El Torito EFI image's $EFI_NAME. Its built-in
# config finds the ISO through /.disk/info and sources /boot/grub/grub.cfg.
mkdir -p "$ISOROOT/boot/grub" "$ISOROOT/.disk"
echo "Boot2Docker $DOCKER_VERSION (machine, Debian 13 trixie)" >"$ISOROOT/.disk/info"
cat >"$ISOROOT/boot/grub/grub.cfg" <<EOF
set timeout=0
set default=0
menuentry "boot2docker" {
	linux /boot/vmlinuz $CMDLINE
	initrd /boot/initrd.img
}
EOF
cp "$S$EFI_GRUB" "$W/$EFI_NAME"
touch -d "@$SOURCE_DATE_EPOCH" "$W/$EFI_NAME"
# the FAT image holds GRUB and little more (every KiB of it is in the ISO)
mkfs.fat -C "$W/efi.img" $(($(stat -c %s "$W/$EFI_NAME") / 1024 + 160)) -n EFIBOOT --invariant >/dev/null # --invariant: fixed serial/dates
mmd -i "$W/efi.img" ::/EFI ::/EFI/BOOT                           # mtools dates: SOURCE_DATE_EPOCH
mcopy -m -i "$W/efi.img" "$W/$EFI_NAME" "::/EFI/BOOT/$EFI_NAME"
mv "$W/efi.img" "$ISOROOT/boot/grub/efi.img"
cp "$W/packages.lock" "$ISOROOT/packages.lock"
cp "$R/etc/boot2docker/build-info" "$ISOROOT/boot/build-info" # what the ISO is, for release-iso.sh
find "$ISOROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
# SOURCE_DATE_EPOCH makes xorriso use fixed volume dates, volume UUID and GPT GUIDs; -r records
# owner 0:0 whoever builds.
xorriso -as mkisofs -quiet \
	-o "$W/boot2docker.iso" \
	-V "b2d-v$DOCKER_VERSION" -publisher machine-b2d -A "machine-b2d $KEY" -sysid LINUX \
	-J -joliet-long -r -l \
	-c boot/boot.cat "${BIOS_BOOT[@]}" -e boot/grub/efi.img -no-emul-boot "${EFI_HYBRID[@]}" \
	"$ISOROOT" 2>"$W/xorriso.log" || { cat "$W/xorriso.log" >&2; exit 1; }

# the recipe was read while building: refuse to file the result under a key it does not match
[[ $(recipe_key) == "$KEY" ]] || { echo "build.sh: iso/ changed during the build; run it again" >&2; exit 1; }
mkdir -p "$OUTDIR"
cp "$W/packages.lock" "$OUTDIR/packages.lock"
mv "$W/boot2docker.iso" "$ISO"
log "done: $(du -m "$ISO" | cut -f1) MiB, docker $DOCKER_VERSION, kernel $KVER, $ARCH"
echo "$ISO"
