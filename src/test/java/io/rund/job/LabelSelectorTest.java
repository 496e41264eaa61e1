package io.rund.job;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Label rules and selectors as Kubernetes has them: each form selects what it says, and errors say where. */
class LabelSelectorTest {

    private static final Map<String, String> WEB_PROD = Map.of("app", "web", "env", "prod", "example.com/team", "a");
    private static final Map<String, String> DB_DEV = Map.of("app", "db", "env", "dev");

    private static boolean selects(String selector, Map<String, String> labels) throws Exception {
        return LabelSelector.parse(selector).matches(labels);
    }

    @Test
    void eachFormSelectsWhatItSays() throws Exception {
        assertTrue(selects("app=web", WEB_PROD));
        assertTrue(selects("app==web", WEB_PROD));
        assertFalse(selects("app=web", DB_DEV));
        assertTrue(selects("app!=web", DB_DEV));
        assertTrue(selects("team!=x", DB_DEV), "!= holds where the key is absent");
        assertTrue(selects("env in (prod, staging)", WEB_PROD));
        assertFalse(selects("env in (prod,staging)", DB_DEV));
        assertFalse(selects("missing in (x)", DB_DEV), "in needs the key");
        assertTrue(selects("env notin (prod)", DB_DEV));
        assertTrue(selects("missing notin (x)", DB_DEV), "notin holds where the key is absent");
        assertTrue(selects("example.com/team", WEB_PROD));
        assertFalse(selects("example.com/team", DB_DEV));
        assertTrue(selects("!example.com/team", DB_DEV));
        assertTrue(selects("app=web,env in (prod),!gone", WEB_PROD));
        assertFalse(selects("app=web,env=dev", WEB_PROD), "comma is AND");
        assertTrue(selects("", DB_DEV), "empty selects all");
        assertTrue(selects("flag=", Map.of("flag", "")), "an empty value is a value");
    }

    @Test
    void parseErrorsNameThePosition() {
        assertEquals(4, position("app web"));
        assertEquals(10, position("env in (a b)"));
        assertEquals(7, position("env in a"));
        assertEquals(0, position("=x"));
        assertEquals(4, position("app=-bad"));
        assertEquals(8, position("app=web,")); // a key was due at the end
        LabelSelector.InvalidSelectorException e = assertThrows(LabelSelector.InvalidSelectorException.class,
                () -> LabelSelector.parse("env inn (a)"));
        assertTrue(e.getMessage().contains("position 4") && e.getMessage().contains("'in'"), e.getMessage());
    }

    private static int position(String selector) {
        return assertThrows(LabelSelector.InvalidSelectorException.class, () -> LabelSelector.parse(selector)).position();
    }

    @Test
    void labelsFollowKubernetesRules() {
        assertTrue(Labels.validate(Map.of("app", "web", "example.com/team", "", "a.b_c-d", "X.1")).isEmpty());
        assertRefused(Map.of("-app", "web"), "labels", "key");
        assertRefused(Map.of("a".repeat(64), "v"), "labels", "at most 63");
        assertRefused(Map.of("Example.com/x", "v"), "labels", "DNS subdomain");
        assertRefused(Map.of("/x", "v"), "labels", "DNS subdomain");
        assertRefused(Map.of("a/b/c", "v"), "labels", "letters, digits");
        assertRefused(Map.of("app", "web!"), "labels[app]", "letters, digits");
        assertRefused(Map.of("app", "v".repeat(64)), "labels[app]", "at most 63");
        assertTrue(Labels.validateCaps(Map.of("a", "b", "c", "d"), 1, 100).orElseThrow().toString().contains("max-count"));
        assertTrue(Labels.validateCaps(Map.of("a", "b", "c", "d"), 2, 3).orElseThrow().toString().contains("max-bytes"));
        assertTrue(Labels.validateCaps(Map.of("a", "b", "c", "d"), 2, 4).isEmpty());
    }

    private static void assertRefused(Map<String, String> labels, String field, String rule) {
        JobError error = Labels.validate(labels).orElseThrow(() -> new AssertionError("accepted " + labels));
        assertEquals(JobError.Kind.INVALID_ARGUMENT, error.kind());
        assertEquals(field, error.field());
        assertTrue(error.toString().contains(rule), error.toString());
    }
}
