package io.rund.cli;

import io.grpc.StatusRuntimeException;
import io.rund.proto.v1.ListRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code rund version}: this client's version and commit, then the server's, read from the headers on the reply to
 * the cheapest call there is (a List of one job). A server it cannot reach leaves the client's line and a note on
 * stderr; the command still succeeds, since the client's version is what was asked first.
 */
@Command(name = "version", mixinStandardHelpOptions = true,
        description = "Print this client's version and git commit, and the server's when it can be reached.")
final class VersionCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() {
        cli.println("client: " + new RundCli.Version().getVersion()[0]);
        ServerVersionHeaders headers = new ServerVersionHeaders();
        String failure = null;
        try (RundClient client = connection.connect(headers)) {
            try {
                client.list(ListRequest.newBuilder().setPageSize(1).build());
            } catch (StatusRuntimeException e) {
                failure = ConnectionOptions.failure(client, e).getMessage();
            }
            Optional<ServerVersionHeaders.ServerVersion> server = headers.seen();
            if (server.isPresent()) {
                cli.println("server: rund " + server.get().version() + ", commit " + server.get().commit()
                        + " (" + client.address() + ")");
                return ExitCodes.OK;
            }
        } catch (CliException e) {
            failure = e.getMessage();
        }
        cli.error("server version unknown: " + (failure != null ? failure : "the server's reply named no version"));
        return ExitCodes.OK;
    }
}
