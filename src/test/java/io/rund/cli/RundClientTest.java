package io.rund.cli;

import com.google.protobuf.Descriptors;
import io.grpc.Status;
import io.rund.proto.v1.RundProto;
import org.junit.jupiter.api.Test;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** What RundClient takes as given instead of looking it up, and how it reports a broken connection. */
class RundClientTest {

    @Test
    void theServiceNameIsTheProtoFilesAndHasTheMethodsCalled() {
        Descriptors.ServiceDescriptor service = RundProto.getDescriptor().findServiceByName("JobController");
        assertEquals(service.getFullName(), RundClient.SERVICE);
        assertEquals(List.of("Start", "Stop", "Status", "Logs", "List", "Delete", "Nodes", "Update", "Stats", "Signal", "Pause",
                        "Resume", "Watch"),
                service.getMethods().stream().map(Descriptors.MethodDescriptor::getName).toList());
    }

    @Test
    void aConnectionBrokenMidFrameIsUnavailable() {
        for (IOException broken : List.of(new SocketException("Connection reset"), new EOFException())) {
            Status status = BrokenConnectionStatus.translated(
                    Status.INTERNAL.withDescription("error in frame handler").withCause(broken));
            assertEquals(Status.Code.UNAVAILABLE, status.getCode());
            assertSame(broken, status.getCause());
        }
    }

    @Test
    void otherFailuresKeepTheirCode() {
        Status serverError = Status.INTERNAL.withDescription("from the server");
        assertSame(serverError, BrokenConnectionStatus.translated(serverError));
        Status badMessage = Status.INTERNAL.withCause(new IllegalStateException("invalid log chunk"));
        assertSame(badMessage, BrokenConnectionStatus.translated(badMessage));
        Status unavailable = Status.UNAVAILABLE.withCause(new SocketException("Connection refused"));
        assertSame(unavailable, BrokenConnectionStatus.translated(unavailable));
    }
}
