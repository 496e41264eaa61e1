package io.rund.api;

import io.grpc.Status;
import io.grpc.health.v1.Health;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.rund.proto.v1.JobController;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.javadsl.Source;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * gRPC's standard health service (grpc.health.v1.Health) for the overall server ("") and rund.v1.JobController:
 * SERVING from the moment the API answers (it is bound only once the daemon has restored and adopted its jobs), and
 * NOT_SERVING from the first phase of the daemon's shutdown, before the port is unbound, for as long as the
 * connection still answers. A Watch gets the status at once, then NOT_SERVING when shutdown begins, after which its
 * stream ends (so that a watcher does not hold the shutdown's drain). Any other service name is unknown: NOT_FOUND
 * to Check, SERVICE_UNKNOWN to Watch, as the protocol says. Like every call, it needs a client certificate.
 */
final class HealthService implements Health {

    /** The overall server, as health checkers name it. */
    static final String OVERALL = "";
    private static final Set<String> SERVICES = Set.of(OVERALL, JobController.name);

    private final CompletableFuture<Done> shuttingDown = new CompletableFuture<>();

    HealthService(ActorSystem<?> system) {
        CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "health-not-serving",
                () -> {
                    shuttingDown.complete(Done.getInstance());
                    return CompletableFuture.completedFuture(Done.getInstance());
                });
    }

    @Override
    public CompletionStage<HealthCheckResponse> check(HealthCheckRequest in) {
        if (!SERVICES.contains(in.getService())) {
            return CompletableFuture.failedFuture(unknown(in.getService()));
        }
        return CompletableFuture.completedFuture(response(now()));
    }

    @Override
    public Source<HealthCheckResponse, NotUsed> watch(HealthCheckRequest in) {
        boolean known = SERVICES.contains(in.getService());
        Source<HealthCheckResponse, NotUsed> first = Source.single(response(known ? now() : ServingStatus.SERVICE_UNKNOWN));
        if (shuttingDown.isDone()) {
            return first;
        }
        Source<HealthCheckResponse, NotUsed> atShutdown = Source.completionStage(shuttingDown)
                .filter(done -> known)
                .map(done -> response(ServingStatus.NOT_SERVING));
        return first.concat(atShutdown);
    }

    private ServingStatus now() {
        return shuttingDown.isDone() ? ServingStatus.NOT_SERVING : ServingStatus.SERVING;
    }

    private static HealthCheckResponse response(ServingStatus status) {
        return HealthCheckResponse.newBuilder().setStatus(status).build();
    }

    private static Exception unknown(String service) {
        return ApiErrors.refusal(Status.Code.NOT_FOUND, "SERVICE_UNKNOWN", Map.of(), "no service "
                + io.rund.job.ClientText.quote(service) + " here; rund reports health for \"\" and " + JobController.name);
    }
}
