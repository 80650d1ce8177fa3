#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Kernel matrix: boots Debian's stock kernels in qemu and runs veer's unit,
# packet and an end-to-end subset in each, over this very tree.
#
#   scripts/kernel-matrix.sh [--full | --e2e TEST,...] [--kernel PKG[=VERSION]]...
#                            [--list]
#                            [--timeout SEC] [--cpus N] [--mem MIB]
#                            [--verbose]
#
# Kernels: every "linux-image-amd64" and "linux-image-X.Y-amd64" meta
# package that the configured apt sources offer (bookworm: 6.1, and 6.12
# from bookworm-security; a configured *-backports too), newest version per
# X.Y series. --kernel picks packages by hand instead (a meta package or a
# linux-image-<version>-amd64 package, optionally =VERSION); --list prints
# the choice and exits. Packages are fetched with `apt-get download` into
# build/kernel-matrix/debs/ and unpacked with `dpkg -x` into a temporary
# directory (never /boot, never the bootloader; nothing is installed).
#
# Guest: qemu-system-x86_64 under TCG (on the nested /dev/kvm of the
# machines this was written on, KVM refuses -cpu host and a guest with
# -cpu qemu64 never printed a line), --cpus vCPUs (default: the host's, at most
# 4), --mem MiB (default 3072), booted with thash_entries=262144 (a small
# guest otherwise sizes the TCP hash table so small that TIME_WAIT
# overflows in the e2e bursts). A busybox initramfs (busybox-static) loads
# 9p/virtio/overlay from the kernel package's own modules, mounts the
# host's / read-only over virtio-9p under a tmpfs overlay, binds the
# package's /lib/modules in (so the kernel's module autoloading finds
# veth, sch_ingress, cls_bpf, ...) and switches root; the host's own tools
# (bash, iproute2, bpftool, jq, ...) and build/ then run unchanged on the
# guest kernel. The tree itself is a snapshot taken when the matrix starts
# (source and build/, copied to a temporary directory and bound over the
# tree's path in the guest), so every kernel runs the same build even if
# the tree is edited or rebuilt meanwhile. Inside, this script (--guest) mounts proc, sys, bpffs and
# cgroup2, runs build/test_unit, build/test_packet and the e2e subset
# (test_split.sh and test_live_flip.sh in tc, xdp and cgroup mode, transmit
# checksum offload on and off; --full: every tests/e2e/test_*.sh; --e2e:
# these, e.g. --e2e test_istio,test_errors, or --e2e none), reports
# over the serial console and powers off.
#
# Results: build/kernel-matrix/<kernel release>.log (the serial console)
# and a summary table at the end; exit status 0 only if every kernel
# passed everything. Each guest is killed after --timeout seconds
# (default 5400, 14400 with --full) and counts as failed then; each e2e
# script inside after 900 s (1500 s with --full).
#
# Must run as root (qemu's 9p export of /, apt-get download); build first
# (make tests-bin), or use `make kernel-matrix`, which does both.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$ROOT/scripts/kernel-matrix.sh
E2E_SUBSET=(test_split test_live_flip)
E2E_MODES="tc xdp cgroup"
E2E_VARIANTS="on off"

# ---- guest side ---------------------------------------------------------

# The guest's value of veer_km.NAME= on the kernel command line.
km_param() {
	local w
	for w in $(</proc/cmdline); do
		[[ $w == "veer_km.$1="* ]] && {
			echo "${w#*=}"
			return 0
		}
	done
	return 1
}

gsay() { echo "veer-km: $*"; }

guest_poweroff() {
	gsay "EXIT $1"
	sync
	# busybox-static is on the host, hence here; its poweroff -f does
	# not return. Failing that, PID 1 exits: panic=-1 and qemu's
	# -no-reboot end the guest.
	busybox poweroff -f
	exit "$1"
}

# The e2e loop of tests/run.sh over a chosen list, one RESULT per run.
guest_e2e() {
	local tests=$1 timeout=$2 m v t name rc t0 fails=0
	for m in $E2E_MODES; do
		for v in $E2E_VARIANTS; do
			for t in $tests; do
				name="e2e:${t}[$m,tx-$v]"
				gsay "RUN $name"
				t0=$SECONDS
				rc=0
				VEER_E2E_MODE=$m VEER_E2E_TX=$v \
					timeout --signal=TERM --kill-after=15 "$timeout" \
					bash "$ROOT/tests/e2e/$t.sh" || rc=$?
				if ((rc == 0)); then
					gsay "RESULT $name ok $((SECONDS - t0))"
				else
					((rc == 124)) && gsay "$name timed out after ${timeout}s"
					gsay "RESULT $name FAIL $((SECONDS - t0)) exit=$rc"
					fails=$((fails + 1))
				fi
			done
		done
	done
	return "$fails"
}

guest_main() {
	local fails=0 t0 rc layer tests timeout m fs dir opts

	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export HOME=/root TERM=dumb LANG=C.UTF-8
	cd "$ROOT" || guest_poweroff 99
	for m in "devpts /dev/pts newinstance,ptmxmode=0666" \
		"tmpfs /dev/shm mode=1777" "tmpfs /run mode=755" \
		"tmpfs /tmp mode=1777" "bpf /sys/fs/bpf mode=700" \
		"cgroup2 /sys/fs/cgroup nsdelegate"; do
		read -r fs dir opts <<<"$m"
		if ! mkdir -p "$dir" || ! mount -t "$fs" -o "$opts" "$fs" "$dir"; then
			gsay "cannot mount $fs at $dir"
			guest_poweroff 99
		fi
	done
	ip link set lo up
	gsay "kernel $(uname -r) ($(nproc) vCPUs, $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo))"
	dmesg | grep -E 'TCP established hash table' | sed 's/^/veer-km: dmesg: /'

	for layer in unit packet; do
		gsay "RUN $layer"
		t0=$SECONDS
		rc=0
		timeout --signal=TERM --kill-after=15 900 \
			"$ROOT/tests/run.sh" "$layer" || rc=$?
		if ((rc == 0)); then
			gsay "RESULT $layer ok $((SECONDS - t0))"
		else
			gsay "RESULT $layer FAIL $((SECONDS - t0)) exit=$rc"
			fails=$((fails + 1))
		fi
	done

	tests=$(km_param e2e | tr , ' ')
	[[ $tests == none ]] && tests=
	timeout=$(km_param e2e_timeout) || timeout=600
	guest_e2e "$tests" "$timeout" || fails=$((fails + $?))

	dmesg --level=emerg,alert,crit,err,warn 2>/dev/null | tail -n 40 |
		sed 's/^/veer-km: dmesg: /'
	guest_poweroff "$fails"
}

if [[ ${1:-} == --guest ]]; then
	guest_main # powers off
fi

# ---- host side ----------------------------------------------------------

OUT=$ROOT/build/kernel-matrix
BUILD=${VEER_BUILD:-$ROOT/build}
FULL=0
E2E_LIST=
LIST=0
VERBOSE=0
TIMEOUT=
CPUS=$(nproc)
((CPUS > 4)) && CPUS=4
MEM=3072
KERNEL_ARGS=()

usage() {
	sed -n '/^#   scripts/,/^#  *\[--verbose/p' "$SELF" | sed 's/^# \{0,1\}//'
	exit 2
}
die() {
	printf 'kernel-matrix: %s\n' "$*" >&2
	exit 1
}
log() { printf 'kernel-matrix: %s\n' "$*"; }

while (($#)); do
	case $1 in
	--full) FULL=1 ;;
	--list) LIST=1 ;;
	--verbose) VERBOSE=1 ;;
	--e2e)
		[[ ${2:-} =~ ^(none|test_[a-z0-9_]+(,test_[a-z0-9_]+)*)$ ]] || usage
		E2E_LIST=$2
		shift
		;;
	--kernel)
		(($# >= 2)) || usage
		KERNEL_ARGS+=("$2")
		shift
		;;
	--timeout | --cpus | --mem)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage
		case $1 in
		--timeout) TIMEOUT=$2 ;;
		--cpus) CPUS=$2 ;;
		--mem) MEM=$2 ;;
		esac
		shift
		;;
	-h | --help) usage ;;
	*) usage ;;
	esac
	shift
done
[[ -n $TIMEOUT ]] || { ((FULL)) && TIMEOUT=14400 || TIMEOUT=5400; }
if ((FULL)); then
	E2E_LIST=$(find "$ROOT/tests/e2e" -maxdepth 1 -name 'test_*.sh' -printf '%f\n' |
		sed 's/\.sh$//' | sort | paste -sd,)
elif [[ -z $E2E_LIST ]]; then
	E2E_LIST=$(IFS=, && echo "${E2E_SUBSET[*]}")
fi
for t in ${E2E_LIST//,/ }; do
	[[ $t == none || -f $ROOT/tests/e2e/$t.sh ]] || die "no tests/e2e/$t.sh"
done

[[ $(id -u) -eq 0 ]] || die "must run as root (qemu exports / over 9p; apt-get download); try: sudo $0"
[[ $(uname -m) == x86_64 ]] || die "boots Debian's amd64 kernels: needs an x86_64 host"
[[ $ROOT != *[[:space:]]* ]] || die "the tree's path ($ROOT) must not contain white space"

# qemu, busybox-static, cpio, kmod (depmod/modprobe), xz/zstd (modules).
"$ROOT/scripts/install-deps.sh" qemu-system-x86 busybox-static cpio kmod \
	xz-utils zstd >&2 || die "cannot install qemu and busybox-static"
for t in qemu-system-x86_64 busybox cpio depmod modprobe apt-get apt-cache dpkg; do
	command -v "$t" >/dev/null 2>&1 || die "missing $t"
done
for b in test_unit test_packet veer veer-testsrv veer-testclient; do
	[[ -x $BUILD/$b ]] || die "$BUILD/$b not built: run make tests-bin (or make kernel-matrix)"
done

# ---- which kernels ----

# The linux-image-*-amd64 package a meta package's VERSION depends on.
image_of() {
	apt-cache show "$1=$2" 2>/dev/null |
		awk -F': ' '$1 == "Depends" { print; exit }' |
		tr ',' '\n' | grep -oE 'linux-image-[0-9][^ ]*-amd64' | head -n 1
}

# "X.Y" of an image package name (linux-image-6.1.0-56-amd64: 6.1).
series_of() { sed -E 's/^linux-image-([0-9]+\.[0-9]+).*/\1/' <<<"$1"; }

# Prints "SERIES IMAGE_PKG VERSION" lines, newest version per series.
resolve_kernels() {
	local metas=() m v img s cand=() line
	if ((${#KERNEL_ARGS[@]})); then
		for m in "${KERNEL_ARGS[@]}"; do
			v=${m#*=}
			[[ $m == *=* ]] || v=$(apt-cache policy "$m" | awk '$1 == "Candidate:" { print $2 }')
			m=${m%%=*}
			[[ -n $v && $v != "(none)" ]] || die "no candidate for package $m"
			if [[ $m =~ ^linux-image-([0-9]+\.[0-9]+-)?amd64$ ]]; then
				img=$(image_of "$m" "$v")
				[[ -n $img ]] || die "$m=$v depends on no linux-image package"
			else
				img=$m
			fi
			echo "$(series_of "$img") $img $v"
		done
		return
	fi
	mapfile -t metas < <(apt-cache pkgnames linux-image- |
		grep -E '^linux-image-([0-9]+\.[0-9]+-)?amd64$' | sort)
	for m in "${metas[@]}"; do
		while read -r v; do
			img=$(image_of "$m" "$v")
			[[ -n $img ]] && cand+=("$(series_of "$img") $img $v")
		done < <(apt-cache madison "$m" | awk -F' *[|] *' '{ print $2 }' | sort -u)
	done
	# Newest per series.
	declare -A best=()
	for line in "${cand[@]}"; do
		read -r s img v <<<"$line"
		if [[ -z ${best[$s]:-} ]] ||
			dpkg --compare-versions "$v" gt "${best[$s]##* }"; then
			best[$s]="$img $v"
		fi
	done
	for s in "${!best[@]}"; do echo "$s ${best[$s]}"; done | sort -V
}

mapfile -t KERNELS < <(resolve_kernels)
((${#KERNELS[@]})) || die "no linux-image-amd64 package in the configured apt sources (apt-cache policy linux-image-amd64)"
log "kernels: $(printf '%s; ' "${KERNELS[@]}")"
((LIST)) && exit 0

# ---- fetch, unpack, initramfs ----

mkdir -p "$OUT/debs"
TMP=$(mktemp -d)
QEMU_PID=
TAIL_PID=
cleanup() {
	[[ -n $TAIL_PID ]] && kill "$TAIL_PID" 2>/dev/null
	[[ -n $QEMU_PID ]] && kill "$QEMU_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# fetch IMG VERSION: prints the unpacked root (in $TMP: the run needs
# nothing under build/ but the .deb cache, so a `make clean` meanwhile
# costs a download, not the run).
fetch_kernel() {
	local img=$1 v=$2 deb dir=$TMP/kernel
	mkdir -p "$OUT/debs" || return 1
	deb=$(find "$OUT/debs" -maxdepth 1 -name "${img}_*.deb" | while read -r f; do
		[[ $(dpkg-deb -f "$f" Version) == "$v" ]] && echo "$f"
	done | head -n 1)
	if [[ -z $deb ]]; then
		log "downloading $img=$v" >&2
		(cd "$OUT/debs" && apt-get download -q -o APT::Sandbox::User=root "$img=$v" >&2) ||
			{ apt-get update -qq >&2 && (cd "$OUT/debs" &&
				apt-get download -q -o APT::Sandbox::User=root "$img=$v" >&2); } ||
			return 1
		deb=$(find "$OUT/debs" -maxdepth 1 -name "${img}_*.deb" | while read -r f; do
			[[ $(dpkg-deb -f "$f" Version) == "$v" ]] && echo "$f"
		done | head -n 1)
		[[ -n $deb ]] || return 1
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg -x "$deb" "$dir" || return 1
	echo "$dir"
}

# The modules the initramfs loads itself (the rest autoload later).
INITRD_MODS=(virtio_pci 9pnet_virtio 9p overlay)

# make_initramfs KROOT KVER OUTFILE
make_initramfs() {
	local kroot=$1 kver=$2 out=$3 ir=$TMP/initramfs m line f base
	rm -rf "$ir"
	mkdir -p "$ir/bin" "$ir/mods"
	cp "$(command -v busybox)" "$ir/bin/busybox"
	# Debian's modules.dep comes from depmod in the postinst, which
	# never ran: make it here, in the private copy.
	depmod -b "$kroot" "$kver" || return 1
	: >"$ir/mods/order"
	for m in "${INITRD_MODS[@]}"; do
		modprobe -d "$kroot" -S "$kver" --show-depends "$m" >"$TMP/deps" || return 1
		while read -r line; do
			[[ $line == insmod\ * ]] || continue
			f=${line#insmod }
			f=${f%% *}
			base=$(basename "$f")
			base=${base%.xz}
			base=${base%.zst}
			grep -qx "$base" "$ir/mods/order" && continue
			case $f in
			*.xz) xz -dc "$f" >"$ir/mods/$base" ;;
			*.zst) zstd -qdc "$f" >"$ir/mods/$base" ;;
			*) cp "$f" "$ir/mods/$base" ;;
			esac || return 1
			echo "$base" >>"$ir/mods/order"
		done <"$TMP/deps"
	done
	cat >"$ir/init" <<'EOF'
#!/bin/busybox sh
# veer kernel matrix: initramfs init (see scripts/kernel-matrix.sh).
/bin/busybox mkdir -p /proc /sys /dev /host /rw /newroot /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() {
	echo "veer-km: initramfs: $*"
	echo "veer-km: EXIT 99"
	poweroff -f
}
for w in $(cat /proc/cmdline); do
	case $w in
	veer_km.tree=*) TREE=${w#*=} ;;
	veer_km.snap=*) SNAP=${w#*=} ;;
	esac
done
KVER=$(uname -r)
for m in $(cat /mods/order); do
	insmod "/mods/$m" || fail "insmod $m"
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose \
	hostroot /host || fail "cannot mount the host's / over 9p"
mount -t tmpfs -o mode=755 rw /rw && mkdir -p /rw/upper /rw/work ||
	fail "tmpfs"
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work \
	overlay /newroot || fail "cannot mount the overlay"
KMODS=$(cat /kmods)
mkdir -p "/newroot/usr/lib/modules/$KVER" &&
	mount --bind "/newroot$KMODS" "/newroot/usr/lib/modules/$KVER" ||
	fail "cannot bind $KMODS"
mount --bind "/newroot$SNAP" "/newroot$TREE" || fail "cannot bind $SNAP on $TREE"
[ -x "/newroot$TREE/scripts/kernel-matrix.sh" ] || fail "no $TREE in the guest"
for d in proc sys dev; do
	mount --move "/$d" "/newroot/$d" || fail "mount --move /$d"
done
exec switch_root /newroot /bin/bash "$TREE/scripts/kernel-matrix.sh" --guest
EOF
	chmod 755 "$ir/init"
	echo "$kroot/lib/modules/$kver" >"$ir/kmods"
	(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
}

# The tree as it is now, for every kernel (see the header).
SNAP=$TMP/tree
REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
mkdir -p "$SNAP"
tar -C "$ROOT" --exclude=./.git --exclude=./build/kernel-matrix \
	--exclude=./build/fuzz-corpus --exclude=./build/fuzz-artifacts -cf - . |
	tar -C "$SNAP" -xf - || die "cannot copy the tree to $SNAP"
log "tree: $ROOT at $REV, snapshot in $SNAP"

# ---- boot and run ----

fmt_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

declare -a ROWS=()
ALL_OK=1

run_kernel() {
	local series=$1 img=$2 v=$3 kroot kver vmlinuz initrd logf t0 rc=0
	local e2e e2e_ok e2e_n unit packet exitline status secs
	kroot=$(fetch_kernel "$img" "$v") || {
		ROWS+=("$(printf '%-24s %-6s %-6s %-8s %-8s %s' "$img" - - - - "FAIL (download/unpack)")")
		ALL_OK=0
		return
	}
	kver=$(find "$kroot/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 1)
	vmlinuz=$kroot/boot/vmlinuz-$kver
	[[ -n $kver && -f $vmlinuz ]] || die "$img: no kernel image in $kroot"
	initrd=$TMP/initramfs.cpio.gz
	make_initramfs "$kroot" "$kver" "$initrd" || die "$kver: cannot build the initramfs"
	# The serial console goes to $TMP, copied to build/ at the end.
	logf=$TMP/serial.log
	e2e=$E2E_LIST
	log "=== $kver ($img $v): booting (TCG, $CPUS vCPUs, $MEM MiB, timeout ${TIMEOUT}s); log: ${OUT#"$ROOT"/}/$kver.log"
	echo "veer-km(host): $img $v, tree $REV" >"$logf"
	t0=$SECONDS
	timeout --signal=TERM --kill-after=15 "$TIMEOUT" \
		qemu-system-x86_64 -nodefaults -no-user-config -no-reboot \
		-machine q35 -accel "tcg,thread=multi" -cpu max -smp "$CPUS" -m "$MEM" \
		-display none -monitor none \
		-chardev "file,id=con,path=$logf,append=on" -serial chardev:con \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-kernel "$vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 loglevel=4 thash_entries=262144 veer_km.tree=$ROOT veer_km.snap=$SNAP veer_km.e2e=$e2e veer_km.e2e_timeout=$((FULL ? 1500 : 900))" \
		2>"$TMP/qemu.err" &
	QEMU_PID=$!
	# Progress: the guest's own lines (all of it with --verbose).
	if ((VERBOSE)); then
		tail -n +1 -F --pid="$QEMU_PID" "$logf" 2>/dev/null &
	else
		tail -n +1 -F --pid="$QEMU_PID" "$logf" 2>/dev/null |
			grep --line-buffered -E '^veer-km: (RUN|RESULT|EXIT|kernel|initramfs)' &
	fi
	TAIL_PID=$!
	wait "$QEMU_PID" || rc=$?
	QEMU_PID=
	wait "$TAIL_PID" 2>/dev/null
	TAIL_PID=
	secs=$((SECONDS - t0))
	{
		echo "veer-km(host): qemu exit $rc after ${secs}s$( ((rc == 124)) && echo " (killed: timeout ${TIMEOUT}s)")"
		cat "$TMP/qemu.err"
	} >>"$logf"
	[[ -s $TMP/qemu.err ]] && sed 's/^/kernel-matrix: qemu: /' "$TMP/qemu.err" >&2

	result() { awk -v n="$1" '$1 == "veer-km:" && $2 == "RESULT" && $3 == n { r = $4 } END { print r == "" ? "-" : r }' "$logf" | tr -d '\r'; }
	unit=$(result unit)
	packet=$(result packet)
	e2e_n=$(tr -d '\r' <"$logf" | grep -c '^veer-km: RESULT e2e:')
	e2e_ok=$(tr -d '\r' <"$logf" | grep -cE '^veer-km: RESULT e2e:[^ ]+ ok ')
	exitline=$(tr -d '\r' <"$logf" | awk '$1 == "veer-km:" && $2 == "EXIT" { print $3 }' | tail -n 1)
	if [[ $exitline == 0 && $unit == ok && $packet == ok && $e2e_ok -eq $e2e_n ]] &&
		{ ((e2e_n > 0)) || [[ $E2E_LIST == none ]]; }; then
		status=PASS
	else
		status=FAIL
		ALL_OK=0
		if [[ -z $exitline ]]; then
			status="FAIL (no result: $( ((rc == 124)) && echo timeout || echo "qemu exit $rc"))"
		fi
		tr -d '\r' <"$logf" | grep -E '^veer-km: RESULT .* FAIL' | sed 's/^veer-km: /  /'
		[[ $exitline == 0 ]] || tr -d '\r' <"$logf" |
			grep -E '^veer-km: ' | grep -vE '^veer-km: (RUN|RESULT) ' |
			tail -n 4 | sed 's/^veer-km: /  /'
	fi
	ROWS+=("$(printf '%-24s %-6s %-6s %-8s %-8s %s' "$kver" "$unit" "$packet" "$e2e_ok/$e2e_n" "$(fmt_time "$secs")" "$status")")
	mkdir -p "$OUT" && cp "$logf" "$OUT/$kver.log"
	rm -rf "$kroot" "$initrd"
}

for k in "${KERNELS[@]}"; do
	read -r series img v <<<"$k"
	run_kernel "$series" "$img" "$v"
done

echo
echo "=== kernel matrix ($REV; TCG, $CPUS vCPUs, $MEM MiB; e2e: ${E2E_LIST//,/ } x {$E2E_MODES} x tx-{$E2E_VARIANTS})"
printf '%-24s %-6s %-6s %-8s %-8s %s\n' kernel unit packet e2e time result
printf '%s\n' "${ROWS[@]}"
((ALL_OK))
