package io.rund.linux;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Instant;
import java.util.Optional;

/**
 * Process file descriptors: a handle on one process that, unlike a pid, is never reused. Signals
 * sent through it reach that process or nobody; waitid(P_PIDFD) reaps exactly that child.
 * Close a pidfd only after the child is reaped (see {@link ExitWatcher}, which does both).
 */
public final class Pidfd {
    private static final int NO_FLAGS = 0;
    private static final int P_PIDFD = 3;
    private static final int WNOHANG = 1;
    private static final int WEXITED = 4;
    /** siginfo_t on x86_64: 128 bytes; si_code at 8, si_pid at 16, si_status at 24. */
    private static final long SIGINFO_SIZE = 128;
    private static final long SI_CODE_OFFSET = 8;
    private static final long SI_PID_OFFSET = 16;
    private static final long SI_STATUS_OFFSET = 24;
    private static final int CLD_EXITED = 1;
    private static final int CLD_KILLED = 2;
    private static final int CLD_DUMPED = 3;

    private Pidfd() {}

    /** pidfd_open(pid): the returned fd is close-on-exec. */
    public static int open(int pid) throws LinuxException {
        return (int) Libc.call("pidfd_open", pid, state -> (int) Libc.PIDFD_OPEN.invokeExact(state, pid, NO_FLAGS));
    }

    /**
     * Sends {@code signal} to the process. Returns false if it was already reaped (ESRCH); true if
     * sent, which includes a process that exited but is not reaped yet (the signal is then dropped).
     */
    public static boolean sendSignal(int pidfd, int signal) throws LinuxException {
        return Libc.callTolerating(Libc.ESRCH, "pidfd_send_signal", "pidfd " + pidfd + ", " + Signals.name(signal),
                state -> (int) Libc.PIDFD_SEND_SIGNAL.invokeExact(state, pidfd, signal, MemorySegment.NULL, NO_FLAGS))
                == 0;
    }

    /** Blocks until the child exits, reaps it and returns how it ended. Blocks a carrier thread if virtual. */
    public static ProcessExit waitExit(int pidfd) throws LinuxException {
        return waitid(pidfd, WEXITED).orElseThrow(
                () -> new AssertionError("waitid(WEXITED) without WNOHANG returned no child for pidfd " + pidfd));
    }

    /** Reaps the child if it has exited; empty if it is still running. Never blocks. */
    public static Optional<ProcessExit> pollExit(int pidfd) throws LinuxException {
        return waitid(pidfd, WEXITED | WNOHANG);
    }

    private static Optional<ProcessExit> waitid(int pidfd, int options) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            // Allocated zeroed: si_pid stays 0 if WNOHANG finds nothing to reap.
            MemorySegment info = arena.allocate(SIGINFO_SIZE, Long.BYTES);
            Libc.call("waitid(P_PIDFD)", "pidfd " + pidfd,
                    state -> (int) Libc.WAITID.invokeExact(state, P_PIDFD, pidfd, info, options));
            int pid = info.get(JAVA_INT, SI_PID_OFFSET);
            if (pid == 0) {
                return Optional.empty();
            }
            Instant at = Instant.now();
            int code = info.get(JAVA_INT, SI_CODE_OFFSET);
            int status = info.get(JAVA_INT, SI_STATUS_OFFSET);
            return Optional.of(switch (code) {
                case CLD_EXITED -> ProcessExit.ofExitCode(pid, status, at);
                case CLD_KILLED -> ProcessExit.ofSignal(pid, status, false, at);
                case CLD_DUMPED -> ProcessExit.ofSignal(pid, status, true, at);
                default -> throw new IllegalStateException(
                        "waitid(WEXITED) on pidfd " + pidfd + " returned si_code " + code + " for pid " + pid);
            });
        }
    }
}
