package io.rund.cgroup;

import io.rund.linux.FsCredentials;
import io.rund.linux.LinuxException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Turns the device named by an io limit into the whole disk io.max wants. A block device node
 * gives its own numbers, any other file or directory the disk its file system lives on, and a
 * partition its parent disk; a file system on no block device (tmpfs, overlay, 9p) is refused. The path a
 * client names is looked at with the job user's file-system identity ({@link FsCredentials}), so a path that
 * user cannot reach fails the same way whether or not it exists.
 */
public final class BlockDevices {
    /** sysfs' index of block devices by "MAJ:MIN". */
    static final Path SYS_DEV_BLOCK = Path.of("/sys/dev/block");
    private static final int FILE_TYPE_MASK = 0170000;
    private static final int BLOCK_DEVICE = 0060000;
    private static final int CHARACTER_DEVICE = 0020000;
    private static final int DIRECTORY = 0040000;
    private static final int REGULAR_FILE = 0100000;
    private static final int ENOENT = 2;
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
        return resolve(device, workingDirectory, FsCredentials.DAEMON);
    }

    /** As {@link #resolve(Optional, Path)}, the named path (or working directory) looked at as {@code user}. */
    public static BlockDevice resolve(Optional<String> device, Path workingDirectory, FsCredentials user)
            throws InvalidLimitException {
        if (device.isEmpty()) {
            return wholeDisk(backingDevice(stat(workingDirectory, user), workingDirectory), workingDirectory.toString());
        }
        String named = device.get().strip();
        Optional<BlockDevice> numbers = BlockDevice.parse(named);
        if (numbers.isPresent()) {
            return wholeDisk(numbers.get(), named);
        }
        Path path = workingDirectory.resolve(named);
        FsCredentials.FileStat stat = stat(path, user);
        return switch (stat.mode() & FILE_TYPE_MASK) {
            case BLOCK_DEVICE -> wholeDisk(BlockDevice.fromDevT(stat.rdev()), named);
            case REGULAR_FILE, DIRECTORY -> wholeDisk(backingDevice(stat, path), named);
            case CHARACTER_DEVICE -> throw new InvalidLimitException("io", named + " is a character device, not a block device");
            default -> throw new InvalidLimitException("io", named + " is neither a block device nor a file on one");
        };
    }

    private static BlockDevice backingDevice(FsCredentials.FileStat stat, Path path) throws InvalidLimitException {
        BlockDevice device = BlockDevice.fromDevT(stat.device());
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

    private static FsCredentials.FileStat stat(Path path, FsCredentials user) throws InvalidLimitException {
        try {
            return user.stat(path);
        } catch (LinuxException e) {
            if (e.errno() == ENOENT) {
                throw new InvalidLimitException("io", path + " does not exist");
            }
            throw new InvalidLimitException("io", e.getMessage());
        }
    }
}
