package io.rund.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Removes the System V IPC objects (shared memory segments, semaphore sets, message queues) a user id owns or
 * created, as systemd's RemoveIPC does for a dynamic user: they outlive every process, and would otherwise be
 * the next holder of that uid's. Read from /proc/sysvipc (the daemon's IPC namespace, which jobs share).
 */
public final class SysvIpc {

    private static final Path PROC = Path.of("/proc/sysvipc");
    private static final int IPC_RMID = 0;
    private static final int EINVAL = 22;
    private static final int EIDRM = 43;
    private static final List<Kind> KINDS = List.of(
            new Kind("shm", "shmid", 31, false), new Kind("sem", "semid", 66, true), new Kind("msg", "msqid", 71, false));

    /** One kind of object: its /proc file, its id column, and the x86_64 number of its *ctl syscall. */
    private record Kind(String file, String idColumn, long ctlSyscall, boolean semaphores) {}

    private SysvIpc() {}

    /** Removes every object whose owner or creator (uid or gid) is {@code id}; returns how many. */
    public static int removeOwnedBy(int id) throws IOException {
        int removed = 0;
        for (Kind kind : KINDS) {
            List<String> lines;
            try {
                lines = Files.readAllLines(PROC.resolve(kind.file()));
            } catch (NoSuchFileException noSysvIpc) {
                continue; // a kernel without CONFIG_SYSVIPC
            }
            if (lines.isEmpty()) {
                continue;
            }
            List<String> header = List.of(lines.getFirst().trim().split("\\s+"));
            int idColumn = header.indexOf(kind.idColumn());
            List<Integer> owners = List.of(header.indexOf("uid"), header.indexOf("gid"), header.indexOf("cuid"),
                    header.indexOf("cgid"));
            for (String line : lines.subList(1, lines.size())) {
                String[] fields = line.trim().split("\\s+");
                if (owners.stream().anyMatch(column -> column >= 0 && column < fields.length
                        && fields[column].equals(Integer.toString(id)))) {
                    if (remove(kind, Integer.parseInt(fields[idColumn]))) {
                        removed++;
                    }
                }
            }
        }
        return removed;
    }

    /** IPC_RMID; an object already gone is not an error. */
    private static boolean remove(Kind kind, int objectId) throws LinuxException {
        // semctl(id, semnum, cmd, arg); shmctl and msgctl(id, cmd, buf)
        long second = kind.semaphores() ? 0 : IPC_RMID;
        long third = kind.semaphores() ? IPC_RMID : 0;
        try {
            long result = Libc.callTolerating(EINVAL, kind.file() + "ctl(IPC_RMID)", objectId, state ->
                    (long) Libc.SYSCALL_3.invokeExact(state, kind.ctlSyscall(), (long) objectId, second, third));
            return result == 0;
        } catch (LinuxException e) {
            if (e.errno() == EIDRM) {
                return false;
            }
            throw e;
        }
    }
}
