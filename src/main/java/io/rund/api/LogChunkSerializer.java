package io.rund.api;

import com.google.protobuf.ByteOutput;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.WireFormat;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import org.apache.pekko.grpc.ProtobufSerializer;
import org.apache.pekko.util.ByteString;

/**
 * Serializes a Logs stream's chunks without copying their output: a data chunk becomes its few header bytes
 * (the LogChunk and LogData tags and lengths, stream, offset, timestamp) written for it, followed by the payload
 * itself, shared rather than copied ({@code data} is LogData's last field, so its bytes end the message). With N
 * followers a payload is no longer copied N times into N protobuf arrays; the bytes are those protobuf's own
 * {@code toByteArray} gives (checked by LogChunkSerializerTest). Anything else (the trailer) is serialized as usual.
 */
final class LogChunkSerializer implements ProtobufSerializer<LogChunk> {

    static final LogChunkSerializer INSTANCE = new LogChunkSerializer();

    private static final int DATA_FIELD = LogData.DATA_FIELD_NUMBER;
    private static final int CHUNK_DATA_FIELD = LogChunk.DATA_FIELD_NUMBER;
    /** Tags and varints of the chunk and data headers, the stream, the offset and a timestamp: well under this. */
    private static final int MAX_HEADER_BYTES = 64;

    private final Parser<LogChunk> parser = LogChunk.parser();

    private LogChunkSerializer() {}

    @Override
    public ByteString serialize(LogChunk chunk) {
        if (!chunk.hasData() || !chunk.getUnknownFields().asMap().isEmpty()
                || !chunk.getData().getUnknownFields().asMap().isEmpty()) {
            return ByteString.fromArrayUnsafe(chunk.toByteArray());
        }
        LogData data = chunk.getData();
        int payload = data.getData().size();
        ByteString head = ByteString.fromArrayUnsafe(dataHeader(data, payload));
        return payload == 0 ? head : head.concat(shared(data.getData()));
    }

    /**
     * The bytes of a data chunk that come before its payload of {@code payload} bytes: the chunk and data tags and
     * lengths, {@code fields}' stream, offset and timestamp (its own data, if any, is not written), and the data tag.
     */
    static byte[] dataHeader(LogData fields, int payload) {
        int dataSize = fieldsSize(fields) + (payload == 0 ? 0
                : CodedOutputStream.computeTagSize(DATA_FIELD) + CodedOutputStream.computeUInt32SizeNoTag(payload) + payload);
        byte[] header = new byte[MAX_HEADER_BYTES];
        CodedOutputStream out = CodedOutputStream.newInstance(header);
        try {
            out.writeTag(CHUNK_DATA_FIELD, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            out.writeUInt32NoTag(dataSize);
            if (fields.getStreamValue() != 0) {
                out.writeEnum(LogData.STREAM_FIELD_NUMBER, fields.getStreamValue());
            }
            if (fields.getOffset() != 0) {
                out.writeInt64(LogData.OFFSET_FIELD_NUMBER, fields.getOffset());
            }
            if (fields.hasTimestamp()) {
                out.writeMessage(LogData.TIMESTAMP_FIELD_NUMBER, fields.getTimestamp());
            }
            if (payload > 0) {
                out.writeTag(DATA_FIELD, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                out.writeUInt32NoTag(payload);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("log chunk header larger than " + MAX_HEADER_BYTES + " bytes", e);
        }
        return java.util.Arrays.copyOf(header, out.getTotalBytesWritten());
    }

    /** The size of {@code fields} serialized without its payload. */
    private static int fieldsSize(LogData fields) {
        int size = 0;
        if (fields.getStreamValue() != 0) {
            size += CodedOutputStream.computeEnumSize(LogData.STREAM_FIELD_NUMBER, fields.getStreamValue());
        }
        if (fields.getOffset() != 0) {
            size += CodedOutputStream.computeInt64Size(LogData.OFFSET_FIELD_NUMBER, fields.getOffset());
        }
        if (fields.hasTimestamp()) {
            size += CodedOutputStream.computeMessageSize(LogData.TIMESTAMP_FIELD_NUMBER, fields.getTimestamp());
        }
        return size;
    }

    @Override
    public LogChunk deserialize(ByteString bytes) {
        try {
            return parser.parseFrom(bytes.toArrayUnsafe());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("not a LogChunk: " + e.getMessage(), e);
        }
    }

    @Override
    public LogChunk deserialize(InputStream bytes) {
        try {
            return parser.parseFrom(bytes);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a LogChunk: " + e.getMessage(), e);
        }
    }

    /** The payload's own bytes when protobuf holds them in one array (as rund's chunks do), else a copy. */
    private static ByteString shared(com.google.protobuf.ByteString payload) {
        SharedBytes out = new SharedBytes();
        try {
            UnsafeByteOperations.unsafeWriteTo(payload, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.bytes;
    }

    /** Receives a protobuf ByteString's backing arrays without a copy where protobuf offers them. */
    private static final class SharedBytes extends ByteOutput {
        ByteString bytes = ByteString.emptyByteString();

        @Override
        public void write(byte value) {
            bytes = bytes.concat(ByteString.fromArrayUnsafe(new byte[] {value}));
        }

        @Override
        public void write(byte[] value, int offset, int length) {
            bytes = bytes.concat(ByteString.fromArray(value, offset, length));
        }

        @Override
        public void writeLazy(byte[] value, int offset, int length) {
            bytes = bytes.concat(ByteString.fromArrayUnsafe(value, offset, length));
        }

        @Override
        public void write(ByteBuffer value) {
            bytes = bytes.concat(ByteString.fromByteBuffer(value));
        }

        @Override
        public void writeLazy(ByteBuffer value) {
            bytes = bytes.concat(ByteString.fromByteBuffer(value));
        }
    }
}
