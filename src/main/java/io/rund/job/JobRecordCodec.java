package io.rund.job;

import io.rund.cgroup.Accounting;
import io.rund.cgroup.IoLimit;
import io.rund.cgroup.Limits;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The binary form of a {@link JobRecord}, big-endian throughout, hand-written so that the job package needs no
 * proto types and no new library:
 * <pre>
 *   0  8  magic "RUNDJOB\0"
 *   8  2  format version (1): raised only for a change that an older rund must not misread
 *  10  4  n, the length of the fields that follow
 *  14  n  fields, each {u16 tag, u32 length, value}; a reader skips tags it does not know, so fields can be added
 *         (labels, say) without a new version
 * 14+n 4  CRC32C of bytes [0, 14 + n): a torn write, a truncated file or another program's file is detected
 * </pre>
 * The spec's fields (id, command, args, env, working directory, user, limits, owner, labels) never change after the
 * job is created; {@link #specFields} encodes them once, and every later write only re-encodes the status.
 */
final class JobRecordCodec {

    static final byte[] MAGIC = "RUNDJOB\0".getBytes(StandardCharsets.US_ASCII);
    static final short VERSION = 1;
    static final int HEADER_BYTES = MAGIC.length + Short.BYTES + Integer.BYTES;
    static final int CHECKSUM_BYTES = Integer.BYTES;

    // Spec fields: fixed once the job is created.
    private static final int ID = 1;
    private static final int COMMAND = 2;
    private static final int ARGS = 3;
    private static final int ENVIRONMENT = 4;
    private static final int WORKING_DIRECTORY = 5;
    private static final int USER = 6;
    private static final int LIMITS = 7;
    private static final int OWNER = 8;
    private static final int LABELS = 9;
    /** Added after version 1 shipped (older daemons skip it): memory.high, which version 1's limits lack. */
    private static final int MEMORY_HIGH = 10;
    /** Intel RDT settings (older daemons skip them), in the CLI's text: "ff0", "0=ff0,1=f0"; masks hex, percents decimal. */
    private static final int L3_CACHE_MASK = 50;
    private static final int MEMORY_BANDWIDTH_PERCENT = 51;
    private static final int HEX = 16;
    private static final int DECIMAL = 10;
    // Status fields: rewritten as the job moves on.
    private static final int STATE = 20;
    private static final int PID = 21;
    private static final int UID = 22;
    private static final int EXIT_CODE = 23;
    private static final int SIGNAL = 24;
    private static final int FLAGS = 25;
    private static final int CREATED_AT = 26;
    private static final int STARTED_AT = 27;
    private static final int ENDED_AT = 28;
    private static final int USAGE = 29;
    private static final int FAILURE = 30;
    private static final int OUTPUT_HELD = 31;
    /** Added after version 1 shipped (older daemons skip it): when a Stop in progress kills the job. */
    private static final int STOP_KILL_AT = 32;
    /** Job control (added later; older daemons skip them): the deadline, time frozen (ms), ended by deadline (1). */
    private static final int DEADLINE = 40;
    private static final int FROZEN_FOR_MILLIS = 41;
    private static final int ENDED_BY_DEADLINE = 42;
    /** Groups (added later; older daemons skip them): asked for at Start (spec), and those the job runs with (status). */
    private static final int GROUP = 60;
    private static final int GROUPS = 61;
    private static final int GID = 62;
    private static final int SUPPLEMENTARY_GROUPS = 63;

    private static final int CORE_DUMPED = 1;
    private static final int OOM_KILLED = 2;
    private static final int STOPPED_BY_REQUEST = 4;

    /** A record file that cannot be read as a record: torn, truncated, corrupt, or not rund's. */
    static final class CorruptRecordException extends IOException {
        CorruptRecordException(String reason) {
            super(reason, null);
        }
    }

    private JobRecordCodec() {}

    /** The whole file's bytes for {@code record}. */
    static byte[] encode(JobRecord record) {
        return encode(specFields(record.spec(), record.owner(), record.labels(), record.id()), record.status(),
                record.stopKillAt());
    }

    /** The whole file's bytes: {@code specFields} (from {@link #specFields}) with {@code status}'s fields. */
    static byte[] encode(byte[] specFields, JobStatus status) {
        return encode(specFields, status, null);
    }

    /** As {@link #encode(byte[], JobStatus)}, with the end of a Stop's grace period if one is in progress. */
    static byte[] encode(byte[] specFields, JobStatus status, Instant stopKillAt) {
        byte[] statusFields = statusFields(status, stopKillAt);
        int fieldBytes = specFields.length + statusFields.length;
        ByteBuffer file = ByteBuffer.allocate(HEADER_BYTES + fieldBytes + CHECKSUM_BYTES)
                .put(MAGIC).putShort(VERSION).putInt(fieldBytes).put(specFields).put(statusFields);
        CRC32C crc = new CRC32C();
        crc.update(file.array(), 0, file.position());
        file.putInt((int) crc.getValue());
        return file.array();
    }

    /** The fields that never change after the job is created. */
    static byte[] specFields(JobSpec spec, Set<String> owner, Map<String, String> labels, String id) {
        Fields fields = new Fields();
        fields.put(ID, out -> writeString(out, id));
        fields.put(COMMAND, out -> writeString(out, spec.command()));
        fields.put(ARGS, out -> writeStrings(out, spec.args()));
        fields.put(ENVIRONMENT, out -> writeMap(out, spec.environment()));
        spec.workingDirectory().ifPresent(dir -> fields.put(WORKING_DIRECTORY, out -> writeString(out, dir.toString())));
        spec.user().ifPresent(user -> fields.put(USER, out -> writeString(out, user)));
        fields.put(LIMITS, out -> writeLimits(out, spec.limits()));
        spec.limits().memoryHighBytes().ifPresent(bytes -> fields.put(MEMORY_HIGH, out -> out.writeLong(bytes)));
        spec.limits().l3CacheMask().ifPresent(masks -> fields.put(L3_CACHE_MASK, out -> writeString(out, masks.format(HEX))));
        spec.limits().memoryBandwidthPercent().ifPresent(percents ->
                fields.put(MEMORY_BANDWIDTH_PERCENT, out -> writeString(out, percents.format(DECIMAL))));
        fields.put(OWNER, out -> writeStrings(out, List.copyOf(owner)));
        if (!labels.isEmpty()) {
            fields.put(LABELS, out -> writeMap(out, labels));
        }
        spec.groups().primary().ifPresent(group -> fields.put(GROUP, out -> writeString(out, group)));
        if (!spec.groups().supplementary().isEmpty()) {
            fields.put(GROUPS, out -> writeStrings(out, spec.groups().supplementary()));
        }
        return fields.bytes();
    }

    private static byte[] statusFields(JobStatus status, Instant stopKillAt) {
        Fields fields = new Fields();
        fields.put(STATE, out -> writeString(out, status.state().name()));
        putInt(fields, PID, status.pid());
        putInt(fields, UID, status.uid());
        putInt(fields, EXIT_CODE, status.exitCode());
        putInt(fields, SIGNAL, status.signal());
        int flags = (status.coreDumped() ? CORE_DUMPED : 0) | (status.oomKilled() ? OOM_KILLED : 0)
                | (status.stoppedByRequest() ? STOPPED_BY_REQUEST : 0);
        fields.put(FLAGS, out -> out.writeByte(flags));
        putInstant(fields, CREATED_AT, status.createdAt());
        putInstant(fields, STARTED_AT, status.startedAt());
        putInstant(fields, ENDED_AT, status.endedAt());
        if (status.usage() != null) {
            fields.put(USAGE, out -> writeAccounting(out, status.usage()));
        }
        if (status.failure() != null) {
            fields.put(FAILURE, out -> writeString(out, status.failure()));
        }
        if (status.outputHeld() != null) {
            fields.put(OUTPUT_HELD, out -> writeString(out, status.outputHeld()));
        }
        putInstant(fields, STOP_KILL_AT, stopKillAt);
        JobControlState control = status.control();
        putInstant(fields, DEADLINE, control.deadline());
        long frozenMillis = control.frozenFor(Instant.now()).toMillis();
        if (frozenMillis > 0) {
            fields.put(FROZEN_FOR_MILLIS, out -> out.writeLong(frozenMillis));
        }
        if (control.endedByDeadline()) {
            fields.put(ENDED_BY_DEADLINE, out -> out.writeByte(1));
        }
        if (status.groups() != null) {
            fields.put(GID, out -> out.writeInt(status.groups().gid()));
            fields.put(SUPPLEMENTARY_GROUPS, out -> {
                out.writeInt(status.groups().supplementary().size());
                for (int gid : status.groups().supplementary()) {
                    out.writeInt(gid);
                }
            });
        }
        return fields.bytes();
    }

    /**
     * The record in {@code file}'s bytes.
     *
     * @throws CorruptRecordException saying in one line what is wrong: not a record, a version this rund cannot read,
     *                                a checksum mismatch, a missing or malformed field
     */
    static JobRecord decode(byte[] file) throws CorruptRecordException {
        if (file.length < HEADER_BYTES + CHECKSUM_BYTES) {
            throw new CorruptRecordException("is " + file.length + " bytes long, shorter than any record (torn or truncated)");
        }
        ByteBuffer in = ByteBuffer.wrap(file);
        byte[] magic = new byte[MAGIC.length];
        in.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new CorruptRecordException("does not start with rund's record magic: not a job record");
        }
        short version = in.getShort();
        if (version != VERSION) {
            throw new CorruptRecordException("has format version " + version + "; this rund reads version " + VERSION);
        }
        int fieldBytes = in.getInt();
        if (fieldBytes < 0 || fieldBytes != file.length - HEADER_BYTES - CHECKSUM_BYTES) {
            throw new CorruptRecordException("announces " + fieldBytes + " bytes of fields but holds "
                    + (file.length - HEADER_BYTES - CHECKSUM_BYTES) + " (torn or truncated)");
        }
        CRC32C crc = new CRC32C();
        crc.update(file, 0, HEADER_BYTES + fieldBytes);
        int stored = ByteBuffer.wrap(file, HEADER_BYTES + fieldBytes, CHECKSUM_BYTES).getInt();
        if (stored != (int) crc.getValue()) {
            throw new CorruptRecordException("fails its CRC32C checksum (torn write or corruption)");
        }
        Map<Integer, ByteBuffer> fields = new HashMap<>();
        while (in.position() < HEADER_BYTES + fieldBytes) {
            int tag = Short.toUnsignedInt(in.getShort());
            int length = in.getInt();
            if (length < 0 || length > HEADER_BYTES + fieldBytes - in.position()) {
                throw new CorruptRecordException("field " + tag + " runs past the end of the record");
            }
            fields.put(tag, in.slice(in.position(), length));
            in.position(in.position() + length);
        }
        try {
            return fromFields(fields);
        } catch (BufferUnderflowException | IllegalArgumentException | DateTimeException e) {
            throw new CorruptRecordException("has a malformed field: " + e);
        }
    }

    private static JobRecord fromFields(Map<Integer, ByteBuffer> fields) throws CorruptRecordException {
        String id = readString(required(fields, ID, "id"));
        String command = readString(required(fields, COMMAND, "command"));
        List<String> args = optional(fields, ARGS).map(JobRecordCodec::readStrings).orElse(List.of());
        Map<String, String> env = optional(fields, ENVIRONMENT).map(JobRecordCodec::readMap).orElse(Map.of());
        Optional<Path> cwd = optional(fields, WORKING_DIRECTORY).map(JobRecordCodec::readString).map(Path::of);
        Optional<String> user = optional(fields, USER).map(JobRecordCodec::readString);
        Limits limits = optional(fields, LIMITS).map(JobRecordCodec::readLimits).orElse(Limits.none());
        if (fields.containsKey(MEMORY_HIGH)) {
            limits = limits.withMemoryHigh(fields.get(MEMORY_HIGH).getLong());
        }
        if (fields.containsKey(L3_CACHE_MASK)) {
            limits = limits.withL3CacheMask(rdtValues(fields.get(L3_CACHE_MASK), HEX));
        }
        if (fields.containsKey(MEMORY_BANDWIDTH_PERCENT)) {
            limits = limits.withMemoryBandwidthPercent(rdtValues(fields.get(MEMORY_BANDWIDTH_PERCENT), DECIMAL));
        }
        Set<String> owner = new HashSet<>(readStrings(required(fields, OWNER, "owner")));
        Map<String, String> labels = optional(fields, LABELS).map(JobRecordCodec::readMap).orElse(Map.of());
        JobState state = JobState.valueOf(readString(required(fields, STATE, "state")));
        int flags = optional(fields, FLAGS).map(b -> (int) b.get()).orElse(0);
        JobStatus status = new JobStatus(id, command, args, state,
                optionalInt(fields, PID), optionalInt(fields, UID), optionalInt(fields, EXIT_CODE), optionalInt(fields, SIGNAL),
                (flags & CORE_DUMPED) != 0, (flags & OOM_KILLED) != 0, (flags & STOPPED_BY_REQUEST) != 0,
                readInstant(required(fields, CREATED_AT, "created-at")),
                optional(fields, STARTED_AT).map(JobRecordCodec::readInstant).orElse(null),
                optional(fields, ENDED_AT).map(JobRecordCodec::readInstant).orElse(null),
                optional(fields, USAGE).map(JobRecordCodec::readAccounting).orElse(null),
                optional(fields, FAILURE).map(JobRecordCodec::readString).orElse(null),
                optional(fields, OUTPUT_HELD).map(JobRecordCodec::readString).orElse(null),
                new JobControlState(optional(fields, DEADLINE).map(JobRecordCodec::readInstant).orElse(null),
                        java.time.Duration.ofMillis(optional(fields, FROZEN_FOR_MILLIS).map(ByteBuffer::getLong).orElse(0L)),
                        null, optional(fields, ENDED_BY_DEADLINE).map(b -> b.get() == 1).orElse(false)), labels,
                readGroups(fields));
        Instant stopKillAt = optional(fields, STOP_KILL_AT).map(JobRecordCodec::readInstant).orElse(null);
        GroupRequest groups = new GroupRequest(optional(fields, GROUP).map(JobRecordCodec::readString),
                optional(fields, GROUPS).map(JobRecordCodec::readStrings).orElse(List.of()));
        return new JobRecord(new JobSpec(command, args, env, cwd, user, limits, labels).withGroups(groups), owner, labels,
                status, stopKillAt);
    }

    /** The groups a job runs with, if its record says them (one written once it ran, by a rund that keeps them). */
    private static JobGroups readGroups(Map<Integer, ByteBuffer> fields) {
        Integer gid = optionalInt(fields, GID);
        if (gid == null) {
            return null;
        }
        List<Integer> supplementary = new ArrayList<>();
        ByteBuffer in = fields.get(SUPPLEMENTARY_GROUPS);
        if (in != null) {
            int count = in.getInt();
            if (count < 0 || count > in.remaining() / Integer.BYTES) {
                throw new IllegalArgumentException("a count of " + count + " groups where " + in.remaining() + " bytes remain");
            }
            for (int i = 0; i < count; i++) {
                supplementary.add(in.getInt());
            }
        }
        return new JobGroups(gid, supplementary);
    }

    private static io.rund.resctrl.DomainValues rdtValues(ByteBuffer field, int radix) throws CorruptRecordException {
        try {
            return io.rund.resctrl.DomainValues.parse(readString(field), radix);
        } catch (IllegalArgumentException e) {
            throw new CorruptRecordException("an Intel RDT setting cannot be read: " + e.getMessage());
        }
    }

    private static ByteBuffer required(Map<Integer, ByteBuffer> fields, int tag, String name) throws CorruptRecordException {
        ByteBuffer value = fields.get(tag);
        if (value == null) {
            throw new CorruptRecordException("lacks its " + name + " field");
        }
        return value;
    }

    private static Optional<ByteBuffer> optional(Map<Integer, ByteBuffer> fields, int tag) {
        return Optional.ofNullable(fields.get(tag));
    }

    private static Integer optionalInt(Map<Integer, ByteBuffer> fields, int tag) {
        ByteBuffer value = fields.get(tag);
        return value == null ? null : value.getInt();
    }

    private static void putInt(Fields fields, int tag, Integer value) {
        if (value != null) {
            fields.put(tag, out -> out.writeInt(value));
        }
    }

    private static void putInstant(Fields fields, int tag, Instant value) {
        if (value != null) {
            fields.put(tag, out -> {
                out.writeLong(value.getEpochSecond());
                out.writeInt(value.getNano());
            });
        }
    }

    private static Instant readInstant(ByteBuffer in) {
        return Instant.ofEpochSecond(in.getLong(), in.getInt());
    }

    private static void writeString(DataOutputStream out, String value) throws IOException {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static String readString(ByteBuffer in) {
        int length = in.getInt();
        if (length < 0 || length > in.remaining()) {
            throw new IllegalArgumentException("a string of " + length + " bytes where " + in.remaining() + " remain");
        }
        String value = new String(in.array(), in.arrayOffset() + in.position(), length, StandardCharsets.UTF_8);
        in.position(in.position() + length);
        return value;
    }

    private static void writeStrings(DataOutputStream out, List<String> values) throws IOException {
        out.writeInt(values.size());
        for (String value : values) {
            writeString(out, value);
        }
    }

    private static List<String> readStrings(ByteBuffer in) {
        int count = count(in);
        List<String> values = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            values.add(readString(in));
        }
        return values;
    }

    private static void writeMap(DataOutputStream out, Map<String, String> map) throws IOException {
        out.writeInt(map.size());
        for (Map.Entry<String, String> entry : map.entrySet()) {
            writeString(out, entry.getKey());
            writeString(out, entry.getValue());
        }
    }

    private static Map<String, String> readMap(ByteBuffer in) {
        int count = count(in);
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            map.put(readString(in), readString(in));
        }
        return map;
    }

    /** An element count, at most one per remaining byte (every element takes at least one): no huge allocation. */
    private static int count(ByteBuffer in) {
        int count = in.getInt();
        if (count < 0 || count > in.remaining()) {
            throw new IllegalArgumentException("a count of " + count + " where " + in.remaining() + " bytes remain");
        }
        return count;
    }

    private static void writeLimits(DataOutputStream out, Limits limits) throws IOException {
        writeOptionals(out, limits.cpuMaxQuotaMicros(), limits.cpuMaxPeriodMicros(), limits.memoryMaxBytes(),
                limits.memorySwapMaxBytes(), limits.pidsMax());
        out.writeInt(limits.io().size());
        for (IoLimit io : limits.io()) {
            out.writeBoolean(io.device().isPresent());
            if (io.device().isPresent()) {
                writeString(out, io.device().get());
            }
            writeOptionals(out, io.rbps(), io.wbps(), io.riops(), io.wiops());
        }
    }

    private static Limits readLimits(ByteBuffer in) {
        OptionalLong[] values = readOptionals(in, 5);
        int ioCount = count(in);
        List<IoLimit> io = new ArrayList<>(ioCount);
        for (int i = 0; i < ioCount; i++) {
            Optional<String> device = in.get() != 0 ? Optional.of(readString(in)) : Optional.empty();
            OptionalLong[] rates = readOptionals(in, 4);
            io.add(new IoLimit(device, rates[0], rates[1], rates[2], rates[3]));
        }
        return new Limits(values[0], values[1], values[2], OptionalLong.empty(), values[3], values[4], io);
    }

    private static void writeAccounting(DataOutputStream out, Accounting usage) throws IOException {
        out.writeLong(usage.cpuUsageMicros());
        out.writeLong(usage.cpuUserMicros());
        out.writeLong(usage.cpuSystemMicros());
        writeOptionals(out, usage.memoryPeakBytes(), usage.memoryCurrentBytes(), usage.ioReadBytes(),
                usage.ioWriteBytes(), usage.pidsCurrent());
    }

    private static Accounting readAccounting(ByteBuffer in) {
        long usage = in.getLong();
        long user = in.getLong();
        long system = in.getLong();
        OptionalLong[] values = readOptionals(in, 5);
        return new Accounting(usage, user, system, values[0], values[1], values[2], values[3], values[4]);
    }

    /** A byte whose bit i says whether value i is present, then the present values. */
    private static void writeOptionals(DataOutputStream out, OptionalLong... values) throws IOException {
        int present = 0;
        for (int i = 0; i < values.length; i++) {
            present |= values[i].isPresent() ? 1 << i : 0;
        }
        out.writeByte(present);
        for (OptionalLong value : values) {
            if (value.isPresent()) {
                out.writeLong(value.getAsLong());
            }
        }
    }

    private static OptionalLong[] readOptionals(ByteBuffer in, int count) {
        int present = in.get();
        OptionalLong[] values = new OptionalLong[count];
        for (int i = 0; i < count; i++) {
            values[i] = (present & (1 << i)) != 0 ? OptionalLong.of(in.getLong()) : OptionalLong.empty();
        }
        return values;
    }

    /** Fields being encoded: each value is written to a scratch buffer, then framed with its tag and length. */
    private static final class Fields {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final DataOutputStream out = new DataOutputStream(bytes);
        private final ByteArrayOutputStream value = new ByteArrayOutputStream();
        private final DataOutputStream valueOut = new DataOutputStream(value);

        interface Writer {
            void write(DataOutputStream out) throws IOException;
        }

        void put(int tag, Writer writer) {
            try {
                value.reset();
                writer.write(valueOut);
                out.writeShort(tag);
                out.writeInt(value.size());
                value.writeTo(out);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot happen: writing to memory", e);
            }
        }

        byte[] bytes() {
            return bytes.toByteArray();
        }
    }
}
