package io.rund.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Lets the connection options ({@link ConnectionOptions}) come before the command as well as after it:
 * {@code rund --addr h:8000 status ID} is read as {@code rund status --addr h:8000 ID}. The options belong to each
 * client command rather than to {@code rund} itself (picocli's inherited options would clash with {@code serve}'s own
 * --addr, --ca, --cert and --key, which mean what it listens on and presents), so the line is reordered before
 * picocli reads it. {@code serve} is left alone: its options of these names are not connection options.
 */
final class ConnectionFlags {

    private static final Set<String> NAMES = Set.of("--addr", "--ca", "--cert", "--key", "--key-passphrase-file");
    private static final String SERVE = "serve";

    private ConnectionFlags() {}

    /** {@code args} with the connection options before the first word moved to just after it, when it names a client command. */
    static String[] afterCommand(String[] args, Predicate<String> isCommand) {
        List<String> leading = new ArrayList<>();
        int i = 0;
        while (i < args.length) {
            String arg = args[i];
            int equals = arg.indexOf('=');
            String name = equals < 0 ? arg : arg.substring(0, equals);
            if (!NAMES.contains(name)) {
                break;
            }
            int width = equals < 0 ? 2 : 1;
            if (i + width > args.length) {
                break;
            }
            leading.addAll(Arrays.asList(args).subList(i, i + width));
            i += width;
        }
        if (leading.isEmpty() || i >= args.length || args[i].equals(SERVE) || !isCommand.test(args[i])) {
            return args;
        }
        List<String> line = new ArrayList<>(args.length);
        line.add(args[i]);
        line.addAll(leading);
        line.addAll(Arrays.asList(args).subList(i + 1, args.length));
        return line.toArray(String[]::new);
    }
}
