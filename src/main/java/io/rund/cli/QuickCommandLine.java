package io.rund.cli;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * Runs the everyday command lines without picocli, whose start-up (reflection over annotations, a dynamic proxy per
 * annotation type) costs a one-shot command more than its network round trip: {@code status ID}, {@code stop ID},
 * {@code list [--json]} and {@code start [--] CMD [ARGS...]}, each with the connection options. It fills the same
 * command objects picocli would and calls them the same way. Anything else (help, version, limits, job options,
 * a malformed line, an unusual default) it declines, and picocli handles the line as always, so errors and help
 * read exactly as they did. CommandLineParsingTest holds the two parsers to the same results.
 */
final class QuickCommandLine {

    private static final String ADDR = "--addr";
    private static final String CA = "--ca";
    private static final String CERT = "--cert";
    private static final String KEY = "--key";
    private static final String JSON = "--json";
    private static final String END_OF_OPTIONS = "--";
    private static final Set<String> CONNECTION_OPTIONS = Set.of(ADDR, CA, CERT, KEY);
    /** picocli reads "@file" as a file of arguments. */
    private static final String ARGUMENT_FILE = "@";
    private static final String PICOCLI_PROPERTY = "picocli.";

    private QuickCommandLine() {}

    /** The command {@code args} asks for, ready to call, or null if picocli should handle the line. */
    static Callable<Integer> parse(RundCli cli, String... args) {
        if (args.length == 0) {
            return null;
        }
        return switch (args[0]) {
            case "status" -> status(cli, args);
            case "stop" -> stop(cli, args);
            case "list" -> list(cli, args);
            case "start" -> start(cli, args);
            default -> null;
        };
    }

    private static Callable<Integer> status(RundCli cli, String[] args) {
        Parsed parsed = Parsed.of(args, Set.of(), false);
        if (parsed == null || parsed.positionals.size() != 1) {
            return null;
        }
        StatusCommand command = new StatusCommand();
        command.cli = cli;
        command.jobId = parsed.positionals.getFirst();
        command.connection = parsed.connection;
        return command;
    }

    private static Callable<Integer> stop(RundCli cli, String[] args) {
        Parsed parsed = Parsed.of(args, Set.of(), false);
        if (parsed == null || parsed.positionals.size() != 1) {
            return null;
        }
        StopCommand command = new StopCommand();
        command.cli = cli;
        command.jobId = parsed.positionals.getFirst();
        command.connection = parsed.connection;
        return command;
    }

    private static Callable<Integer> list(RundCli cli, String[] args) {
        Parsed parsed = Parsed.of(args, Set.of(JSON), false);
        if (parsed == null || !parsed.positionals.isEmpty()) {
            return null;
        }
        ListCommand command = new ListCommand();
        command.cli = cli;
        command.json = parsed.flags.contains(JSON);
        command.connection = parsed.connection;
        return command;
    }

    private static Callable<Integer> start(RundCli cli, String[] args) {
        Parsed parsed = Parsed.of(args, Set.of(), true);
        if (parsed == null || parsed.positionals.isEmpty()) {
            return null;
        }
        StartCommand command = new StartCommand();
        command.cli = cli;
        command.limits = new LimitOptions();
        command.job = new JobOptions();
        command.job.commandLine = new ArrayList<>(parsed.positionals);
        command.connection = parsed.connection;
        return command;
    }

    /** A command line of connection options, the given boolean flags and positionals, or null if it is anything else. */
    private static final class Parsed {
        final ConnectionOptions connection = new ConnectionOptions();
        final List<String> positionals = new ArrayList<>();
        final Set<String> flags = new HashSet<>();

        /** {@code stopAtPositional}: from the first positional on, every argument is positional (start, run). */
        static Parsed of(String[] args, Set<String> flags, boolean stopAtPositional) {
            if (!plain(args)) {
                return null;
            }
            Parsed parsed = new Parsed();
            Set<String> seen = new HashSet<>();
            boolean optionsEnded = false;
            for (int i = 1; i < args.length; i++) {
                String arg = args[i];
                if (optionsEnded) {
                    parsed.positionals.add(arg);
                    continue;
                }
                if (arg.equals(END_OF_OPTIONS)) {
                    optionsEnded = true;
                    continue;
                }
                if (!arg.startsWith("-")) {
                    parsed.positionals.add(arg);
                    optionsEnded = stopAtPositional;
                    continue;
                }
                int equals = arg.indexOf('=');
                String name = equals < 0 ? arg : arg.substring(0, equals);
                if (!seen.add(name)) {
                    return null; // picocli says it may be given once
                }
                if (flags.contains(name) && equals < 0) {
                    parsed.flags.add(name);
                    continue;
                }
                if (!CONNECTION_OPTIONS.contains(name)) {
                    return null;
                }
                String value;
                if (equals >= 0) {
                    value = arg.substring(equals + 1);
                } else if (i + 1 < args.length && !args[i + 1].startsWith("-")) {
                    value = args[++i];
                } else {
                    return null;
                }
                if (!parsed.set(name, value)) {
                    return null;
                }
            }
            return parsed.defaults() ? parsed : null;
        }

        /** What picocli reads differently from plain words: @argument-files, and its own system properties. */
        static boolean plain(String[] args) {
            for (String arg : args) {
                if (arg.startsWith(ARGUMENT_FILE)) {
                    return false;
                }
            }
            return System.getProperties().stringPropertyNames().stream().noneMatch(name -> name.startsWith(PICOCLI_PROPERTY));
        }

        /** False if picocli would refuse the value (a path with a NUL byte). */
        private boolean set(String name, String value) {
            if (name.equals(ADDR)) {
                connection.address = value;
                return true;
            }
            Path path = path(value);
            switch (name) {
                case CA -> connection.ca = path;
                case CERT -> connection.cert = path;
                case KEY -> connection.key = path;
                default -> throw new IllegalArgumentException(name);
            }
            return path != null;
        }

        /** The defaults picocli takes from ${env:NAME:-default}; declines values picocli would interpolate further. */
        private boolean defaults() {
            try {
                if (connection.address == null) {
                    connection.address = fromEnvironment(ConnectionOptions.ADDR_ENV, ConnectionOptions.DEFAULT_ADDR);
                }
                if (connection.ca == null) {
                    connection.ca = Path.of(fromEnvironment(ConnectionOptions.CA_ENV, ConnectionOptions.DEFAULT_CA));
                }
                if (connection.cert == null) {
                    connection.cert = Path.of(fromEnvironment(ConnectionOptions.CERT_ENV, ConnectionOptions.DEFAULT_CERT));
                }
                if (connection.key == null) {
                    connection.key = Path.of(fromEnvironment(ConnectionOptions.KEY_ENV, ConnectionOptions.DEFAULT_KEY));
                }
            } catch (InvalidPathException | Declined e) {
                return false;
            }
            return true;
        }

        private static String fromEnvironment(String variable, String fallback) throws Declined {
            String value = System.getenv(variable);
            if (value == null) {
                return fallback;
            }
            if (value.indexOf('$') >= 0) {
                throw new Declined();
            }
            return value;
        }

        private static Path path(String value) {
            try {
                return Path.of(value);
            } catch (InvalidPathException e) {
                return null;
            }
        }
    }

    /** An environment value picocli's interpolation would change ("$$", "${...}"): left to picocli. */
    private static final class Declined extends Exception {
        Declined() {
            super(null, null, false, false);
        }
    }
}
