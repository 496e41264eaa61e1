/*
 * rund-cli: bin/rund's front end for client commands when the per-user CLI agent (io.rund.cli.CliAgent) runs. A C
 * program starts in about a millisecond where a JVM takes tens: it forwards the command line, the working directory,
 * the RUND_* environment and whether stdin and stdout are a terminal over the agent's Unix socket, copies the framed
 * stdout and stderr bytes it gets back to its own, and exits with the command's exit code. SIGINT, SIGTERM and SIGHUP
 * are forwarded (the agent runs the command's interrupt hooks: `rund run` stops its job), and an output closed by its
 * reader is reported so the command ends as it would on SIGPIPE. When no agent answers, or the agent declines, the
 * command runs in a JVM of its own: the fallback command line bin/rund gives.
 *
 * usage: rund-cli SOCKET N FALLBACK-WORD-1 .. FALLBACK-WORD-N [COMMAND ARGS...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAGIC 0x524e4431u
#define FLAG_TERMINAL 1u
#define EXIT_FAILURE_CODE 125
#define FRAME_HEADER 5
#define BUFFER_BYTES 65536
/* A refused socket older than this is a dead agent's; a younger one may be between an agent's bind and listen. */
#define STALE_SOCKET_SECONDS 10

extern char **environ;

static int signal_pipe[2] = {-1, -1};

static void on_signal(int signo) {
    unsigned char byte = (unsigned char)signo;
    int saved = errno;
    if (write(signal_pipe[1], &byte, 1) < 0) {
        /* Nothing to do in a handler. */
    }
    errno = saved;
}

/* The fallback: the command in a JVM of its own. Only returns if exec fails. */
static int fallback(int fallback_words, char **fallback_argv, int argc, char **args) {
    char **line = calloc((size_t)fallback_words + (size_t)argc + 1, sizeof(char *));
    if (line == NULL) {
        return EXIT_FAILURE_CODE;
    }
    for (int i = 0; i < fallback_words; i++) line[i] = fallback_argv[i];
    for (int i = 0; i < argc; i++) line[fallback_words + i] = args[i];
    execv(line[0], line);
    fprintf(stderr, "rund: cannot run %s: %s\n", line[0], strerror(errno));
    return EXIT_FAILURE_CODE;
}

struct buffer {
    char *bytes;
    size_t length;
    size_t capacity;
};

static int put(struct buffer *b, const void *bytes, size_t length) {
    if (b->length + length > b->capacity) {
        size_t capacity = (b->capacity + length) * 2;
        char *grown = realloc(b->bytes, capacity);
        if (grown == NULL) return -1;
        b->bytes = grown;
        b->capacity = capacity;
    }
    memcpy(b->bytes + b->length, bytes, length);
    b->length += length;
    return 0;
}

static int put_u32(struct buffer *b, uint32_t value) {
    unsigned char bytes[4] = {(unsigned char)(value >> 24), (unsigned char)(value >> 16), (unsigned char)(value >> 8),
                              (unsigned char)value};
    return put(b, bytes, 4);
}

static int put_string(struct buffer *b, const char *text) {
    size_t length = strlen(text);
    return put_u32(b, (uint32_t)length) || put(b, text, length);
}

static int write_all(int fd, const void *bytes, size_t length) {
    const char *at = bytes;
    while (length > 0) {
        ssize_t written = write(fd, at, length);
        if (written < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        at += written;
        length -= (size_t)written;
    }
    return 0;
}

static int read_all(int fd, void *bytes, size_t length) {
    char *at = bytes;
    while (length > 0) {
        ssize_t got = read(fd, at, length);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (got == 0) return 1;
        at += got;
        length -= (size_t)got;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: rund-cli SOCKET N FALLBACK... [ARGS...]\n");
        return 119;
    }
    const char *path = argv[1];
    int fallback_words = atoi(argv[2]);
    if (fallback_words < 1 || fallback_words > argc - 3) {
        fprintf(stderr, "rund-cli: bad fallback word count %s\n", argv[2]);
        return 119;
    }
    char **fallback_argv = argv + 3;
    char **args = argv + 3 + fallback_words;
    int arg_count = argc - 3 - fallback_words;

    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(address.sun_path)) return fallback(fallback_words, fallback_argv, arg_count, args);
    strcpy(address.sun_path, path);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return fallback(fallback_words, fallback_argv, arg_count, args);
    if (connect(sock, (struct sockaddr *)&address, sizeof(address)) < 0) {
        struct stat socket_file;
        if (errno == ECONNREFUSED && stat(path, &socket_file) == 0 && time(NULL) - socket_file.st_mtime > STALE_SOCKET_SECONDS) {
            /* A dead agent's socket (not one an agent is binding right now): remove it, so the next command starts a
             * new agent. */
            unlink(path);
        }
        close(sock);
        return fallback(fallback_words, fallback_argv, arg_count, args);
    }

    struct buffer request = {0};
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        close(sock);
        return fallback(fallback_words, fallback_argv, arg_count, args);
    }
    uint32_t flags = (isatty(0) && isatty(1)) ? FLAG_TERMINAL : 0;
    int failed = put_u32(&request, MAGIC) || put_u32(&request, flags) || put_string(&request, cwd)
                 || put_u32(&request, (uint32_t)arg_count);
    for (int i = 0; i < arg_count && !failed; i++) failed = put_string(&request, args[i]);
    uint32_t env_count = 0;
    for (char **e = environ; *e != NULL; e++) env_count += strncmp(*e, "RUND_", 5) == 0;
    failed = failed || put_u32(&request, env_count);
    for (char **e = environ; *e != NULL && !failed; e++) {
        if (strncmp(*e, "RUND_", 5) == 0) failed = put_string(&request, *e);
    }
    if (failed || write_all(sock, request.bytes, request.length) < 0) {
        close(sock);
        return fallback(fallback_words, fallback_argv, arg_count, args);
    }
    free(request.bytes);

    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) return EXIT_FAILURE_CODE;
    struct sigaction action = {.sa_handler = on_signal};
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    int output_open[3] = {0, 1, 1};
    int first_frame = 1;
    char *payload = malloc(BUFFER_BYTES);
    size_t payload_capacity = BUFFER_BYTES;
    if (payload == NULL) return EXIT_FAILURE_CODE;
    struct pollfd watched[2] = {{.fd = sock, .events = POLLIN}, {.fd = signal_pipe[0], .events = POLLIN}};
    for (;;) {
        if (poll(watched, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return EXIT_FAILURE_CODE;
        }
        if (watched[1].revents & POLLIN) {
            unsigned char signo;
            while (read(signal_pipe[0], &signo, 1) == 1) {
                unsigned char frame[2] = {'I', signo};
                if (write_all(sock, frame, 2) < 0) return 128 + signo;
            }
        }
        if (!(watched[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        unsigned char header[FRAME_HEADER];
        int status = read_all(sock, header, 1);
        if (status == 0 && header[0] == 'f' && first_frame) {
            unsigned char rest[4];
            read_all(sock, rest, 4);
            close(sock);
            return fallback(fallback_words, fallback_argv, arg_count, args);
        }
        if (status == 0) status = read_all(sock, header + 1, 4);
        if (status != 0) {
            fprintf(stderr, "rund: the rund agent (%s) closed the connection before the command ended; RUND_AGENT=off runs commands without it\n", path);
            return EXIT_FAILURE_CODE;
        }
        first_frame = 0;
        uint32_t length = ((uint32_t)header[1] << 24) | ((uint32_t)header[2] << 16) | ((uint32_t)header[3] << 8) | header[4];
        if (length > payload_capacity) {
            char *grown = realloc(payload, length);
            if (grown == NULL) return EXIT_FAILURE_CODE;
            payload = grown;
            payload_capacity = length;
        }
        if (read_all(sock, payload, length) != 0) {
            fprintf(stderr, "rund: the rund agent (%s) closed the connection before the command ended; RUND_AGENT=off runs commands without it\n", path);
            return EXIT_FAILURE_CODE;
        }
        if (header[0] == 'x' && length == 4) {
            unsigned char *code = (unsigned char *)payload;
            return (int)(((uint32_t)code[0] << 24) | ((uint32_t)code[1] << 16) | ((uint32_t)code[2] << 8) | code[3]);
        }
        int fd = header[0] == 'o' ? 1 : header[0] == 'e' ? 2 : -1;
        if (fd < 0 || !output_open[fd]) continue;
        if (write_all(fd, payload, length) < 0) {
            output_open[fd] = 0;
            unsigned char frame[2] = {'C', (unsigned char)fd};
            if (write_all(sock, frame, 2) < 0) return EXIT_FAILURE_CODE;
        }
    }
}
