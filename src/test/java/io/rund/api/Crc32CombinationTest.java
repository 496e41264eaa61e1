package io.rund.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/** The combined CRC-32 of two parts is the JDK's CRC-32 of both, for every kind of split. */
class Crc32CombinationTest {

    @Test
    void combiningThePartsGivesTheCrcOfTheWhole() {
        SplittableRandom random = new SplittableRandom(5);
        byte[] bytes = new byte[300_000];
        random.nextBytes(bytes);
        int[] splits = {0, 1, 17, 65_535, 65_536, 299_999, 300_000};
        for (int split : splits) {
            assertCombines(bytes, split);
        }
        for (int i = 0; i < 200; i++) {
            assertCombines(bytes, random.nextInt(bytes.length + 1));
        }
    }

    private static void assertCombines(byte[] bytes, int split) {
        CRC32 a = new CRC32();
        a.update(bytes, 0, split);
        CRC32 b = new CRC32();
        b.update(bytes, split, bytes.length - split);
        CRC32 whole = new CRC32();
        whole.update(bytes);
        assertEquals((int) whole.getValue(),
                Crc32Combination.combine((int) a.getValue(), (int) b.getValue(), bytes.length - split), "split at " + split);
    }
}
