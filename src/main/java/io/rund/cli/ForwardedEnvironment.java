package io.rund.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Option;

import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A command's environment and working directory as its front end forwarded them to the CLI agent, whose own differ:
 * option defaults of the form {@code ${env:NAME:-fallback}} are read from the forwarded variables instead of the
 * agent's, and relative paths are resolved against the forwarded directory (so `--key tls/k.pem` and the default
 * tls/ names mean what they mean in the user's shell).
 */
final class ForwardedEnvironment {

    /** picocli's environment lookup in a default: ${env:NAME} or ${env:NAME:-fallback}. */
    private static final Pattern ENV_DEFAULT = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

    private ForwardedEnvironment() {}

    static void apply(CommandLine commandLine, Map<String, String> env, Path cwd) {
        CommandLine.IDefaultValueProvider defaults = argument -> forwardedDefault(argument, env);
        apply(commandLine, defaults);
        commandLine.registerConverter(Path.class, text -> cwd.resolve(text));
    }

    private static void apply(CommandLine commandLine, CommandLine.IDefaultValueProvider defaults) {
        commandLine.setDefaultValueProvider(defaults);
        for (CommandLine subcommand : commandLine.getSubcommands().values()) {
            apply(subcommand, defaults);
        }
    }

    /**
     * The option's annotated default with its environment lookups made in {@code env}; null (picocli then uses the
     * annotation as is) for a default without one. An unset variable without a fallback gives "" for none.
     */
    private static String forwardedDefault(ArgSpec argument, Map<String, String> env) {
        if (!(argument.userObject() instanceof Field field)) {
            return null;
        }
        Option option = field.getAnnotation(Option.class);
        if (option == null || !option.defaultValue().contains("${env:")) {
            return null;
        }
        Matcher lookup = ENV_DEFAULT.matcher(option.defaultValue());
        StringBuilder value = new StringBuilder();
        while (lookup.find()) {
            String set = env.get(lookup.group(1));
            String replacement = set != null ? set : lookup.group(2) != null ? lookup.group(2) : "";
            lookup.appendReplacement(value, Matcher.quoteReplacement(replacement));
        }
        lookup.appendTail(value);
        return value.isEmpty() ? null : value.toString();
    }
}
