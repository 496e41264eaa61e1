package io.rund.cli;

import picocli.AutoComplete;
import picocli.CommandLine;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes rund's shell completion and man page from the picocli model, so that both say what the commands accept:
 * {@code completion/rund.bash} (picocli's AutoComplete; zsh loads it through bashcompinit, which the script does
 * itself) and {@code man/man1/rund.1} (roff: each command's help as picocli prints it, and the exit codes). The build
 * runs it into target/ (package phase); README says how to install them.
 */
public final class CliDocs {

    static final String COMPLETION = "completion/rund.bash";
    static final String MAN_PAGE = "man/man1/rund.1";

    private CliDocs() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: CliDocs OUTPUT-DIRECTORY");
            System.exit(ExitCodes.USAGE);
        }
        write(Path.of(args[0]));
    }

    static void write(Path directory) throws IOException {
        PrintStream discard = new PrintStream(OutputStream.nullOutputStream());
        CommandLine model = RundCli.commandLine(discard, discard);
        Path completion = directory.resolve(COMPLETION);
        Files.createDirectories(completion.getParent());
        Files.writeString(completion, AutoComplete.bash("rund", model));
        Path manPage = directory.resolve(MAN_PAGE);
        Files.createDirectories(manPage.getParent());
        Files.writeString(manPage, manPage(model));
    }

    /** rund(1): the description, every command's help as picocli prints it, the exit codes. */
    static String manPage(CommandLine model) {
        CommandLine.Model.CommandSpec spec = model.getCommandSpec();
        StringBuilder roff = new StringBuilder();
        roff.append(".TH RUND 1 \"\" \"").append(escape(new RundCli.Version().getVersion()[0])).append("\" \"rund manual\"\n");
        roff.append(".SH NAME\nrund \\- ").append(escape(String.join(" ", spec.usageMessage().description()))).append('\n');
        roff.append(".SH SYNOPSIS\n.B rund\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR]\n");
        roff.append(".SH DESCRIPTION\n").append(escape(String.join(" ", spec.usageMessage().footer()))).append('\n');
        roff.append(".SH COMMANDS\n");
        for (Map.Entry<String, CommandLine> command : model.getSubcommands().entrySet()) {
            if (command.getKey().equals("help")) {
                continue;
            }
            roff.append(".SS ").append(escape(command.getKey())).append("\n.nf\n");
            for (String line : command.getValue().getUsageMessage(CommandLine.Help.Ansi.OFF).split("\n")) {
                roff.append(escapeLine(line)).append('\n');
            }
            roff.append(".fi\n");
        }
        roff.append(".SH EXIT STATUS\n");
        for (Map.Entry<String, String> code : spec.usageMessage().exitCodeList().entrySet()) {
            roff.append(".TP\n.B ").append(escape(code.getKey().strip())).append('\n').append(escape(code.getValue())).append('\n');
        }
        roff.append(".SH FILES\n").append(escape("tls/ (the example certificates), /var/lib/rund (the daemon's state)")).append('\n');
        return roff.toString();
    }

    /** Text safe in roff: backslashes doubled as roff spells them, and no line taken for a request. */
    private static String escape(String text) {
        return escapeLine(text.replace("%n", " "));
    }

    private static String escapeLine(String line) {
        String escaped = line.replace("\\", "\\e").replace("-", "\\-");
        return escaped.startsWith(".") || escaped.startsWith("'") ? "\\&" + escaped : escaped;
    }
}
