#!/usr/bin/env bash
# Prepares everything the cgroup-v2 test VM needs, idempotently, into a cache directory:
#   - host packages: qemu-system-x86 (TCG + qboot firmware), busybox-static, e2fsprogs (mkfs.ext4);
#   - a Debian 6.1 kernel package, downloaded and partly unpacked (never installed);
#   - vmlinux (uncompressed, bootable through its PVH entry) and the modules the guest loads;
#   - initramfs.cpio: static busybox, those modules, src/test/vm/guest-init.sh as /init.
# Steps whose outputs exist and match their inputs are skipped, so a second run costs ~0.1 s.
#
# Usage: src/test/vm/setup.sh          (prints the cache directory on its last line)
# Env:   RUND_VM_CACHE       cache directory (default: <repo>/target/vm-cache)
#        RUND_VM_KERNEL_PKG  kernel package (default: the one already cached, else whatever
#                            Debian's linux-image-amd64 depends on, e.g. linux-image-6.1.0-50-amd64)
set -euo pipefail

readonly VM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_DIR="$(cd "$VM_DIR/../../.." && pwd)"
readonly CACHE="${RUND_VM_CACHE:-$REPO_DIR/target/vm-cache}"
readonly HOST_PACKAGES=(qemu-system-x86 busybox-static e2fsprogs)
readonly BUSYBOX=/bin/busybox
# Modules the guest needs; their dependencies are added from each module's .modinfo section.
# virtio_pci/virtio_blk: devices; 9p: host root and shares; overlay: writable root;
# ext4 (+crc32c_generic, a soft dependency resolved by the crypto API): the io test disk.
readonly WANTED_MODULES=(virtio_pci virtio_mmio virtio_blk 9pnet_virtio 9p overlay crc32c_generic ext4)

log() { printf 'vm-setup: %s\n' "$*" >&2; }
die() { printf 'vm-setup: ERROR: %s\n' "$*" >&2; exit 1; }

install_host_packages() {
    local missing=() pkg
    for pkg in "${HOST_PACKAGES[@]}"; do
        if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
            missing+=("$pkg")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
        log "apt-get install failed; refreshing package lists and retrying"
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    fi
}

# Kernel package: explicit, else the one cached before (stable across Debian point releases),
# else the current dependency of the linux-image-amd64 meta package.
resolve_kernel_package() {
    if [[ -n "${RUND_VM_KERNEL_PKG:-}" ]]; then
        echo "$RUND_VM_KERNEL_PKG"; return
    fi
    if [[ -s "$CACHE/kernel/package" ]]; then
        cat "$CACHE/kernel/package"; return
    fi
    local pkg
    pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')"
    if [[ -z "$pkg" ]]; then
        apt-get update -q >&2
        pkg="$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')"
    fi
    [[ -n "$pkg" ]] || die "cannot resolve the kernel package behind linux-image-amd64 (apt-cache depends linux-image-amd64)"
    echo "$pkg"
}

download_kernel_deb() {
    local pkg="$1" debs="$CACHE/kernel/debs" deb
    mkdir -p "$debs"
    deb="$(ls "$debs"/"${pkg}"_*.deb 2>/dev/null | head -n1 || true)"
    if [[ -z "$deb" ]]; then
        log "downloading $pkg"
        # apt-get download drops privileges to _apt when it can write the directory.
        chmod 0777 "$debs"
        if ! (cd "$debs" && apt-get download -q "$pkg" >&2); then
            apt-get update -q >&2
            (cd "$debs" && apt-get download -q "$pkg" >&2)
        fi
        deb="$(ls "$debs"/"${pkg}"_*.deb | head -n1)"
    fi
    echo "$deb"
}

# Reads one key (depends, softdep, name) of a module's .modinfo section.
modinfo_field() {
    local ko="$1" key="$2"
    tr '\0' '\n' < "$ko" | sed -n "s/^${key}=//p" | head -n1
}

# Unpacks vmlinuz and the closure of WANTED_MODULES into $CACHE/kernel/<version>/ and writes
# modules.order there (dependencies first). One pass over the package (xz-decompressing it is
# what costs), then everything not needed is deleted.
unpack_kernel() {
    local deb="$1" kroot="$2" full="$2.full" ko name dep
    local -A file_of=() placed=()
    local order=()
    rm -rf "$full" "$kroot"; mkdir -p "$full" "$kroot/boot" "$kroot/modules"
    dpkg-deb -x "$deb" "$full"
    while read -r ko; do
        name="$(basename "$ko" .ko)"
        file_of[${name//-/_}]="$ko"
    done < <(find "$full/lib/modules" -name '*.ko')
    # Depth-first over .modinfo "depends" (hard) and "softdep pre:" (when it names a module file;
    # crypto aliases such as crypto-crc32c are covered by listing crc32c_generic).
    place() {
        local m="${1//-/_}" d
        [[ -n "${placed[$m]:-}" ]] && return 0
        [[ -n "${file_of[$m]:-}" ]] || die "module $m not found in $deb"
        placed[$m]=1
        for d in $(modinfo_field "${file_of[$m]}" depends | tr ',' ' '); do place "$d"; done
        for d in $(modinfo_field "${file_of[$m]}" softdep | sed -n 's/^pre: *//p'); do
            [[ -n "${file_of[${d//-/_}]:-}" ]] && place "$d"
        done
        order+=("$(basename "${file_of[$m]}")")
        cp "${file_of[$m]}" "$kroot/modules/"
    }
    for name in "${WANTED_MODULES[@]}"; do place "$name"; done
    printf '%s\n' "${order[@]}" > "$kroot/modules.order"
    cp "$full"/boot/vmlinuz-* "$full"/boot/config-* "$kroot/boot/"
    rm -rf "$full"
}

# The bzImage's payload is xz; its uncompressed ELF has a PVH entry note, which lets QEMU boot it
# directly with qboot (no real-mode setup, no self-decompression under TCG).
extract_vmlinux() {
    local vmlinuz="$1" out="$2" offset
    for offset in $(grep -abo $'\xfd7zXZ\x00' "$vmlinuz" 2>/dev/null | cut -d: -f1); do
        tail -c "+$((offset + 1))" "$vmlinuz" | xz -dcq > "$out.tmp" 2>/dev/null || true
        if [[ "$(head -c4 "$out.tmp" | od -An -c | tr -d ' ')" == '177ELF' ]]; then
            readelf -n "$out.tmp" 2>/dev/null | grep -q 'Xen' \
                || log "warning: $out has no Xen/PVH ELF note; QEMU may refuse to boot it"
            mv "$out.tmp" "$out"; return 0
        fi
    done
    rm -f "$out.tmp"
    die "no xz-compressed ELF payload found in $vmlinuz"
}

build_initramfs() {
    local kroot="$1" out="$2" stage="$CACHE/initramfs.stage" path
    rm -rf "$stage"; mkdir -p "$stage"/{bin,dev,proc,sys,mnt,newroot,lib/modules}
    cp "$BUSYBOX" "$stage/bin/busybox"
    ln -s busybox "$stage/bin/sh"
    mknod -m 600 "$stage/dev/console" c 5 1
    mknod -m 666 "$stage/dev/null" c 1 3
    : > "$stage/lib/modules/order"
    while read -r path; do
        cp "$kroot/modules/$path" "$stage/lib/modules/"
        echo "$path" >> "$stage/lib/modules/order"
    done < "$kroot/modules.order"
    install -m 0755 "$VM_DIR/guest-init.sh" "$stage/init"
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc -R 0:0 2>/dev/null) > "$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$stage"
}

main() {
    mkdir -p "$CACHE/kernel"
    # Concurrent runs share the cache: one setup at a time.
    exec 9> "$CACHE/.setup.lock"
    flock 9
    install_host_packages
    [[ -x "$BUSYBOX" ]] || die "$BUSYBOX missing (busybox-static not installed?)"
    [[ -r /usr/share/qemu/qboot.rom ]] || die "/usr/share/qemu/qboot.rom missing (qemu-system-x86 incomplete?)"

    local pkg deb version kroot
    pkg="$(resolve_kernel_package)"
    version="${pkg#linux-image-}"
    kroot="$CACHE/kernel/$version"
    if [[ ! -s "$kroot/modules.order" || ! -s "$CACHE/kernel/$version.vmlinux" ]]; then
        deb="$(download_kernel_deb "$pkg")"
        log "unpacking $(basename "$deb")"
        unpack_kernel "$deb" "$kroot"
        [[ -s "$kroot/modules.order" ]] || die "unpacking $deb produced no modules.order"
        extract_vmlinux "$kroot/boot/vmlinuz-$version" "$CACHE/kernel/$version.vmlinux"
        rm -f "$deb"   # 70 MB; what we need is unpacked
    fi
    echo "$pkg" > "$CACHE/kernel/package"
    ln -sfn "kernel/$version.vmlinux" "$CACHE/vmlinux"

    # The initramfs is current when its inputs (init script, busybox, modules) are unchanged.
    local key
    key="$( { sha256sum "$VM_DIR/guest-init.sh" "$BUSYBOX" "$kroot/modules.order"; echo "$version"; } | sha256sum | cut -d' ' -f1)"
    if [[ ! -s "$CACHE/initramfs.cpio" || "$(cat "$CACHE/initramfs.key" 2>/dev/null)" != "$key" ]]; then
        log "building initramfs for $version"
        build_initramfs "$kroot" "$CACHE/initramfs.cpio"
        echo "$key" > "$CACHE/initramfs.key"
    fi
    echo "$CACHE"
}

main "$@"
