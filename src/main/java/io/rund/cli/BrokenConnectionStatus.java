package io.rund.cli;

import io.grpc.Status;

import java.io.IOException;

/**
 * Reports a connection that broke under a call as UNAVAILABLE, gRPC's code for it (and what grpc-java's Netty
 * transport says). grpc-okhttp 1.82 says INTERNAL ("error in frame handler", the IOException as its cause) when
 * the connection breaks in the middle of a frame: callers that resume broken streams, or tell the user that rund is
 * unreachable, would take that for a server error.
 */
final class BrokenConnectionStatus extends ReplyInterceptor {

    @Override
    Status onReplyStatus(Status status) {
        return translated(status);
    }

    static Status translated(Status status) {
        if (status.getCode() == Status.Code.INTERNAL && status.getCause() instanceof IOException broken) {
            return Status.UNAVAILABLE.withDescription("the connection broke: " + broken.getMessage()).withCause(broken);
        }
        return status;
    }
}
