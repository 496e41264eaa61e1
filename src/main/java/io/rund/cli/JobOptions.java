package io.rund.cli;

import io.rund.proto.v1.StartRequest;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;

/** What to run, for {@code rund start} and {@code rund run}: the command line, its environment, directory and user. */
public final class JobOptions {

    @Option(names = {"-e", "--env"}, paramLabel = "NAME[=VALUE]",
            description = "Set a variable in the job's environment; NAME alone passes this shell's value. Repeatable. "
                    + "The job inherits nothing else (the server supplies a default PATH).")
    List<String> env = new ArrayList<>();

    @Option(names = {"-C", "--workdir"}, paramLabel = "DIR", description = "Absolute working directory of the job (default: the server's).")
    String workingDirectory;

    @Option(names = "--user", paramLabel = "NAME", description = "Account to run as (default: the server's unprivileged job user).")
    String user;

    @Option(names = "--group", paramLabel = "GROUP",
            description = "Primary group of the job, a name or a gid (default: the user's own). Only the user's own groups,"
                    + " and those the server lists in rund.jobs.allowed-groups.")
    String group;

    @Option(names = "--groups", paramLabel = "GROUP[,GROUP...]", split = ",",
            description = "Supplementary groups of the job, exactly these, names or gids (default: the user's own; none for"
                    + " a user of the job's own). Allowed as for --group. Repeatable.")
    List<String> groups = new ArrayList<>();

    @Option(names = "--host", paramLabel = "NODE",
            description = "In a cluster: the node to run the job on (as `rund nodes` names it; default: a reachable node with few running jobs).")
    String host;

    @Option(names = {"-l", "--label"}, paramLabel = "KEY=VALUE",
            description = "Label the job (Kubernetes label syntax; list and watch select by labels). Repeatable.")
    List<String> labels = new ArrayList<>();

    @Parameters(arity = "1..*", paramLabel = "CMD [ARGS...]",
            description = "The command and its arguments; put them after -- when an argument starts with '-'.")
    List<String> commandLine = new ArrayList<>();

    @Option(names = "--timeout", paramLabel = "DURATION",
            description = "Stop the job (SIGTERM, grace period, SIGKILL) once it has run this long, like 2s, 500ms or 1m30s.")
    String timeout;

    public StartRequest.Builder toProto() throws CliException {
        StartRequest.Builder request = StartRequest.newBuilder()
                .setCommand(commandLine.getFirst())
                .addAllArgs(commandLine.subList(1, commandLine.size()));
        for (String variable : env) {
            int equals = variable.indexOf('=');
            String name = equals < 0 ? variable : variable.substring(0, equals);
            String value = equals < 0 ? System.getenv(name) : variable.substring(equals + 1);
            if (value == null) {
                throw new CliException(ExitCodes.USAGE, "--env " + name + ": not set in this environment; write " + name + "=VALUE");
            }
            request.putEnv(name, value);
        }
        if (workingDirectory != null) {
            request.setWorkingDirectory(workingDirectory);
        }
        if (host != null) {
            request.setHost(host);
        }
        if (user != null) {
            request.setUser(user);
        }
        if (timeout != null) {
            request.setTimeout(DurationText.toProto(DurationText.parse("--timeout", timeout)));
        }
        request.putAllLabels(LabelOptions.parse(labels));
        if (group != null) {
            request.setGroup(group);
        }
        request.addAllGroups(groups);
        return request;
    }
}
