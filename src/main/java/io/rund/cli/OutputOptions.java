package io.rund.cli;

import picocli.CommandLine.Option;

import java.util.Optional;

/**
 * {@code -o json|wide|name} (and {@code --json}, its older spelling of {@code -o json}) for the commands that print
 * jobs: one option, one meaning everywhere, so a script's {@code rund list -o name | xargs rund stop} keeps working.
 * Not given, each command prints its own default (list: the table; start: the id; status: see StatusCommand).
 */
public final class OutputOptions {

    /** What a command prints its jobs as. */
    public enum Format {
        /** The JSON objects status prints (an array for list). */
        JSON,
        /** The human form with more columns or fields. */
        WIDE,
        /** Ids only, one per line. */
        NAME
    }

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
            description = "json (the JSON status objects), wide (more columns), or name (ids only, one per line).")
    Format format;

    @Option(names = "--json", description = "The same as -o json.")
    boolean json;

    /** The format asked for, if one was; --json with another -o is a usage error. */
    public Optional<Format> chosen() throws CliException {
        if (json && format != null && format != Format.JSON) {
            throw new CliException(ExitCodes.USAGE, "--json and -o " + format.name().toLowerCase(java.util.Locale.ROOT)
                    + " ask for different formats; give one");
        }
        return Optional.ofNullable(json ? Format.JSON : format);
    }
}
