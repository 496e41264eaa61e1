package io.rund.linux;

import java.time.Instant;
import java.util.Objects;

/**
 * How a process ended, published once by whoever reaped it: either an exit code or the signal
 * that killed it (with whether it dumped core), and when the exit was observed.
 */
public record ProcessExit(int pid, Integer exitCode, Integer signal, boolean coreDumped, Instant at) {
    /** Shell convention for "killed by signal N": 128 + N. */
    public static final int SIGNAL_EXIT_BASE = 128;

    public ProcessExit {
        Objects.requireNonNull(at, "at");
        if ((exitCode == null) == (signal == null)) {
            throw new IllegalArgumentException("exactly one of exitCode (" + exitCode + ") and signal ("
                    + signal + ") must be set for pid " + pid);
        }
        if (coreDumped && signal == null) {
            throw new IllegalArgumentException("pid " + pid + " exited normally, it cannot have dumped core");
        }
    }

    public static ProcessExit ofExitCode(int pid, int exitCode, Instant at) {
        return new ProcessExit(pid, exitCode, null, false, at);
    }

    public static ProcessExit ofSignal(int pid, int signal, boolean coreDumped, Instant at) {
        return new ProcessExit(pid, null, signal, coreDumped, at);
    }

    /** The exit code, or 128 + signal for a process killed by a signal (as a shell reports it). */
    public int shellStyleCode() {
        return exitCode != null ? exitCode : SIGNAL_EXIT_BASE + signal;
    }

    /** E.g. "pid 42 exited with code 3" or "pid 42 killed by SIGSEGV (signal 11), core dumped". */
    public String describe() {
        if (exitCode != null) {
            return "pid " + pid + " exited with code " + exitCode;
        }
        return "pid " + pid + " killed by " + Signals.name(signal) + " (signal " + signal + ")"
                + (coreDumped ? ", core dumped" : "");
    }
}
