package io.rund.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Turns the device named by an io limit into the whole disk io.max wants. A block device node
 * gives its own numbers, any other file or directory the disk its file system lives on, and a
 * partition its parent disk; a file system on no block device (tmpfs, overlay, 9p) is refused.
 */
public final class BlockDevices {
    /** sysfs' index of block devices by "MAJ:MIN". */
    static final Path SYS_DEV_BLOCK = Path.of("/sys/dev/block");
    private static final int FILE_TYPE_MASK = 0170000;
    private static final int BLOCK_DEVICE = 0060000;
    private static final int CHARACTER_DEVICE = 0020000;
    private static final int DIRECTORY = 0040000;
    private static final int REGULAR_FILE = 0100000;
    /** The major number the kernel gives file systems that have no block device. */
    private static final int ANONYMOUS_MAJOR = 0;

    private BlockDevices() {
    }

    /**
     * The whole disk to limit.
     *
     * @param device           a path (relative ones are taken from the working directory), or
     *                         "MAJ:MIN"; empty means the disk backing the working directory
     * @param workingDirectory the job's working directory
     */
    public static BlockDevice resolve(Optional<String> device, Path workingDirectory) throws InvalidLimitException {
        if (device.isEmpty()) {
            return wholeDisk(backingDevice(workingDirectory), workingDirectory.toString());
        }
        String named = device.get().strip();
        Optional<BlockDevice> numbers = BlockDevice.parse(named);
        if (numbers.isPresent()) {
            return wholeDisk(numbers.get(), named);
        }
        Path path = workingDirectory.resolve(named);
        int mode = intAttribute(path, "unix:mode");
        return switch (mode & FILE_TYPE_MASK) {
            case BLOCK_DEVICE -> wholeDisk(BlockDevice.fromDevT(longAttribute(path, "unix:rdev")), named);
            case REGULAR_FILE, DIRECTORY -> wholeDisk(backingDevice(path), named);
            case CHARACTER_DEVICE -> throw new InvalidLimitException("io", named + " is a character device, not a block device");
            default -> throw new InvalidLimitException("io", named + " is neither a block device nor a file on one");
        };
    }

    private static BlockDevice backingDevice(Path path) throws InvalidLimitException {
        BlockDevice device = BlockDevice.fromDevT(longAttribute(path, "unix:dev"));
        if (device.major() == ANONYMOUS_MAJOR) {
            throw new InvalidLimitException("io", path + " is not on a block device (filesystem device "
                    + device + "); name the device");
        }
        return device;
    }

    /** The disk itself, or the disk holding it if it is a partition. */
    private static BlockDevice wholeDisk(BlockDevice device, String named) throws InvalidLimitException {
        Path entry = SYS_DEV_BLOCK.resolve(device.toString());
        if (!Files.exists(entry)) {
            throw new InvalidLimitException("io", "no block device " + device + " (named by " + named
                    + "): " + entry + " does not exist");
        }
        if (!Files.exists(entry.resolve("partition"))) {
            return device;
        }
        String partition = "partition " + device + " (named by " + named + ")";
        Path diskNumbers;
        String text;
        try {
            diskNumbers = entry.toRealPath().getParent().resolve("dev");
        } catch (IOException e) {
            throw new InvalidLimitException("io", partition + ": cannot resolve " + entry + ": " + e.getMessage());
        }
        try {
            text = Files.readString(diskNumbers).strip();
        } catch (IOException e) {
            throw new InvalidLimitException("io", partition + ": cannot read " + diskNumbers + ": " + e.getMessage());
        }
        return BlockDevice.parse(text).orElseThrow(() -> new InvalidLimitException("io",
                partition + ": unexpected \"" + text + "\" in " + diskNumbers));
    }

    private static long longAttribute(Path path, String attribute) throws InvalidLimitException {
        return ((Number) attribute(path, attribute)).longValue();
    }

    private static int intAttribute(Path path, String attribute) throws InvalidLimitException {
        return ((Number) attribute(path, attribute)).intValue();
    }

    private static Object attribute(Path path, String attribute) throws InvalidLimitException {
        try {
            return Files.getAttribute(path, attribute);
        } catch (NoSuchFileException e) {
            throw new InvalidLimitException("io", path + " does not exist");
        } catch (IOException e) {
            throw new InvalidLimitException("io", "cannot stat " + path + ": " + e.getMessage());
        }
    }
}
