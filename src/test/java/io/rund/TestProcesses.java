package io.rund;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Facts about processes, read from /proc, for tests. */
public final class TestProcesses {

    private TestProcesses() {}

    /** A pid is alive if /proc has it and it is not a zombie waiting for its reaper. */
    public static boolean isAlive(int pid) throws IOException {
        try {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (NoSuchFileException e) {
            return false;
        }
    }
}
