package io.rund.linux;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** Test helper: builds spawn requests and runs a process to completion, collecting its output. */
final class TestJobs {
    static final List<String> ENVIRONMENT = List.of("PATH=/usr/bin:/bin", "LC_ALL=C");
    private static final int READ_BUFFER = 64 * 1024;

    record Result(byte[] stdoutBytes, String stderr, ProcessExit exit) {
        String stdout() {
            return new String(stdoutBytes, StandardCharsets.UTF_8);
        }
    }

    private TestJobs() {}

    /** A request for argv (argv[0] resolved in PATH), run as the current user in "/". */
    static SpawnRequest request(String... argv) throws SpawnException {
        return asUser(SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID, null, argv);
    }

    static SpawnRequest asUser(int uid, int gid, int[] groups, String... argv) throws SpawnException {
        Path executable = Executables.resolve(argv[0], "/usr/bin:/bin", Path.of("/"));
        return new SpawnRequest(executable.toString(), List.of(argv), ENVIRONMENT, Path.of("/"),
                SpawnRequest.NO_CGROUP, uid, gid, groups, false);
    }

    static Result run(SpawnRequest request) throws Exception {
        return collect(Spawner.spawn(request));
    }

    /** Reads both pipes to EOF, then reaps; on any failure kills (by pidfd) and reaps the process. */
    static Result collect(SpawnedProcess process) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ProcessExit exit = null;
        try (Epoll epoll = new Epoll(2); Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(READ_BUFFER);
            epoll.add(process.stdoutFd(), Epoll.EPOLLIN, process.stdoutFd());
            epoll.add(process.stderrFd(), Epoll.EPOLLIN, process.stderrFd());
            int open = 2;
            while (open > 0) {
                int ready = epoll.await(Epoll.WAIT_FOREVER);
                for (int i = 0; i < ready; i++) {
                    int fd = (int) epoll.data(i);
                    int count = Fds.read(fd, buffer);
                    if (count == 0) {
                        epoll.remove(fd);
                        open--;
                    } else if (count > 0) {
                        (fd == process.stdoutFd() ? out : err).write(buffer.asSlice(0, count).toArray(ValueLayout.JAVA_BYTE));
                    }
                }
            }
            exit = Pidfd.waitExit(process.pidfd());
        } finally {
            if (exit == null) {
                Pidfd.sendSignal(process.pidfd(), Signals.SIGKILL);
                Pidfd.waitExit(process.pidfd());
            }
            Fds.close(process.stdoutFd());
            Fds.close(process.stderrFd());
            Fds.close(process.pidfd());
        }
        return new Result(out.toByteArray(), err.toString(StandardCharsets.UTF_8), exit);
    }
}
