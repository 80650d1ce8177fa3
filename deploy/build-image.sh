#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Builds veer's container image: build/image/rootfs.tar holds /usr/bin/veer
# (the BPF programs are inside it), exactly the shared libraries it loads
# (from ldd), a few terminfo entries for `kubectl exec ... veer top`, and
# the empty mount points of deploy/daemonset.yaml. Nothing else: no shell,
# no package manager. Then, if asked, imports it into a container engine.
#
#   deploy/build-image.sh [--import docker|podman] [--tag TAG]
#
# Without --import it only writes the tarball; any engine takes it:
#   docker import --change 'ENTRYPOINT ["/usr/bin/veer"]' build/image/rootfs.tar veer:dev
#   podman import --change 'ENTRYPOINT ["/usr/bin/veer"]' build/image/rootfs.tar veer:dev
# or, with a builder, `docker build -f deploy/Containerfile -t veer:dev .`
# after this script. The image runs on nodes whose C library is at least
# the build machine's (Debian 12: glibc 2.36), since the libraries are the
# build machine's own.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENGINE='' TAG=veer:dev
while (($#)); do
	case $1 in
	--import) ENGINE=${2:-}; shift ;;
	--tag) TAG=${2:-}; shift ;;
	-h | --help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) echo "build-image: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
case $ENGINE in
'' | docker | podman) ;;
*) echo "build-image: --import takes docker or podman, not '$ENGINE'" >&2; exit 2 ;;
esac

make -C "$ROOT" --no-print-directory build/veer >/dev/null
OUT=$ROOT/build/image
ROOTFS=$OUT/rootfs
rm -rf "$ROOTFS"
mkdir -p "$ROOTFS/usr/bin" "$ROOTFS/etc/veer/config" "$ROOTFS/var/lib/veer" \
	"$ROOTFS/sys" "$ROOTFS/proc" "$ROOTFS/tmp" "$ROOTFS/run"
chmod 1777 "$ROOTFS/tmp"
install -m 0755 "$ROOT/build/veer" "$ROOTFS/usr/bin/veer"

# The dynamic loader and every library it resolves, at the same paths;
# and those veer opens itself (dlopen: ldd cannot see them) with theirs.
mapfile -t DLOPENED < <(sed -n 's/^#define VEER_SONAME_[A-Z]* "\([^"]*\)".*/\1/p' "$ROOT/user/dynlib.h")
((${#DLOPENED[@]})) || { echo "build-image: no VEER_SONAME_ in user/dynlib.h" >&2; exit 1; }
objects=("$ROOT/build/veer")
for so in "${DLOPENED[@]}"; do
	# No early exit in awk: ldconfig would die of SIGPIPE (pipefail).
	path=$(ldconfig -p | awk -v so="$so" '$1 == so && !f { print $NF; f = 1 }')
	[[ -n $path ]] || { echo "build-image: $so not installed (scripts/install-deps.sh)" >&2; exit 1; }
	objects+=("$path")
done
libs=$(for o in "${objects[@]}"; do
	[[ $o == "$ROOT/build/veer" ]] || echo "$o"
	ldd "$o" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u)
[[ -n $libs ]] || { echo "build-image: ldd found no libraries for build/veer" >&2; exit 1; }
for lib in $libs; do
	mkdir -p "$ROOTFS$(dirname "$lib")"
	cp -L "$lib" "$ROOTFS$lib"
done
# The loader's cache, so dlopen finds the libraries by soname as here.
ldconfig -p | awk '/=>/ { sub(/\/[^\/]*$/, "", $NF); print $NF }' | sort -u >"$ROOTFS/etc/ld.so.conf"
ldconfig -r "$ROOTFS"
rm "$ROOTFS/etc/ld.so.conf"

# ncurses' terminal descriptions, for veer top over kubectl exec -it.
for t in x/xterm x/xterm-256color s/screen s/screen-256color v/vt100 l/linux d/dumb; do
	for dir in /usr/share/terminfo /lib/terminfo; do
		if [[ -e $dir/$t ]]; then
			mkdir -p "$ROOTFS/usr/share/terminfo/${t%%/*}"
			cp -L "$dir/$t" "$ROOTFS/usr/share/terminfo/$t"
			break
		fi
	done
done

tar -C "$ROOTFS" --numeric-owner --owner=0 --group=0 --sort=name \
	--mtime=@0 -cf "$OUT/rootfs.tar" .
echo "build-image: $OUT/rootfs.tar ($(du -k "$OUT/rootfs.tar" | cut -f1) KiB, $(echo "$libs" | wc -l) libraries)"
if [[ -n $ENGINE ]]; then
	"$ENGINE" import --change 'ENTRYPOINT ["/usr/bin/veer"]' "$OUT/rootfs.tar" "$TAG"
	echo "build-image: imported as $TAG ($ENGINE)"
fi
