package io.rund.cli;

import io.rund.proto.v1.Node;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.util.List;

/**
 * {@code rund nodes}: the cluster's members as the node it talks to sees them, one per line (NAME, ADDRESS, INDEX,
 * REACHABLE, RUNNING), or a JSON array with -o json. Standalone rund lists itself alone, unnamed.
 */
@Command(name = "nodes", mixinStandardHelpOptions = true,
        description = "List the cluster's nodes: NAME, ADDRESS, INDEX, REACHABLE (yes, no, or split: a seed found in another cluster), RUNNING (jobs not ended; - when unreachable).")
final class NodesCommand implements java.util.concurrent.Callable<Integer> {

    private static final String ROW = "%-16s  %-24s  %-5s  %-9s  %s";
    private static final String NONE = "-";
    /** In the REACHABLE column: a seed found Up in another cluster (the fleet split; docs/CLUSTER.md). */
    private static final String SPLIT = "split";

    @ParentCommand
    RundCli cli;

    @Mixin
    OutputOptions output;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        OutputOptions.Format format = output.chosen().orElse(null);
        List<Node> nodes = connection.call(client -> client.nodes()).getNodesList();
        if (format == OutputOptions.Format.JSON) {
            JsonWriter json = new JsonWriter().beginArray();
            for (Node node : nodes) {
                json.beginObject()
                        .name("name").value(node.getName())
                        .name("address").value(node.getAddress().isEmpty() ? null : node.getAddress())
                        .name("index").value(node.getIndex())
                        .name("reachable").value(node.getReachable())
                        .name("runningJobs").value(node.getRunningJobs() < 0 ? null : node.getRunningJobs())
                        .name("otherCluster").value(node.getOtherCluster())
                        .endObject();
            }
            cli.println(json.endArray().toString());
            return ExitCodes.OK;
        }
        if (format == OutputOptions.Format.NAME) {
            nodes.forEach(node -> cli.println(node.getName()));
            return ExitCodes.OK;
        }
        cli.println(ROW.formatted("NAME", "ADDRESS", "INDEX", "REACHABLE", "RUNNING"));
        for (Node node : nodes) {
            cli.println(ROW.formatted(node.getName().isEmpty() ? NONE : node.getName(),
                    node.getAddress().isEmpty() ? NONE : node.getAddress(), node.getIndex(),
                    node.getOtherCluster() ? SPLIT : node.getReachable() ? "yes" : "no", node.getRunningJobs() < 0 ? NONE : Integer.toString(node.getRunningJobs())));
        }
        return ExitCodes.OK;
    }
}
