package io.rund.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

/**
 * The {@code rund} command: the daemon ({@code serve}) and the client commands of the contract in DESIGN.md.
 * It owns the output streams (bytes, so job output passes through unchanged) and the error policy: every
 * failure is one line on stderr, "rund: ...", and an exit code from {@link ExitCodes}.
 */
@Command(name = "rund",
        mixinStandardHelpOptions = true,
        versionProvider = RundCli.Version.class,
        description = "Runs Linux processes (jobs) in their own cgroup for clients authenticated by mutual TLS.",
        subcommands = {ServeCommand.class, StartCommand.class, StopCommand.class, StatusCommand.class, LogsCommand.class, ListCommand.class,
                RunCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:success",
                "1:other failure (server error; with run: the job failed to start)",
                "2:usage: bad arguments, unreadable TLS files, INVALID_ARGUMENT",
                "3:no such job (or not yours)",
                "4:permission: refused at the TLS handshake, PERMISSION_DENIED",
                "5:unavailable: cannot connect, server shutting down, timeout",
                "6:refused: FAILED_PRECONDITION or RESOURCE_EXHAUSTED",
                "run:the job's exit code, or 128+signal if it was killed"})
public final class RundCli implements Runnable {

    private final PrintStream out;
    private final PrintStream err;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public RundCli(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(execute(System.out, System.err, args));
    }

    /**
     * Runs one command line against the given streams and returns its exit code. Everyday lines take the quick
     * path ({@link QuickCommandLine}); picocli parses the rest, with the same result.
     */
    public static int execute(PrintStream out, PrintStream err, String... args) {
        RundCli cli = new RundCli(out, err);
        Callable<Integer> quick = QuickCommandLine.parse(cli, args);
        return quick != null ? cli.call(quick) : commandLine(cli).execute(args);
    }

    static CommandLine commandLine(PrintStream out, PrintStream err) {
        return commandLine(new RundCli(out, err));
    }

    private static CommandLine commandLine(RundCli cli) {
        CommandLine commandLine = new CommandLine(cli)
                .setOut(new PrintWriter(cli.out, true, StandardCharsets.UTF_8))
                .setErr(new PrintWriter(cli.err, true, StandardCharsets.UTF_8))
                .setExecutionExceptionHandler((e, command, parsed) -> cli.report(e))
                .setParameterExceptionHandler((e, args) -> {
                    cli.error(e.getMessage() + " (see '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
                    return ExitCodes.USAGE;
                });
        // Everything after the command's first word belongs to the job: `rund run sh -c 'exit 7'`.
        commandLine.getSubcommands().get("start").setStopAtPositional(true);
        commandLine.getSubcommands().get("run").setStopAtPositional(true);
        return commandLine;
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

    /** Calls a command as picocli's execute() does: its result is the exit code, its failure is reported. */
    private int call(Callable<Integer> command) {
        try {
            Integer code = command.call();
            return code == null ? ExitCodes.OK : code;
        } catch (Exception e) {
            return report(e);
        }
    }

    private int report(Exception e) {
        if (e instanceof CliException failure) {
            error(failure.getMessage());
            return failure.exitCode();
        }
        error("internal error: " + e);
        e.printStackTrace(err);
        return ExitCodes.FAILURE;
    }

    /** The version from the jar's manifest, when run from the jar. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = RundCli.class.getPackage().getImplementationVersion();
            return new String[] {"rund " + (version == null ? "(development build)" : version)};
        }
    }
}
