package io.rund.bench;

import io.rund.auth.TlsFiles;
import io.rund.cli.CliException;
import io.rund.cli.RundClient;

import java.nio.file.Path;

/** What every benchmark section needs: the plan, the checkout (bin/rund, tls/), a scratch directory, progress output. */
record BenchContext(BenchPlan plan, Path repository, Path workDirectory) {

    /** An unprivileged account the floor's jobs run as (rund gives each job a uid of its own; this stands in). */
    static final String JOB_USER = "nobody";

    BenchDaemon startDaemon() throws Exception {
        return BenchDaemon.start(repository, workDirectory);
    }

    TlsFiles clientTls() {
        return BenchDaemon.clientTls(repository, "client");
    }

    RundClient client(BenchDaemon daemon) throws CliException {
        return RundClient.connect(daemon.address(), clientTls());
    }

    void progress(String message) {
        System.err.println("bench: " + message);
    }
}
