package io.rund.cgroup;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Limit validation, block device resolution and the exact control-file writes planned. */
final class LimitsTest {
    private static final long MIB = 1L << 20;

    @TempDir
    Path workingDirectory;

    @Test
    void noLimitsAreValidEmptyAndNeedNoController() throws Exception {
        Limits.none().validate();
        assertTrue(Limits.none().isEmpty());
        assertEquals(Set.of(), Limits.none().requiredControllers());
        assertEquals(List.of(), LimitWrites.plan(Limits.none(), workingDirectory));
    }

    @Test
    void eachLimitNamesTheControllerItNeeds() {
        Limits all = Limits.none().withCpuMax(50_000).withMemoryMax(64 * MIB).withPidsMax(10)
                .withIo(IoLimit.onWorkingDirectoryDevice().withWbps(MIB));
        assertFalse(all.isEmpty());
        assertEquals(List.of("cpu", "io", "memory", "pids"), List.copyOf(all.requiredControllers()));
        assertEquals(Set.of("memory"), Limits.none().withMemorySwapMax(0).requiredControllers());
    }

    @Test
    void cpuQuotaOutsideTheKernelRangeIsRefusedNamingCpuMax() {
        for (long quota : new long[] {0, -1, Limits.CPU_QUOTA_FLOOR_MICROS - 1,
                Limits.CPU_QUOTA_MAX_MICROS + 1, Long.MAX_VALUE}) {
            InvalidLimitException e = refused(Limits.none().withCpuMax(quota), "cpu-max");
            assertTrue(e.getMessage().contains(Long.toString(quota)), e.getMessage());
        }
        assertDoesNotThrow(() -> Limits.none().withCpuMax(Limits.CPU_QUOTA_FLOOR_MICROS).validate());
        assertDoesNotThrow(() -> Limits.none().withCpuMax(Limits.CPU_QUOTA_MAX_MICROS).validate());
    }

    @Test
    void cpuPeriodOutsideOneMillisecondToOneSecondIsRefusedNamingCpuMaxPeriod() {
        for (long period : new long[] {0, -1, 999, 1_000_001, Long.MAX_VALUE}) {
            refused(Limits.none().withCpuMax(50_000, period), "cpu-max-period");
        }
        assertDoesNotThrow(() -> Limits.none().withCpuMax(50_000, 1_000).validate());
        assertDoesNotThrow(() -> Limits.none().withCpuMax(50_000, 1_000_000).validate());
    }

    @Test
    void cpuPeriodWithoutQuotaIsRefused() {
        Limits periodOnly = new Limits(OptionalLong.empty(), OptionalLong.of(100_000),
                OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), List.of());
        refused(periodOnly, "cpu-max-period");
    }

    @Test
    void memoryBelowTheFloorIsRefusedNamingMemoryMax() {
        InvalidLimitException e = refused(Limits.none().withMemoryMax(1024), "memory-max");
        assertEquals("memory-max: 1024 is below the floor of 1 MiB (1048576 bytes)", e.getMessage());
        refused(Limits.none().withMemoryMax(0), "memory-max");
        refused(Limits.none().withMemoryMax(-1), "memory-max");
        assertDoesNotThrow(() -> Limits.none().withMemoryMax(Limits.MEMORY_FLOOR_BYTES).validate());
        assertDoesNotThrow(() -> Limits.none().withMemoryMax(Long.MAX_VALUE).validate());
    }

    @Test
    void swapMayBeZeroButNotNegative() {
        assertDoesNotThrow(() -> Limits.none().withMemorySwapMax(0).validate());
        refused(Limits.none().withMemorySwapMax(-1), "memory-swap-max");
    }

    @Test
    void pidsOutsideOneToPidMaxAreRefusedNamingPidsMax() {
        refused(Limits.none().withPidsMax(0), "pids-max");
        refused(Limits.none().withPidsMax(-3), "pids-max");
        refused(Limits.none().withPidsMax(Limits.PIDS_MAX_LIMIT + 1), "pids-max");
        assertDoesNotThrow(() -> Limits.none().withPidsMax(1).validate());
    }

    @Test
    void ioRatesBelowTheFloorOrAboveTheKernelMaximumAreRefusedNamingTheRate() {
        IoLimit onDisk = IoLimit.onWorkingDirectoryDevice();
        refused(Limits.none().withIo(onDisk.withRbps(0)), "io-rbps");
        refused(Limits.none().withIo(onDisk.withWbps(-1)), "io-wbps");
        refused(Limits.none().withIo(onDisk.withRiops(1)), "io-riops");
        refused(Limits.none().withIo(onDisk.withWiops(IoLimit.IOPS_MAX + 1)), "io-wiops");
        refused(Limits.none().withIo(onDisk), "io");
        refused(Limits.none().withIo(IoLimit.onDevice(" ").withWbps(MIB)), "io");
        assertDoesNotThrow(() -> Limits.none().withIo(onDisk.withWbps(Long.MAX_VALUE)
                .withWiops(IoLimit.IOPS_MAX).withRiops(IoLimit.RATE_FLOOR)).validate());
    }

    @Test
    void aWholeDiskResolvesByPathAndByNumbers() throws Exception {
        String disk = wholeDiskOrSkip();
        BlockDevice expected = CgroupTestSupport.sysBlockNumbers(disk);
        assertEquals(expected, BlockDevices.resolve(Optional.of("/dev/" + disk), workingDirectory));
        assertEquals(expected, BlockDevices.resolve(Optional.of(expected.toString()), workingDirectory));
    }

    @Test
    void aFileResolvesToTheWholeDiskItsFileSystemIsOn() throws Exception {
        Path file = Path.of("/etc/passwd");
        BlockDevice backing = BlockDevice.fromDevT((Long) Files.getAttribute(file, "unix:dev"));
        if (backing.major() == 0) {
            CgroupTestSupport.skip("/ is not on a block device here (" + backing + ")");
        }
        BlockDevice disk = BlockDevices.resolve(Optional.of(file.toString()), workingDirectory);
        assertIsWholeDiskHolding(disk, backing);
        assertEquals(disk, BlockDevices.resolve(Optional.of("/"), workingDirectory));
    }

    @Test
    void noDeviceMeansTheDiskBehindTheWorkingDirectory() throws Exception {
        BlockDevice backing = BlockDevice.fromDevT((Long) Files.getAttribute(workingDirectory, "unix:dev"));
        if (backing.major() == 0) {
            CgroupTestSupport.skip("the temp directory " + workingDirectory + " is not on a block device");
        }
        assertIsWholeDiskHolding(BlockDevices.resolve(Optional.empty(), workingDirectory), backing);
        Files.writeString(workingDirectory.resolve("data"), "x");
        assertEquals(BlockDevices.resolve(Optional.empty(), workingDirectory),
                BlockDevices.resolve(Optional.of("data"), workingDirectory));
    }

    @Test
    void aPartitionResolvesToItsDisk() throws Exception {
        Optional<Path> partition;
        try (Stream<Path> devices = Files.list(Path.of("/sys/class/block"))) {
            partition = devices.filter(d -> Files.exists(d.resolve("partition"))).sorted().findFirst();
        }
        if (partition.isEmpty()) {
            CgroupTestSupport.skip("this host has no partitioned disk (/sys/class/block/*/partition)");
            return;
        }
        String numbers = Files.readString(partition.get().resolve("dev")).strip();
        BlockDevice disk = BlockDevice.parse(Files.readString(
                partition.get().toRealPath().getParent().resolve("dev"))).orElseThrow();
        assertEquals(disk, BlockDevices.resolve(Optional.of(numbers), workingDirectory));
    }

    @Test
    void aCharacterDeviceIsRefused() {
        InvalidLimitException e = refusedDevice("/dev/null");
        assertTrue(e.getMessage().contains("/dev/null is a character device"), e.getMessage());
    }

    @Test
    void unknownNumbersAreRefused() {
        InvalidLimitException e = refusedDevice("999:999");
        assertTrue(e.getMessage().contains("no block device 999:999"), e.getMessage());
    }

    @Test
    void aMissingPathIsRefused() {
        InvalidLimitException e = refusedDevice("/no/such/device");
        assertTrue(e.getMessage().contains("/no/such/device does not exist"), e.getMessage());
    }

    @Test
    void aFileSystemOnNoBlockDeviceIsRefusedAskingForTheDevice() throws Exception {
        Path shm = Path.of("/dev/shm");
        BlockDevice backing = BlockDevice.fromDevT((Long) Files.getAttribute(shm, "unix:dev"));
        if (backing.major() != 0) {
            CgroupTestSupport.skip("/dev/shm is on a block device here (" + backing + "), not tmpfs");
        }
        InvalidLimitException e = refusedDevice(shm.toString());
        assertEquals("io: /dev/shm is not on a block device (filesystem device " + backing
                + "); name the device", e.getMessage());
    }

    @Test
    void plannedWritesAreExactlyTheLimitsAskedFor() throws Exception {
        String disk = wholeDiskOrSkip();
        BlockDevice numbers = CgroupTestSupport.sysBlockNumbers(disk);
        Limits limits = Limits.none().withCpuMax(20_000, 50_000).withMemoryMax(64 * MIB)
                .withMemorySwapMax(0).withPidsMax(5)
                .withIo(IoLimit.onDevice("/dev/" + disk).withRbps(2_097_152).withWiops(120));
        assertEquals(List.of(
                new LimitWrites.Write("cpu.max", "20000 50000"),
                new LimitWrites.Write("memory.max", "67108864"),
                new LimitWrites.Write("memory.swap.max", "0"),
                new LimitWrites.Write("pids.max", "5"),
                new LimitWrites.Write("io.max", numbers + " rbps=2097152 wiops=120")),
                LimitWrites.plan(limits, workingDirectory));
        assertEquals(List.of(new LimitWrites.Write("cpu.max", "50000 100000")),
                LimitWrites.plan(Limits.none().withCpuMax(50_000), workingDirectory));
    }

    @Test
    void twoLimitsForOneDeviceAreRefused() throws Exception {
        String disk = wholeDiskOrSkip();
        BlockDevice numbers = CgroupTestSupport.sysBlockNumbers(disk);
        Limits twice = Limits.none()
                .withIo(IoLimit.onDevice("/dev/" + disk).withRbps(MIB))
                .withIo(IoLimit.onDevice(numbers.toString()).withWbps(MIB));
        InvalidLimitException e = assertThrows(InvalidLimitException.class,
                () -> LimitWrites.plan(twice, workingDirectory));
        assertEquals("io", e.field());
        assertTrue(e.getMessage().contains("two limits for block device " + numbers), e.getMessage());
    }

    @Test
    void devTNumbersDecodeLikeGlibc() {
        assertEquals(new BlockDevice(254, 0), BlockDevice.fromDevT(0xfe00L));
        assertEquals(new BlockDevice(259, 1), BlockDevice.fromDevT(0x10301L));
        assertEquals(new BlockDevice(0x12345, 0x6789a), BlockDevice.fromDevT(0x0001_2000_6783_459aL));
    }

    private static InvalidLimitException refused(Limits limits, String field) {
        InvalidLimitException e = assertThrows(InvalidLimitException.class, limits::validate);
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
        return e;
    }

    private InvalidLimitException refusedDevice(String device) {
        InvalidLimitException e = assertThrows(InvalidLimitException.class,
                () -> BlockDevices.resolve(Optional.of(device), workingDirectory));
        assertEquals("io", e.field());
        return e;
    }

    private static String wholeDiskOrSkip() throws IOException {
        Optional<String> disk = CgroupTestSupport.someWholeDisk();
        if (disk.isEmpty()) {
            CgroupTestSupport.skip("no disk in /sys/block with a node in /dev");
        }
        return disk.orElseThrow();
    }

    /** The resolved device is a whole disk, and the backing device is it or one of its partitions. */
    private static void assertIsWholeDiskHolding(BlockDevice disk, BlockDevice backing) throws IOException {
        Path diskEntry = BlockDevices.SYS_DEV_BLOCK.resolve(disk.toString());
        assertFalse(Files.exists(diskEntry.resolve("partition")), disk + " is a partition");
        Path backingEntry = BlockDevices.SYS_DEV_BLOCK.resolve(backing.toString()).toRealPath();
        assertTrue(backingEntry.startsWith(diskEntry.toRealPath()), backing + " is not on " + disk);
    }
}
