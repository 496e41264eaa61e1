package io.rund.api;

import org.apache.pekko.http.javadsl.model.HttpRequest;

/**
 * Server reflection under both of its names: grpc.reflection.v1 (what grpcurl and current clients ask first) and
 * v1alpha (what pekko-grpc serves and older clients ask). The two protocols are the same messages with the same field
 * numbers in another package, so a v1 call is handed to pekko-grpc's reflection under the v1alpha path and its bytes
 * answer the v1 client as they are.
 */
final class ReflectionVersions {

    static final String V1_PATH = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    static final String V1ALPHA_PATH = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

    private ReflectionVersions() {}

    /** {@code request}, with a v1 reflection call's path turned into v1alpha's; any other request as it is. */
    static HttpRequest servedAsV1alpha(HttpRequest request) {
        return request.getUri().path().equals(V1_PATH) ? request.withUri(request.getUri().path(V1ALPHA_PATH)) : request;
    }
}
