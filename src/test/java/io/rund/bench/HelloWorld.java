package io.rund.bench;

/** The floor of a JVM command-line tool: a fresh JVM that prints one line and exits. */
public final class HelloWorld {

    private HelloWorld() {}

    public static void main(String[] args) {
        System.out.println("hello, world");
    }
}
