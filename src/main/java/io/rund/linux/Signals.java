package io.rund.linux;

/**
 * Signal numbers (x86_64 Linux), their names, and kill(2) by bare pid. Prefer
 * {@link Pidfd#sendSignal} for a job's main process; bare pids are for the members of a frozen
 * cgroup, which cannot exit (so cannot be reused) while they are listed and signalled.
 */
public final class Signals {
    public static final int SIGHUP = 1;
    public static final int SIGINT = 2;
    public static final int SIGQUIT = 3;
    public static final int SIGABRT = 6;
    public static final int SIGKILL = 9;
    public static final int SIGUSR1 = 10;
    public static final int SIGSEGV = 11;
    public static final int SIGPIPE = 13;
    public static final int SIGTERM = 15;
    public static final int SIGCHLD = 17;
    public static final int SIGCONT = 18;
    public static final int SIGSTOP = 19;

    private static final String[] NAMES = {null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP",
        "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
        "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU",
        "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"};
    private static final int SIGRTMIN = 34;
    private static final int SIGRTMAX = 64;

    private Signals() {}

    /** "SIGKILL" for 9, "SIGRTMIN+2" for 36, "signal 99" for numbers Linux does not define. */
    public static String name(int signal) {
        if (signal > 0 && signal < NAMES.length) {
            return NAMES[signal];
        }
        if (signal >= SIGRTMIN && signal <= SIGRTMAX) {
            return "SIGRTMIN+" + (signal - SIGRTMIN);
        }
        return "signal " + signal;
    }

    /** kill(pid, signal): true if sent, false if no such process (ESRCH); other failures throw. */
    public static boolean kill(int pid, int signal) throws LinuxException {
        return Libc.callTolerating(Libc.ESRCH, "kill", pid + ", " + name(signal),
                state -> (int) Libc.KILL.invokeExact(state, pid, signal)) == 0;
    }

    /**
     * The signal {@code text} names: a number (1-64), or a name with or without "SIG", in any case ("HUP", "SIGhup",
     * "RTMIN+2", "SIGRTMAX-1"); empty if it names none Linux has.
     */
    public static java.util.OptionalInt parse(String text) {
        String name = text.strip().toUpperCase(java.util.Locale.ROOT);
        if (!name.isEmpty() && name.chars().allMatch(Character::isDigit)) {
            if (name.length() > 2) {
                return java.util.OptionalInt.empty();
            }
            int number = Integer.parseInt(name);
            boolean defined = (number > 0 && number < NAMES.length) || (number >= SIGRTMIN && number <= SIGRTMAX);
            return defined ? java.util.OptionalInt.of(number) : java.util.OptionalInt.empty();
        }
        if (!name.startsWith("SIG")) {
            name = "SIG" + name;
        }
        for (int signal = 1; signal < NAMES.length; signal++) {
            if (NAMES[signal].equals(name)) {
                return java.util.OptionalInt.of(signal);
            }
        }
        java.util.regex.Matcher realTime = java.util.regex.Pattern.compile("SIGRT(MIN|MAX)(?:([+-])(\\d{1,2}))?").matcher(name);
        if (realTime.matches()) {
            int offset = realTime.group(3) == null ? 0 : Integer.parseInt(realTime.group(3));
            boolean fromMin = realTime.group(1).equals("MIN");
            if (realTime.group(2) != null && realTime.group(2).equals(fromMin ? "-" : "+")) {
                return java.util.OptionalInt.empty();
            }
            int signal = fromMin ? SIGRTMIN + offset : SIGRTMAX - offset;
            return signal >= SIGRTMIN && signal <= SIGRTMAX ? java.util.OptionalInt.of(signal) : java.util.OptionalInt.empty();
        }
        return java.util.OptionalInt.empty();
    }
}
