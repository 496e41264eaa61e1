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

/**
 * A client interceptor that reads each reply's metadata (its headers, then its trailers, which carry the headers of
 * a trailers-only reply such as a refused call) and may change the status the caller sees: the one wrapping of
 * grpc-java's forwarding call and listener that {@link ServerVersionHeaders} and {@link BrokenConnectionStatus} share.
 */
abstract class ReplyInterceptor implements ClientInterceptor {

    /** Called with the reply's headers, and with its trailers when the call closes. */
    void onReplyMetadata(Metadata metadata) {}

    /** The status the caller sees when the call closes with {@code status}: by default that one. */
    Status onReplyStatus(Status status) {
        return status;
    }

    @Override
    public final <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<R> listener, Metadata headers) {
                super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                    @Override
                    public void onHeaders(Metadata received) {
                        onReplyMetadata(received);
                        super.onHeaders(received);
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        onReplyMetadata(trailers);
                        super.onClose(onReplyStatus(status), trailers);
                    }
                }, headers);
            }
        };
    }
}
