package io.rund;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import io.rund.api.ApiSettings;
import io.rund.api.AuditSettings;
import io.rund.api.DoorSettings;
import io.rund.api.RequestLimits;
import io.rund.cluster.ClusterSettings;
import io.rund.job.IdentitySettings;
import io.rund.job.JobSettings;
import io.rund.job.RecordSettings;
import io.rund.logs.LogSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The daemon's configuration, layered: rund's defaults (reference.conf, with application.conf's overrides of its
 * libraries), under the operator's file ({@code rund serve --config FILE} or RUND_CONFIG), which names only what it
 * changes, under the settings the environment sets (RUND_*, named in reference.conf), under JVM system properties.
 * {@link #validate} reads every settings record once before anything starts, so that a bad value fails start with
 * one line naming the key, where it came from and what is allowed, rather than a stack trace.
 */
public final class DaemonConfig {

    /** The environment variable naming the operator's file when {@code --config} is not given. */
    public static final String CONFIG_ENV = "RUND_CONFIG";
    private static final String ROOT = "rund";
    /** The origin typesafe-config gives values substituted from the environment (${?RUND_...}). */
    private static final String ENV_ORIGIN = "env variables";
    /** A dispatcher block takes any of Pekko's executor settings, not only those reference.conf names. */
    private static final String OPEN_BLOCK = "rund.blocking-dispatcher";
    /** A bad value is quoted in the error up to this many characters. */
    private static final int MAX_QUOTED_VALUE = 80;
    private static final Pattern BAD_VALUE_PATH = Pattern.compile("Invalid value at '([^']+)'");
    private static final Pattern WRONG_TYPE_PATH = Pattern.compile("([\\w.\"-]+) has type (\\w+) rather than (\\w+)");

    private DaemonConfig() {}

    /** A setting that cannot be used, said in one line: the key, where it came from, and what is allowed. */
    public static final class InvalidSettingException extends Exception {
        InvalidSettingException(String message) {
            super(message.replace('\n', ' '));
        }
    }

    /** The configuration in effect: {@code file} (else $RUND_CONFIG, else none) over the defaults, the environment over both. */
    public static Config load(Optional<Path> file) throws InvalidSettingException {
        Optional<Path> chosen = file.or(() -> Optional.ofNullable(System.getenv(CONFIG_ENV)).filter(name -> !name.isBlank()).map(Path::of));
        try {
            Config defaults = ConfigFactory.defaultApplication().withFallback(ConfigFactory.defaultReference());
            Config resolvedDefaults = defaults.resolve();
            Config fromOperator = chosen.isPresent() ? operatorFile(chosen.get(), resolvedDefaults) : ConfigFactory.empty();
            return ConfigFactory.defaultOverrides()
                    .withFallback(fromEnvironment(resolvedDefaults))
                    .withFallback(fromOperator)
                    .withFallback(defaults)
                    .resolve();
        } catch (ConfigException e) {
            throw new InvalidSettingException("invalid configuration: " + e.getMessage());
        }
    }

    /** Reads every settings record from {@code root}, as the daemon will, and reports the first value it cannot use. */
    public static void validate(Config root) throws InvalidSettingException {
        try {
            Config rund = root.getConfig(ROOT);
            JobSettings.fromConfig(rund);
            LogSettings.fromConfig(rund.getConfig("logs"));
            RecordSettings.fromConfig(rund);
            IdentitySettings.fromConfig(rund);
            DoorSettings.fromConfig(root);
            RequestLimits.fromConfig(root.getConfig("rund.api"));
            root.getString("rund.cgroup.root");
            root.getDuration("rund.api.ask-margin");
            if (root.getBytes("rund.api.max-list-reply-bytes") <= 0) {
                throw new IllegalArgumentException("rund.api.max-list-reply-bytes must be above 0");
            }
            ApiSettings.fromConfig(root.getConfig("rund.api")); // address, ca, cert and key (one each, or lists), passphrase
            root.getBoolean("rund.api.insecure-example-keys");
            AuditSettings.fromConfig(rund);
            ClusterSettings.fromConfig(rund);
            if (!root.getDuration("rund.stats.min-interval").isPositive()) {
                throw new IllegalArgumentException("rund.stats.min-interval must be above 0");
            }
            io.rund.metrics.MetricsSettings.fromConfig(rund.getConfig("metrics"));
            io.rund.api.ControlSettings.fromConfig(rund);
            io.rund.job.LabelSettings.fromConfig(rund);
            io.rund.job.EventSettings.fromConfig(rund);
            io.rund.job.LiveEventSettings.fromConfig(rund);
        } catch (ConfigException e) {
            throw new InvalidSettingException(describe(root, e));
        } catch (IllegalArgumentException e) {
            // The settings records' own checks name the key and the bound they want.
            throw new InvalidSettingException("invalid setting: " + e.getMessage());
        }
    }

    /** The {@code rund} block in effect, keys sorted, as HOCON (or JSON), without comments. */
    public static String render(Config root, boolean json) {
        ConfigRenderOptions options = ConfigRenderOptions.defaults().setOriginComments(false).setComments(false).setJson(json);
        return json
                ? root.getConfig(ROOT).root().render(options)
                : ConfigFactory.empty().withValue(ROOT, root.getValue(ROOT)).root().render(options);
    }

    private static Config operatorFile(Path file, Config defaults) throws InvalidSettingException {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new InvalidSettingException("cannot read the configuration file " + file + " (--config or " + CONFIG_ENV
                    + "): it is missing, not a regular file, or not readable");
        }
        Config parsed = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
        if (parsed.hasPath(ROOT)) {
            for (Map.Entry<String, ConfigValue> entry : parsed.getConfig(ROOT).entrySet()) {
                String key = ROOT + "." + entry.getKey();
                if (!defaults.hasPathOrNull(key) && !key.startsWith(OPEN_BLOCK + ".")) {
                    throw new InvalidSettingException("unknown setting " + key + " (" + where(entry.getValue().origin())
                            + "): no such setting; `rund serve --print-config` lists them all");
                }
            }
        }
        return parsed;
    }

    /** The rund settings the environment set through reference.conf's ${?RUND_...} substitutions, as a layer of their own. */
    private static Config fromEnvironment(Config resolvedDefaults) {
        Config layer = ConfigFactory.empty();
        for (Map.Entry<String, ConfigValue> entry : resolvedDefaults.getConfig(ROOT).entrySet()) {
            if (ENV_ORIGIN.equals(entry.getValue().origin().description())) {
                layer = layer.withValue(ROOT + "." + entry.getKey(), entry.getValue());
            }
        }
        return layer;
    }

    /**
     * One line for a value typesafe-config could not read. Its message names the key relative to the block the
     * settings record read; the full key is the one in the rund block with that ending and the bad value's origin.
     */
    private static String describe(Config root, ConfigException e) {
        String message = e.getMessage();
        Matcher badValue = BAD_VALUE_PATH.matcher(message);
        Matcher wrongType = WRONG_TYPE_PATH.matcher(message);
        String relative = badValue.find() ? badValue.group(1) : wrongType.find() ? wrongType.group(1) : null;
        Optional<String> key = relative == null ? Optional.empty() : fullKey(root, relative, e.origin());
        if (key.isEmpty()) {
            return "invalid setting: " + message;
        }
        ConfigValue value = root.getValue(key.get());
        return "invalid setting " + key.get() + " = " + bounded(value.render(ConfigRenderOptions.concise()))
                + " (" + where(value.origin()) + "): expected " + allowed(message);
    }

    private static Optional<String> fullKey(Config root, String relative, ConfigOrigin origin) {
        List<String> candidates = root.getConfig(ROOT).entrySet().stream()
                .map(entry -> ROOT + "." + entry.getKey())
                .filter(key -> key.equals(ROOT + "." + relative) || key.endsWith("." + relative))
                .toList();
        if (candidates.size() > 1 && origin != null) {
            List<String> sameOrigin = candidates.stream()
                    .filter(key -> root.getValue(key).origin().description().equals(origin.description()))
                    .toList();
            candidates = sameOrigin.isEmpty() ? candidates : sameOrigin;
        }
        return candidates.size() == 1 ? Optional.of(candidates.getFirst()) : Optional.empty();
    }

    /** What a reader of the value wanted, from typesafe-config's words for it. */
    private static String allowed(String message) {
        if (message.contains("duration") || message.contains("time unit")) {
            return "a duration such as 500ms, 10s, 5m or 24h";
        }
        if (message.contains("size-in-bytes") || message.contains("size unit")) {
            return "a size such as 4096, 512 KiB, 64 MiB or 4 GiB";
        }
        if (message.contains("rather than NUMBER")) {
            return "a number";
        }
        if (message.contains("rather than BOOLEAN")) {
            return "on or off";
        }
        if (message.contains("rather than LIST")) {
            return "a list such as [\"a\", \"b\"]";
        }
        if (message.contains("rather than OBJECT")) {
            return "a block { ... }";
        }
        return "another value: " + message;
    }

    private static String where(ConfigOrigin origin) {
        if (origin == null) {
            return "unknown origin";
        }
        if (ENV_ORIGIN.equals(origin.description())) {
            return "from the environment";
        }
        if (origin.filename() != null) {
            return origin.filename() + (origin.lineNumber() > 0 ? ":" + origin.lineNumber() : "");
        }
        return origin.description();
    }

    private static String bounded(String text) {
        return text.length() <= MAX_QUOTED_VALUE ? text : text.substring(0, MAX_QUOTED_VALUE) + "...";
    }
}
