package io.rund.cli;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;

import java.io.IOException;

/**
 * Reports a connection that broke under a call as UNAVAILABLE, gRPC's code for it (and what grpc-java's Netty
 * transport says). grpc-okhttp 1.82 says INTERNAL ("error in frame handler", the IOException as its cause) when
 * the connection breaks in the middle of a frame: callers that resume broken streams, or tell the user that rund is
 * unreachable, would take that for a server error.
 */
final class BrokenConnectionStatus implements ClientInterceptor {

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<R> listener, Metadata headers) {
                super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        super.onClose(translated(status), trailers);
                    }
                }, headers);
            }
        };
    }

    static Status translated(Status status) {
        if (status.getCode() == Status.Code.INTERNAL && status.getCause() instanceof IOException broken) {
            return Status.UNAVAILABLE.withDescription("the connection broke: " + broken.getMessage()).withCause(broken);
        }
        return status;
    }
}
