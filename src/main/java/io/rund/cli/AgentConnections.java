package io.rund.cli;

import io.rund.auth.TlsFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CLI agent's open connections, one per distinct address and TLS files, so a command skips the JVM start, the PEM
 * parsing and the TLS handshake. A connection is reused only while every file it was made from is the same file
 * (device, inode) unchanged (size, modification and change time, so a chmod counts): a changed, replaced or
 * re-permissioned CA, certificate or key is read again and checked as a fresh command would. Connections older than
 * {@link #MAX_AGE} are made anew, so a long-lived agent re-checks the server's certificate too.
 */
final class AgentConnections {

    /** How long one connection (and its server certificate check) serves commands. */
    static final Duration MAX_AGE = Duration.ofMinutes(5);
    /** Distinct identities/servers kept open at once; the oldest goes first. */
    private static final int MAX_OPEN = 8;

    private static volatile AgentConnections installed;

    /** One kept connection: what it was made from and when. */
    private record Kept(RundClient client, long madeNanos) {}

    private final Map<List<Object>, Kept> open = new LinkedHashMap<>();

    /** The pool {@link ConnectionOptions#connect} uses, or null outside the agent. */
    static AgentConnections installed() {
        return installed;
    }

    static void install(AgentConnections connections) {
        installed = connections;
    }

    /**
     * A connection for {@code address} with {@code tls}: a kept one if its files are unchanged, else a new one (kept
     * for the next command). A file that cannot be examined gets a connection of its own, which reports it as usual.
     */
    RundClient connect(HostPort address, TlsFiles tls) throws CliException {
        List<Object> identity = identity(address, tls);
        if (identity == null) {
            return RundClient.connect(address, tls);
        }
        synchronized (this) {
            Kept kept = open.get(identity);
            if (kept != null && System.nanoTime() - kept.madeNanos() < MAX_AGE.toNanos()) {
                return kept.client();
            }
            if (kept != null) {
                open.remove(identity);
                kept.client().closeShared();
            }
        }
        RundClient client = RundClient.connect(address, tls).shareable();
        synchronized (this) {
            Kept previous = open.put(identity, new Kept(client, System.nanoTime()));
            if (previous != null) {
                previous.client().closeShared();
            }
            while (open.size() > MAX_OPEN) {
                var oldest = open.entrySet().iterator().next();
                open.remove(oldest.getKey());
                oldest.getValue().client().closeShared();
            }
        }
        return client;
    }

    /** Forgets (and closes) every kept connection: after a command failed to connect, or was refused. */
    synchronized void forgetAll() {
        for (Kept kept : open.values()) {
            kept.client().closeShared();
        }
        open.clear();
    }

    synchronized int size() {
        return open.size();
    }

    /** The address and, for each file, its absolute path, device, inode, size, mtime and ctime; null if one is unreadable. */
    private static List<Object> identity(HostPort address, TlsFiles tls) {
        List<Object> identity = new ArrayList<>();
        identity.add(address.toString());
        for (Path file : new Path[] {tls.ca(), tls.cert(), tls.key(), tls.keyPassphraseFile()}) {
            if (file == null) {
                identity.add("none");
                continue;
            }
            try {
                Map<String, Object> attributes = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime,ctime,mode");
                identity.add(file.toAbsolutePath().toString());
                identity.add(attributes.get("dev"));
                identity.add(attributes.get("ino"));
                identity.add(attributes.get("size"));
                identity.add(attributes.get("lastModifiedTime"));
                identity.add(attributes.get("ctime"));
                identity.add(attributes.get("mode"));
            } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
                return null;
            }
        }
        return identity;
    }
}
