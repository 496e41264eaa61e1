package io.rund.cgroup;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A block device by its kernel numbers, as io.max and /sys/dev/block name it ("MAJ:MIN").
 */
public record BlockDevice(int major, int minor) {
    private static final Pattern MAJOR_MINOR = Pattern.compile("(\\d{1,9}):(\\d{1,9})");

    public BlockDevice {
        if (major < 0 || minor < 0) {
            throw new IllegalArgumentException("negative device number " + major + ":" + minor);
        }
    }

    /** "MAJ:MIN", or empty if the text is not of that form. */
    public static Optional<BlockDevice> parse(String text) {
        Matcher m = MAJOR_MINOR.matcher(text.strip());
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new BlockDevice(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))));
    }

    /**
     * Decodes a dev_t as stat(2) returns it (glibc's encoding: major in bits 8-19 and 32-43,
     * minor in bits 0-7 and 20-43), e.g. from {@code Files.getAttribute(p, "unix:dev")}.
     */
    public static BlockDevice fromDevT(long devT) {
        long major = ((devT & 0x0000_0000_000F_FF00L) >>> 8) | ((devT & 0xFFFF_F000_0000_0000L) >>> 32);
        long minor = (devT & 0x0000_0000_0000_00FFL) | ((devT & 0x0000_0FFF_FFF0_0000L) >>> 12);
        return new BlockDevice((int) major, (int) minor);
    }

    @Override
    public String toString() {
        return major + ":" + minor;
    }
}
