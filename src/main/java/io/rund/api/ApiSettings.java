package io.rund.api;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.rund.auth.TlsFiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where and how the API listens, read once from the {@code rund.api} block ({@link #fromConfig}); the serve command's
 * flags are in that block already, with the flag as their origin, so that a bad value is reported under its flag.
 *
 * @param host           interface to bind; empty or "0.0.0.0" / "::" for every interface
 * @param port           TCP port; 0 for any free one (the daemon logs the port it got)
 * @param tls            the server's certificate and key, and the CA that signs client certificates
 * @param logCompression whether Logs compresses shared output once for clients that accept gzip
 */
public record ApiSettings(String host, int port, TlsFiles tls, boolean logCompression) {

    /** Every interface, IPv4 and IPv6. */
    public static final String ANY_HOST = "::";
    private static final int MAX_PORT = 65_535;
    /** A bad value is quoted in errors up to this many characters. */
    private static final int MAX_QUOTED = 80;
    /** The origin typesafe-config gives values substituted from the environment (${?RUND_...}). */
    private static final String ENV_ORIGIN = "env variables";
    private static final String EXPECTED_ADDRESS = "[HOST]:PORT, such as 127.0.0.1:8000, [::1]:8000 or :8000";

    /**
     * The settings of {@code api} (the {@code rund.api} block): address, ca, cert and key (one file each, or lists of
     * the same length, the first preferred) and key-passphrase-file. Throws IllegalArgumentException naming the key.
     */
    public static ApiSettings fromConfig(Config api) {
        String address = api.getString("address");
        int colon = address.lastIndexOf(':');
        if (colon < 0) {
            throw invalid(api, "address", "is not " + EXPECTED_ADDRESS);
        }
        String host = address.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw invalid(api, "address", "has an IPv6 address without brackets: write it as [::1]:8000");
        }
        int port;
        try {
            port = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw invalid(api, "address", "has no port number after the last ':' (" + EXPECTED_ADDRESS + ")");
        }
        if (port < 0 || port > MAX_PORT) {
            throw invalid(api, "address", "has port " + port + ", outside 0-" + MAX_PORT);
        }
        String compression = api.getString("log-compression");
        if (!compression.equals("gzip") && !compression.equals("off")) {
            throw invalid(api, "log-compression", "is neither gzip nor off");
        }
        return new ApiSettings(host, port, tlsFiles(api), compression.equals("gzip"));
    }

    public String bindHost() {
        return host.isEmpty() ? ANY_HOST : host;
    }

    /** HOST:PORT as configured ({@code :PORT} for every interface, IPv6 in brackets), for messages. */
    public String address() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    private static TlsFiles tlsFiles(Config api) {
        List<Path> certs = paths(api, "cert");
        List<Path> keys = paths(api, "key");
        if (certs.isEmpty() || certs.size() != keys.size()) {
            throw new IllegalArgumentException("rund.api.cert and rund.api.key (--cert and --key) must be given in pairs: "
                    + certs.size() + " certificate(s), " + keys.size() + " key(s)");
        }
        List<TlsFiles.CertAndKey> alternates = new ArrayList<>();
        for (int i = 1; i < certs.size(); i++) {
            alternates.add(new TlsFiles.CertAndKey(certs.get(i), keys.get(i)));
        }
        String passphrase = api.getString("key-passphrase-file");
        Path passphraseFile = passphrase.isEmpty() ? null : Path.of(passphrase);
        return new TlsFiles(Path.of(api.getString("ca")), certs.getFirst(), keys.getFirst(), passphraseFile, alternates);
    }

    private static List<Path> paths(Config api, String key) {
        if (api.getValue(key).valueType() == ConfigValueType.LIST) {
            return api.getStringList(key).stream().map(Path::of).toList();
        }
        return List.of(Path.of(api.getString(key)));
    }

    /** One line: the key, its value (quoted, bounded), where it came from (a flag, a file, the environment), and why. */
    private static IllegalArgumentException invalid(Config api, String key, String why) {
        ConfigValue value = api.getValue(key);
        String text = String.valueOf(value.unwrapped());
        String quoted = text.length() <= MAX_QUOTED ? text : text.substring(0, MAX_QUOTED) + "...";
        String origin = value.origin() == null ? ""
                : " (" + (ENV_ORIGIN.equals(value.origin().description()) ? "from the environment" : value.origin().description()) + ")";
        return new IllegalArgumentException("rund.api." + key + " = '" + quoted + "'" + origin + " " + why);
    }
}
