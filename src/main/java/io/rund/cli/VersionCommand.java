package io.rund.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/**
 * {@code rund version}: this client's version and the commit it was built from. The server's are not reported yet:
 * the API has no call that returns them (a small proto addition, left to the API's owner).
 */
@Command(name = "version", mixinStandardHelpOptions = true,
        description = "Print this client's version and the git commit it was built from.")
final class VersionCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Override
    public Integer call() {
        cli.println("client: " + new RundCli.Version().getVersion()[0]);
        return ExitCodes.OK;
    }
}
