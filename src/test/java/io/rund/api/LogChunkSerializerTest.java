package io.rund.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import com.google.protobuf.UnsafeByteOperations;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogTrailer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The chunks LogChunkSerializer writes are, byte for byte, what protobuf itself writes, and share the payload. */
class LogChunkSerializerTest {

    private static final int[] PAYLOAD_SIZES = {0, 1, 127, 128, 16_383, 16_384, 65_536, 131_072, 2_097_152};
    private static final long[] OFFSETS = {0, 1, 127, 128, 1L << 31, Long.MAX_VALUE};

    @Test
    void everyDataChunkIsExactlyWhatProtobufWrites() {
        Random random = new Random(15);
        for (int size : PAYLOAD_SIZES) {
            byte[] payload = new byte[size];
            random.nextBytes(payload);
            for (long offset : OFFSETS) {
                for (LogStream stream : new LogStream[] {LogStream.LOG_STREAM_UNSPECIFIED, LogStream.LOG_STREAM_STDOUT,
                        LogStream.LOG_STREAM_STDERR}) {
                    for (Timestamp stamp : new Timestamp[] {null, Timestamp.getDefaultInstance(),
                            Timestamp.newBuilder().setSeconds(1_764_979_200L).setNanos(999_999_999).build()}) {
                        LogData.Builder data = LogData.newBuilder().setStream(stream).setOffset(offset)
                                .setData(UnsafeByteOperations.unsafeWrap(payload));
                        if (stamp != null) {
                            data.setTimestamp(stamp);
                        }
                        LogChunk chunk = LogChunk.newBuilder().setData(data).build();
                        String what = size + " bytes at " + offset + " of " + stream + (stamp == null ? "" : " stamped " + stamp);
                        assertArrayEquals(chunk.toByteArray(), LogChunkSerializer.INSTANCE.serialize(chunk).toArray(), what);
                        assertEquals(chunk, LogChunkSerializer.INSTANCE.deserialize(LogChunkSerializer.INSTANCE.serialize(chunk)), what);
                    }
                }
            }
        }
    }

    @Test
    void aDataChunkSharesItsPayloadInsteadOfCopyingIt() {
        byte[] payload = new byte[4096];
        LogChunk chunk = LogChunk.newBuilder().setData(LogData.newBuilder().setOffset(7)
                .setData(UnsafeByteOperations.unsafeWrap(payload))).build();
        org.apache.pekko.util.ByteString bytes = LogChunkSerializer.INSTANCE.serialize(chunk);
        int header = bytes.size() - payload.length;
        // Records are immutable, so nothing writes a payload after it is sent; here a write shows the bytes are shared.
        payload[payload.length - 1] = 42;
        assertEquals(42, bytes.apply(header + payload.length - 1), "the serialized chunk sees the payload's own array");
    }

    @Test
    void aTrailerAndAChunkWithUnknownFieldsAreSerializedByProtobuf() throws Exception {
        LogChunk trailer = LogChunk.newBuilder().setTrailer(LogTrailer.newBuilder()
                .setStatus(JobStatus.newBuilder().setState(JobState.JOB_STATE_EXITED).setHost("node2"))).build();
        assertArrayEquals(trailer.toByteArray(), LogChunkSerializer.INSTANCE.serialize(trailer).toArray());

        // A field number LogChunk does not know (99, varint 5), as a newer peer might send.
        byte[] withUnknown = LogChunk.newBuilder().setData(LogData.newBuilder().setOffset(3)
                .setData(ByteString.copyFromUtf8("x"))).build().toByteArray();
        LogChunk parsed = LogChunk.parseFrom(concat(withUnknown, new byte[] {(byte) 0x98, 0x06, 0x05}));
        assertArrayEquals(parsed.toByteArray(), LogChunkSerializer.INSTANCE.serialize(parsed).toArray());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
