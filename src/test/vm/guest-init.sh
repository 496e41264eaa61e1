#!/bin/sh
# /init of the rund test VM (packed into the initramfs by setup.sh; runs as PID 1 under busybox).
# Builds the guest's root: the host's / (9p, read-only) under a tmpfs overlay, with the guest's own
# proc/sys/dev and a pure cgroup v2 hierarchy moved in; mounts the control share, the results share
# and the ext4 test disk; runs the host's command (ctl share: cmd.sh) chrooted there, its output on
# ttyS1 (run.sh's stdout); writes its exit status to the control share; then resets the machine
# (QEMU runs with -no-reboot, so a reset ends it).
/bin/busybox --install -s /bin
export PATH=/bin

readonly NEWROOT=/newroot
readonly NINEP_OPTS=trans=virtio,version=9p2000.L,msize=512000
readonly DISK_SERIAL=rund-vmdisk
readonly DISK_MOUNT=/mnt/vmdisk
readonly RESULTS_MOUNT=/mnt/results
readonly CTL_MOUNT=/run/rund-vm
readonly CONTROLLERS="+cpu +memory +io +pids"

say() { echo "rund-vm-init: $*"; }
fail() {
    say "FAILED: $*"
    [ -n "$ctl_dir" ] && echo "$*" > "$ctl_dir/init-failure"
    sync
    reboot -f
}

ctl_dir=   # where the control share is mounted, once it is
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say "uptime $(cut -d' ' -f1 /proc/uptime) s: loading modules"
while read -r module; do
    insmod "/lib/modules/$module" || fail "insmod $module"
done < /lib/modules/order

mkdir -p /mnt/ctl
mount -t 9p -o "$NINEP_OPTS" ctl /mnt/ctl || fail "mount 9p ctl"
ctl_dir=/mnt/ctl

# Root: host / read-only (9p) as the lower layer, tmpfs as the upper layer.
mkdir -p /mnt/lower /mnt/rw
mount -t 9p -o "$NINEP_OPTS,ro,cache=loose" hostroot /mnt/lower || fail "mount 9p hostroot"
mount -t tmpfs -o mode=0755 rw /mnt/rw || fail "mount tmpfs for the overlay"
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay "$NEWROOT" \
    || fail "mount overlay"

# The guest's own kernel filesystems, mounted here and moved (a later `mount -t proc` inside the
# new root would land on the host's /proc seen through 9p).
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
echo "$CONTROLLERS" > /sys/fs/cgroup/cgroup.subtree_control || fail "enable $CONTROLLERS at the cgroup root"
# The test disk, mounted while /dev is still here so mountinfo names it /dev/vdX.
mkdir -p "$NEWROOT$DISK_MOUNT"
disk=
for block in /sys/block/vd*; do
    [ "$(cat "$block/serial" 2>/dev/null)" = "$DISK_SERIAL" ] && disk="/dev/${block##*/}"
done
[ -n "$disk" ] || fail "no virtio disk with serial $DISK_SERIAL"
mount -t ext4 "$disk" "$NEWROOT$DISK_MOUNT" || fail "mount $disk on $DISK_MOUNT"

for fs in proc sys dev; do
    mount --move "/$fs" "$NEWROOT/$fs" || fail "mount --move /$fs"
done
mkdir -p "$NEWROOT/dev/pts" "$NEWROOT/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$NEWROOT/dev/pts"
mount -t tmpfs -o mode=1777 shm "$NEWROOT/dev/shm"
# /tmp stays the overlaid host /tmp (writes land in the guest's tmpfs upper layer): a checkout under /tmp,
# as CI's clean clone may be, must stay visible to the guest.
mount -t tmpfs -o mode=0755 run "$NEWROOT/run" || fail "mount /run"

mkdir -p "$NEWROOT$CTL_MOUNT" "$NEWROOT$RESULTS_MOUNT"
mount --move /mnt/ctl "$NEWROOT$CTL_MOUNT" || fail "mount --move /mnt/ctl"
ctl_dir="$NEWROOT$CTL_MOUNT"
mount -t 9p -o "$NINEP_OPTS" results "$NEWROOT$RESULTS_MOUNT" || fail "mount 9p results"

hostname rund-vm
# Loopback only (the guest has no network device): tests serve and call gRPC on 127.0.0.1.
ip link set dev lo up || fail "ip link set dev lo up"
out="$NEWROOT/dev/ttyS1"
stty -F "$out" raw -echo 2>/dev/null || fail "stty raw on ttyS1"
say "uptime $(cut -d' ' -f1 "$NEWROOT/proc/uptime") s: running the command ($disk on $DISK_MOUNT)"
: > "$ctl_dir/started"
env -i \
    RUND_VM=1 RUND_VM_DISK="$disk" RUND_VM_DISK_MOUNT="$DISK_MOUNT" RUND_VM_RESULTS="$RESULTS_MOUNT" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM=dumb \
    chroot "$NEWROOT" /bin/sh "$CTL_MOUNT/cmd.sh" < /dev/null > "$out" 2>&1
status=$?
say "uptime $(cut -d' ' -f1 "$NEWROOT/proc/uptime") s: command exited with status $status"
echo "$status" > "$ctl_dir/status"
sync
reboot -f
