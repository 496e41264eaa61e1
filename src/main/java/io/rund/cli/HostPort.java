package io.rund.cli;

/**
 * An address as the CLI takes it: {@code host:port}, {@code [v6-address]:port}, or {@code :port} (no host: the
 * server listens on every interface, a client dials localhost).
 */
public record HostPort(String host, int port) {

    private static final int MAX_PORT = 65_535;

    /** {@code option} names the flag in error messages. */
    public static HostPort parse(String option, String text) throws CliException {
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw new CliException(ExitCodes.USAGE, option + ": '" + text + "' is not HOST:PORT (for example localhost:8000 or :8000)");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new CliException(ExitCodes.USAGE, option + ": write an IPv6 address in brackets, as [::1]:8000, not '" + text + "'");
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new CliException(ExitCodes.USAGE, option + ": '" + text.substring(colon + 1) + "' is not a port number");
        }
        if (port < 1 || port > MAX_PORT) {
            throw new CliException(ExitCodes.USAGE, option + ": port " + port + " is outside 1-" + MAX_PORT);
        }
        return new HostPort(host, port);
    }

    public boolean anyHost() {
        return host.isEmpty();
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
