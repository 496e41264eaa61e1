package io.rund.cli;

import io.grpc.StatusRuntimeException;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartResponse;
import io.rund.proto.v1.StopRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code rund run [LIMITS] -- CMD}: starts a job, streams its output here, and exits with the job's exit code
 * (128 + signal when it was killed), so that it can stand in for CMD in a script or CI pipeline. A dropped
 * connection is resumed where it broke, as {@code rund logs -f} does.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Start a job, stream its stdout and stderr here, and exit with its exit code (128+signal if killed).")
final class RunCommand implements Callable<Integer> {

    @ParentCommand
    RundCli cli;

    @Mixin
    LimitOptions limits;

    @Mixin
    JobOptions job;

    @Mixin
    ConnectionOptions connection;

    @Override
    public Integer call() throws CliException {
        var request = job.toProto().setLimits(limits.toProto()).build();
        try (RundClient client = connection.connect()) {
            StartResponse started;
            try {
                started = client.start(request);
            } catch (StatusRuntimeException e) {
                throw ConnectionOptions.failure(client, e);
            }
            // Interrupted (Ctrl-C, SIGTERM from a CI runner): stop the job too, rather than leave it running.
            Thread stopJob = new Thread(() -> stopQuietly(client, started.getJobId()), "rund-run-stop-job");
            InterruptHooks.add(stopJob);
            LogsRequest follow = LogsRequest.newBuilder().setJobId(started.getJobId()).setFollow(true).build();
            Optional<JobStatus> end;
            try {
                end = new LogCopier(client, new LogOutput(cli.out(), cli.err(), false), cli::error, Clock.systemUTC())
                        .copy(follow);
            } catch (CliException e) {
                if (e.exitCode() == ExitCodes.OUTPUT_CLOSED) {
                    // Nobody reads the output any more: the job goes, as a pipeline's writer does on SIGPIPE.
                    try {
                        client.stop(StopRequest.newBuilder().setJobId(started.getJobId()).build());
                    } catch (StatusRuntimeException notStopped) {
                        // Quiet all the same: the job may have ended meanwhile, and stderr may be closed too.
                    }
                }
                throw e;
            } finally {
                removeHook(stopJob);
            }
            if (end.isEmpty()) {
                throw new CliException(ExitCodes.UNAVAILABLE, "the output of job " + started.getJobId() + " ended without its final status");
            }
            return exitCode(end.get());
        }
    }

    private void stopQuietly(RundClient client, String jobId) {
        try {
            client.stop(StopRequest.newBuilder().setJobId(jobId).build());
            cli.error("interrupted: stopped job " + jobId);
        } catch (StatusRuntimeException e) {
            cli.error("interrupted, and could not stop job " + jobId + ": " + e.getStatus());
        }
    }

    private static void removeHook(Thread hook) {
        InterruptHooks.remove(hook);
    }

    static int exitCode(JobStatus status) throws CliException {
        if (status.getState() == JobState.JOB_STATE_FAILED_TO_START) {
            throw new CliException(ExitCodes.FAILURE, "job " + status.getId() + " failed to start: " + status.getFailure());
        }
        if (status.hasExitCode()) {
            return status.getExitCode().getValue();
        }
        if (status.hasSignal()) {
            return ExitCodes.SIGNAL_BASE + status.getSignal().getValue();
        }
        throw new CliException(ExitCodes.FAILURE, "job " + status.getId() + " is " + JobStatusJson.state(status.getState())
                + " but its output has ended");
    }
}
