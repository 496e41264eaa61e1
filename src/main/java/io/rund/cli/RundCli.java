package io.rund.cli;

import io.rund.api.BuildVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;

/**
 * The {@code rund} command: the daemon ({@code serve}) and the client commands of the contract in DESIGN.md.
 * It owns the output streams (bytes, so job output passes through unchanged) and the error policy: every
 * failure is one line on stderr, "rund: ...", and an exit code from {@link ExitCodes}.
 */
@Command(name = "rund",
        mixinStandardHelpOptions = true,
        versionProvider = RundCli.Version.class,
        description = "Runs Linux processes (jobs) in their own cgroup for clients authenticated by mutual TLS.",
        exitCodeListHeading = "%nExit codes:%n",
        footerHeading = "%nConnection options%n",
        footer = {"--addr, --ca, --cert and --key may come before or after the command: rund --addr h:8000 status ID."},
        exitCodeList = {
                "0:success",
                "119:usage: bad arguments, unusable TLS files (a private key others can read), INVALID_ARGUMENT",
                "120:no such job (or not yours)",
                "121:permission: refused at the TLS handshake, PERMISSION_DENIED",
                "122:unavailable: cannot connect, server shutting down, timeout",
                "123:refused: FAILED_PRECONDITION or RESOURCE_EXHAUSTED",
                "125:rund failed (server error; with run: the job failed to start)",
                "141:stdout closed by its reader (| head): quiet, as after SIGPIPE",
                "run, logs -f:the job's exit code, or 128+signal if it was killed",
                "serve:1 failed, 2 bad command line or configuration (one line names the setting)"})
public final class RundCli implements Runnable {

    private static final String SERVE = "serve";
    private static final String HELP = "help";

    /** A subcommand: its name, and how to make the object picocli reads its options from. */
    private record Subcommand(String name, Supplier<Object> command) {}

    /**
     * The subcommands, in the order help lists them. picocli reads a command's annotations when it is added, which
     * is a good part of a cold client command's time; {@link #execute} adds only the one its line names.
     */
    private static final List<Subcommand> SUBCOMMANDS = List.of(
            new Subcommand(SERVE, ServeCommand::new),
            new Subcommand("start", StartCommand::new),
            new Subcommand("stop", StopCommand::new),
            new Subcommand("status", StatusCommand::new),
            new Subcommand("logs", LogsCommand::new),
            new Subcommand("list", ListCommand::new),
            new Subcommand("rm", RmCommand::new),
            new Subcommand("update", UpdateCommand::new),
            new Subcommand("nodes", NodesCommand::new),
            new Subcommand("stats", StatsCommand::new),
            new Subcommand("top", TopCommand::new),
            new Subcommand("kill", KillCommand::new),
            new Subcommand("pause", PauseCommand::new),
            new Subcommand("resume", ResumeCommand::new),
            new Subcommand("watch", WatchCommand::new),
            new Subcommand("doctor", DoctorCommand::new),
            new Subcommand("version", VersionCommand::new),
            new Subcommand("run", RunCommand::new),
            new Subcommand(HELP, CommandLine.HelpCommand::new));
    /** Subcommands whose arguments after the first positional one belong to the job: `rund run sh -c 'exit 7'`. */
    private static final List<String> STOP_AT_POSITIONAL = List.of("start", "run");

    private static final String DEFAULT_TRUST_STORE = "javax.net.ssl.trustStore";
    /**
     * Client commands trust only the CA they are given. grpc-okhttp's platform probe still builds the JDK's default
     * SSL context, whose trust store (cacerts, about 150 certificates) would be read and parsed for nothing on every
     * command: point it at none. The daemon, and anyone who names a trust store, keep the JDK's default.
     */
    private static final String NO_TRUST_STORE = "NONE";

    private final PrintStream out;
    private final PrintStream err;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public RundCli(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        if (args.length == 0 || !args[0].equals(SERVE)) {
            skipDefaultTrustStore();
            ClientWarmUp.start();
        }
        System.exit(execute(System.out, System.err, args));
    }

    /** See {@link #NO_TRUST_STORE}: for JVMs that run client commands only. */
    static void skipDefaultTrustStore() {
        if (System.getProperty(DEFAULT_TRUST_STORE) == null) {
            System.setProperty(DEFAULT_TRUST_STORE, NO_TRUST_STORE);
        }
    }

    /** Runs one command line against the given streams and returns its exit code. */
    public static int execute(PrintStream out, PrintStream err, String... args) {
        String[] line = ConnectionFlags.afterCommand(args, name -> SUBCOMMANDS.stream().anyMatch(s -> s.name().equals(name)));
        return commandLine(new RundCli(out, err), line.length > 0 ? line[0] : null).execute(line);
    }

    /** The whole command line model, every subcommand included. */
    static CommandLine commandLine(PrintStream out, PrintStream err) {
        return commandLine(new RundCli(out, err), null);
    }

    /**
     * The model for a line whose first word is {@code first}: with only that subcommand if it names one (other than
     * help, which describes its siblings), else with all of them, so that help and errors see every command.
     */
    private static CommandLine commandLine(RundCli cli, String first) {
        CommandLine commandLine = new CommandLine(cli);
        boolean named = !HELP.equals(first) && SUBCOMMANDS.stream().anyMatch(subcommand -> subcommand.name().equals(first));
        for (Subcommand subcommand : SUBCOMMANDS) {
            if (!named || subcommand.name().equals(first)) {
                commandLine.addSubcommand(subcommand.name(), subcommand.command().get());
            }
        }
        for (String name : STOP_AT_POSITIONAL) {
            CommandLine subcommand = commandLine.getSubcommands().get(name);
            if (subcommand != null) {
                subcommand.setStopAtPositional(true);
            }
        }
        // After the subcommands: picocli hands these settings down to the subcommands present at the time.
        return commandLine
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setOut(new PrintWriter(cli.out, true, StandardCharsets.UTF_8))
                .setErr(new PrintWriter(cli.err, true, StandardCharsets.UTF_8))
                .setExecutionExceptionHandler((e, command, parsed) -> cli.report(e, isServe(command)))
                .setParameterExceptionHandler((e, args) -> {
                    cli.error(e.getMessage() + " (see '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
                    return isServe(e.getCommandLine()) ? ExitCodes.SERVE_USAGE : ExitCodes.USAGE;
                });
    }

    private static boolean isServe(CommandLine command) {
        return SERVE.equals(command.getCommandName());
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    /** Writes {@code line} and a newline to stdout as UTF-8. */
    void println(String line) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        out.write(bytes, 0, bytes.length);
        out.flush();
    }

    /**
     * Whether stdout is a terminal a person reads (status then prints its human view): only when this command writes
     * to the process's own stdout and the JDK's console says stdin and stdout are both a terminal.
     */
    boolean stdoutIsTerminal() {
        if (forwardedTerminal != null) {
            return forwardedTerminal;
        }
        if (out != System.out) {
            return false;
        }
        java.io.Console console = System.console();
        return console != null && console.isTerminal();
    }

    PrintStream out() {
        return out;
    }

    PrintStream err() {
        return err;
    }

    void error(String message) {
        byte[] line = ("rund: " + message + "\n").getBytes(StandardCharsets.UTF_8);
        err.write(line, 0, line.length);
        err.flush();
    }

    private int report(Exception e, boolean serve) {
        if (e instanceof CliException failure) {
            if (!failure.isQuiet()) {
                error(failure.getMessage());
            }
            if (serve) {
                return failure.exitCode() == ExitCodes.USAGE || failure.exitCode() == ExitCodes.SERVE_USAGE
                        ? ExitCodes.SERVE_USAGE : ExitCodes.SERVE_FAILURE;
            }
            return failure.exitCode();
        }
        error("internal error: " + e);
        e.printStackTrace(err);
        return serve ? ExitCodes.SERVE_FAILURE : ExitCodes.FAILURE;
    }

    /** The version from the jar's manifest (when run from the jar) and the commit the build wrote beside the classes. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"rund " + BuildVersion.version() + ", commit " + BuildVersion.commit()};
        }
    }

    /** Set for a command the CLI agent runs: whether its front end's stdin and stdout are a terminal. */
    private Boolean forwardedTerminal;

    /**
     * Runs one command line for the CLI agent ({@link CliAgent}) as its front end's process would: {@code env} (its
     * RUND_* variables) stands for the environment in option defaults, relative paths are resolved against
     * {@code cwd}, and {@code terminal} says whether its stdin and stdout are a terminal.
     */
    static int executeForwarded(PrintStream out, PrintStream err, boolean terminal, java.util.Map<String, String> env,
            java.nio.file.Path cwd, String... args) {
        String[] line = ConnectionFlags.afterCommand(args, name -> SUBCOMMANDS.stream().anyMatch(s -> s.name().equals(name)));
        RundCli cli = new RundCli(out, err);
        cli.forwardedTerminal = terminal;
        CommandLine commandLine = commandLine(cli, line.length > 0 ? line[0] : null);
        ForwardedEnvironment.apply(commandLine, env, cwd);
        return commandLine.execute(line);
    }
}
