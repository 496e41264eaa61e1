package io.rund.api;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * The version and git commit this rund was built from, and the response headers that tell every client the server's
 * (so {@code rund version} can print both sides without an RPC of its own). Read once: the jar's manifest for the
 * version, the file the build writes beside the classes for the commit. No Pekko types here: the CLI loads this too.
 */
public final class BuildVersion {

    /** Response header naming the server's version on every reply. */
    public static final String VERSION_HEADER = "rund-version";
    /** Response header naming the git commit the server was built from on every reply. */
    public static final String COMMIT_HEADER = "rund-commit";

    /** Written by the build (pom.xml, execution build-commit): HEAD, "-dirty" for a changed work tree. */
    private static final String COMMIT_RESOURCE = "/io/rund/cli/build-commit.txt";
    private static final String UNKNOWN = "unknown";
    private static final String DEVELOPMENT = "(development build)";

    private static final String VERSION = readVersion();
    private static final String COMMIT = readCommit();

    private BuildVersion() {}

    /** The jar's Implementation-Version, or "(development build)" when run from classes. */
    public static String version() {
        return VERSION;
    }

    /** The commit id, with "-dirty" if the work tree had changes, or "unknown" outside a git checkout. */
    public static String commit() {
        return COMMIT;
    }

    private static String readVersion() {
        String version = BuildVersion.class.getPackage().getImplementationVersion();
        return version == null ? DEVELOPMENT : version;
    }

    private static String readCommit() {
        try (InputStream in = BuildVersion.class.getResourceAsStream(COMMIT_RESOURCE)) {
            return in == null ? UNKNOWN : new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            return UNKNOWN;
        }
    }
}
