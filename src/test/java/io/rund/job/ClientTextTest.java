package io.rund.job;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Client text in errors and logs: one line, printable, bounded, and still recognisable. */
class ClientTextTest {

    @Test
    void lineBreaksAndControlCharactersAreEscaped() {
        assertEquals("'nobody\\nINFO forged'", ClientText.quote("nobody\nINFO forged"));
        assertEquals("'a\\r\\tb\\0c\\u001b[31m'", ClientText.quote("a\r\tb\0c\u001b[31m"));
        assertEquals("'x\\u202ey\\u2028z'", ClientText.quote("x\u202ey\u2028z"), "bidi override and line separator");
        assertEquals("'it\\'s'", ClientText.quote("it's"), "the quote itself cannot end the quoted value");
    }

    @Test
    void longInputIsCutAndCounted() {
        String quoted = ClientText.quote("A".repeat(3_000_000));
        assertTrue(quoted.length() < ClientText.MAX_QUOTED_CHARS + 40, quoted.length() + " characters");
        assertTrue(quoted.endsWith("...(2999800 more characters)'"), quoted);
    }

    @Test
    void textBeyondTheBasicPlaneIsKeptWholeAndUnpairedSurrogatesAreEscaped() {
        assertEquals("'caf\u00e9 \ud83d\ude00'", ClientText.quote("caf\u00e9 \ud83d\ude00"));
        assertEquals("'\\ud83d'", ClientText.quote("\ud83d"));
    }

    @Test
    void jobErrorsAreEscapedWhateverBuiltThem() {
        JobError error = JobError.invalid("env[A\nB]", "spawn said: line one\nline two");
        assertFalse(error.toString().contains("\n"), error.toString());
        assertTrue(JobError.invalid("x", "y".repeat(5000)).message().length() <= ClientText.MAX_MESSAGE_CHARS + 40);
    }
}
