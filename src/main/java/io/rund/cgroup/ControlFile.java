package io.rund.cgroup;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One cgroup control file: whole reads, single writes, and the "key value" parsing most of
 * them need. Every failure becomes a {@link CgroupException} naming the file.
 */
record ControlFile(Path path) {

    static ControlFile in(Path cgroup, String name) {
        return new ControlFile(cgroup.resolve(name));
    }

    String read() throws CgroupException {
        return readIfPresent().orElseThrow(() -> new CgroupException(path, "does not exist"));
    }

    Optional<String> readIfPresent() throws CgroupException {
        try {
            return Optional.of(Files.readString(path));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new CgroupException(path, "cannot read: " + reason(e), e);
        }
    }

    /** One write(2) of the value; the file must exist (control files are never created). */
    void write(String value) throws CgroupException {
        try {
            Files.writeString(path, value, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            throw new CgroupException(path, "cannot write \"" + value + "\": the file does not exist", e);
        } catch (IOException e) {
            throw new CgroupException(path, "cannot write \"" + value + "\": " + reason(e), e);
        }
    }

    /** A single number (e.g. memory.peak), or empty if the file is absent. */
    OptionalLong readLongIfPresent() throws CgroupException {
        Optional<String> text = readIfPresent();
        return text.isEmpty() ? OptionalLong.empty() : OptionalLong.of(parseLong(text.get().strip()));
    }

    /** A flat-keyed file ("key value" per line: cgroup.events, cpu.stat), or empty if absent. */
    Optional<Map<String, String>> readKeyedIfPresent() throws CgroupException {
        Optional<String> text = readIfPresent();
        return text.isEmpty() ? Optional.empty() : Optional.of(keyed(text.get()));
    }

    Map<String, String> readKeyed() throws CgroupException {
        return keyed(read());
    }

    /** The value of one key in a flat-keyed file, which must be there. */
    String readKey(String key) throws CgroupException {
        String value = readKeyed().get(key);
        if (value == null) {
            throw new CgroupException(path, "has no \"" + key + "\" line");
        }
        return value;
    }

    long parseLong(String text) throws CgroupException {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new CgroupException(path, "expected a number, found \"" + text + "\"", e);
        }
    }

    private Map<String, String> keyed(String text) throws CgroupException {
        Map<String, String> values = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] keyAndValue = line.strip().split("\\s+", 2);
            if (keyAndValue.length != 2) {
                throw new CgroupException(path, "malformed line \"" + line + "\"");
            }
            values.put(keyAndValue[0], keyAndValue[1]);
        }
        return values;
    }

    private static String reason(IOException e) {
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
