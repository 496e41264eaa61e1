package io.rund.api;

/**
 * The CRC-32 of two byte runs one after the other, from the CRC-32 of each and the second's length, without reading
 * the bytes again: zlib's {@code crc32_combine} (arithmetic on polynomials over GF(2) modulo CRC-32's, as in zlib
 * 1.2.12's crc32.c), which the JDK's CRC32 does not offer. A gzip message made of a header and output deflated
 * elsewhere ({@link SharedCompression}) needs it: the output's own CRC-32 came with it, its bytes did not.
 */
final class Crc32Combination {

    /** CRC-32's polynomial, bits reversed. */
    private static final int POLY = 0xedb88320;
    /** x^(2^k) modulo the polynomial, for k = 0..31. */
    private static final int[] X2N = new int[32];

    static {
        int p = 1 << 30; // x^1
        X2N[0] = p;
        for (int k = 1; k < X2N.length; k++) {
            p = multiply(p, p);
            X2N[k] = p;
        }
    }

    private Crc32Combination() {}

    /** The CRC-32 of A followed by B, given A's CRC-32, B's CRC-32 and B's length in bytes. */
    static int combine(int crcA, int crcB, long lengthB) {
        return multiply(xToThe8n(lengthB), crcA) ^ crcB;
    }

    /** a(x) * b(x) modulo the polynomial; a must not be 0 (it never is here: a power of x). */
    private static int multiply(int a, int b) {
        int m = 1 << 31;
        int product = 0;
        while (true) {
            if ((a & m) != 0) {
                product ^= b;
                if ((a & (m - 1)) == 0) {
                    return product;
                }
            }
            m >>>= 1;
            b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
        }
    }

    /** x^(8 * n) modulo the polynomial: n bytes of zeros appended. */
    private static int xToThe8n(long n) {
        int p = 1 << 31; // x^0
        int k = 3; // 8 = 2^3
        while (n != 0) {
            if ((n & 1) != 0) {
                p = multiply(X2N[k & 31], p);
            }
            n >>>= 1;
            k++;
        }
        return p;
    }
}
