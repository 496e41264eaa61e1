/*
 * rund-keeper: the small process that spawns rund's jobs, is their parent, reaps them and holds their pidfds and
 * pipe read ends, so that a daemon that crashes, is killed with -9 or is replaced by a new build neither kills a
 * job nor loses its output or its exit status. One keeper serves one state directory; the daemon starts it
 * (io.rund.linux.Keeper) when none answers, and it outlives the daemon: it forks away from it, calls setsid,
 * becomes a child subreaper (a job's orphaned children are re-parented to it and reaped) and moves into a leaf
 * cgroup of rund's subtree. It listens on a unix stream socket (mode 0600, peers must have its own uid, checked
 * with SO_PEERCRED), serves one daemon connection at a time, and exits by itself once it holds no job and no
 * daemon is connected. Single-threaded: one poll() over the socket, the connection and a signalfd for SIGCHLD.
 *
 * Usage: rund-keeper SOCKET LOCK CGROUP_LEAF
 *   The parent returns (exit 0) once the keeper listens, or if another keeper already holds LOCK (flock);
 *   exit 1 with a line on stderr otherwise. The keeper's stderr is its log.
 *
 * Protocol, version 1. Every message, both ways, is one sendmsg: a 16-byte header then the body; the file
 * descriptors a message carries ride on its first byte (SCM_RIGHTS), so a reader that never reads past the end
 * of a message receives exactly that message's descriptors with it. Integers are native (x86_64: little-endian).
 *   header: u32 length (header + body, at most MAX_MESSAGE), u16 type, u16 fd count, u64 tag
 *           (the daemon's request number; a reply carries its request's tag; EXITED carries 0)
 *   daemon -> keeper
 *     HELLO    (1)  u32 version                                 -> HELLO_OK, then one JOB per held job
 *     SPAWN    (2)  i32 uid, gid, ngroups, no_new_privs; i64 nofile_soft; u32 argc, envc, has_cwd;
 *                   i32 groups[ngroups]; NUL-terminated: job id, path, [cwd], argv[argc], envp[envc];
 *                   fds: 0; 1 = the job's cgroup directory; or 2 = that and the job's resctrl tasks file
 *                   (open for writing: the child writes itself in before exec) -> SPAWNED or SPAWN_FAILED
 *     RELEASE  (3)  NUL-terminated job id: the daemon recorded the job's end and read its output to EOF;
 *                   the keeper closes its descriptors and forgets it -> RELEASED
 *     SHUTDOWN (4)  exit as soon as no job is held (no reply)
 *   keeper -> daemon
 *     HELLO_OK    (101) u32 version, i32 keeper pid, u32 jobs held (that many JOB messages follow)
 *     JOB         (102) an exit record (below); fds: pidfd, stdout read end, stderr read end (the keeper's dups)
 *     SPAWNED     (103) i32 pid; fds: pidfd, stdout read end, stderr read end
 *     SPAWN_FAILED(104) i32 errno, i32 step (enum rund_step in spawn.c; the daemon names the step as before)
 *     EXITED      (105) an exit record, sent when a job ends; kept in the job's record while no daemon is connected
 *     RELEASED    (106) i32 0, ENOENT (no such job) or EBUSY (still running, nothing released); then the job id
 *   exit record: i32 pid, i32 ended (0 running, 1 ended), i32 si_code (CLD_EXITED, CLD_KILLED, CLD_DUMPED),
 *                i32 si_status, i64 seconds, i32 nanoseconds (CLOCK_REALTIME when reaped), NUL-terminated job id
 * A message that is malformed (length, counts, strings, descriptors) drops the connection, never the jobs.
 *
 * Output while no daemon is connected: the keeper holds the pipes' read ends but does not read them, so a job
 * that writes more than a pipe holds (64 KiB by default) blocks in write() until the next daemon reads; no byte
 * is lost and no job dies of SIGPIPE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

#define PROTOCOL_VERSION 1
#define HEADER_BYTES 16
#define MAX_MESSAGE (16u << 20)   /* above a Start's 1 MiB of args and env with their framing */
#define MAX_FDS_PER_MESSAGE 3
#define MAX_JOB_ID 64             /* rund's ids are 26-character ULIDs */
#define SEND_TIMEOUT_SECONDS 10   /* a daemon that takes no reply for this long is dropped, not waited for */
#define FIRST_CONNECTION_SECONDS 30 /* a keeper nobody ever connects to (its daemon died first) leaves */
#define IDLE_POLL_MILLIS 1000

enum { HELLO = 1, SPAWN = 2, RELEASE = 3, SHUTDOWN = 4,
       HELLO_OK = 101, JOB = 102, SPAWNED = 103, SPAWN_FAILED = 104, EXITED = 105, RELEASED = 106 };

struct header { uint32_t length; uint16_t type; uint16_t fds; uint64_t tag; };
_Static_assert(sizeof(struct header) == HEADER_BYTES, "header layout");

struct job {
    char id[MAX_JOB_ID + 1];
    int pid, pidfd, out, err;
    int ended, code, status;
    struct timespec ended_at;
};

static struct job *jobs;
static size_t job_count, job_capacity;
static int conn = -1;
static int shutdown_requested;

/* The message being read from the connection: header first, then the body, never past its end. */
static struct header in_header;
static size_t in_have;            /* bytes of header + body read so far */
static char *in_body;
static size_t in_body_capacity;
static int in_fds[MAX_FDS_PER_MESSAGE];
static int in_fd_count;

static void logf_(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *format, ...) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ rund-keeper[%d]: ", stamp, now.tv_nsec / 1000000, (int)getpid());
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
    fflush(stderr);
}

static void close_quietly(int fd) { if (fd >= 0) close(fd); }

static void drop_incoming_fds(void) {
    for (int i = 0; i < in_fd_count; i++) close(in_fds[i]);
    in_fd_count = 0;
}

static void drop_connection(const char *why) {
    if (conn < 0) return;
    logf_("dropping the daemon's connection: %s (the jobs are kept)", why);
    close(conn);
    conn = -1;
    drop_incoming_fds();
    in_have = 0;
}

/* One message in one sendmsg (blocking, bounded by SO_SNDTIMEO); false if the connection had to be dropped. */
static int send_message(uint16_t type, uint64_t tag, const void *body, size_t body_length, const int *fds, int nfds) {
    if (conn < 0) return 0;
    struct header h = { .length = (uint32_t)(HEADER_BYTES + body_length), .type = type, .fds = (uint16_t)nfds, .tag = tag };
    struct iovec iov[2] = { { &h, HEADER_BYTES }, { (void *)body, body_length } };
    union { char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_MESSAGE)]; struct cmsghdr align; } control;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = body_length ? 2 : 1 };
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
    }
    size_t total = HEADER_BYTES + body_length, sent = 0;
    while (sent < total) {
        ssize_t n = sendmsg(conn, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            char why[96];
            snprintf(why, sizeof why, "send failed: %s", strerror(errno));
            drop_connection(why);
            return 0;
        }
        sent += (size_t)n;
        /* A stream socket may take part of it: send the rest without the descriptors (they went with byte 0). */
        msg.msg_control = NULL;
        msg.msg_controllen = 0;
        size_t skip = (size_t)n;
        while (msg.msg_iovlen > 0 && skip >= msg.msg_iov[0].iov_len) {
            skip -= msg.msg_iov[0].iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen > 0) {
            msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + skip;
            msg.msg_iov[0].iov_len -= skip;
        }
    }
    return 1;
}

/* The exit record of a job: see the protocol above. */
static size_t exit_record(const struct job *j, char *out) {
    size_t at = 0;
    int32_t ints[4] = { j->pid, j->ended, j->code, j->status };
    memcpy(out + at, ints, sizeof ints); at += sizeof ints;
    int64_t seconds = j->ended_at.tv_sec;
    memcpy(out + at, &seconds, sizeof seconds); at += sizeof seconds;
    int32_t nanos = (int32_t)j->ended_at.tv_nsec;
    memcpy(out + at, &nanos, sizeof nanos); at += sizeof nanos;
    size_t id_length = strlen(j->id) + 1;
    memcpy(out + at, j->id, id_length); at += id_length;
    return at;
}
#define EXIT_RECORD_MAX (4 * 4 + 8 + 4 + MAX_JOB_ID + 1)

static struct job *find_job(const char *id) {
    for (size_t i = 0; i < job_count; i++) if (strcmp(jobs[i].id, id) == 0) return &jobs[i];
    return NULL;
}

static void forget_job(struct job *j) {
    close_quietly(j->pidfd); close_quietly(j->out); close_quietly(j->err);
    *j = jobs[--job_count];
}

static void on_hello(uint64_t tag) {
    if (in_header.length - HEADER_BYTES != sizeof(uint32_t)) { drop_connection("malformed HELLO"); return; }
    uint32_t version;
    memcpy(&version, in_body, sizeof version);
    if (version != PROTOCOL_VERSION) {
        logf_("the daemon speaks protocol version %u, this keeper %d: dropping it", version, PROTOCOL_VERSION);
        drop_connection("protocol version mismatch");
        return;
    }
    uint32_t reply[3] = { PROTOCOL_VERSION, (uint32_t)getpid(), (uint32_t)job_count };
    if (!send_message(HELLO_OK, tag, reply, sizeof reply, NULL, 0)) return;
    for (size_t i = 0; i < job_count; i++) {
        char record[EXIT_RECORD_MAX];
        int fds[3] = { jobs[i].pidfd, jobs[i].out, jobs[i].err };
        if (!send_message(JOB, tag, record, exit_record(&jobs[i], record), fds, 3)) return;
    }
}

/* The next NUL-terminated string of [*at, end); NULL if there is none. */
static const char *next_string(const char **at, const char *end) {
    const char *s = *at, *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
    if (nul == NULL) return NULL;
    *at = nul + 1;
    return s;
}

static void on_spawn(uint64_t tag) {
    struct { int32_t uid, gid, ngroups, no_new_privs; int64_t nofile_soft; uint32_t argc, envc, has_cwd; } fixed;
    size_t body_length = in_header.length - HEADER_BYTES;
    if (body_length < sizeof fixed || in_fd_count > 2) { drop_connection("malformed SPAWN"); return; }
    memcpy(&fixed, in_body, sizeof fixed);
    const char *at = in_body + sizeof fixed, *end = in_body + body_length;
    if (fixed.ngroups < -1 || (size_t)(end - at) / sizeof(int32_t) < (size_t)(fixed.ngroups > 0 ? fixed.ngroups : 0)
        || fixed.argc == 0 || (uint64_t)fixed.argc + fixed.envc > body_length || fixed.has_cwd > 1) {
        drop_connection("malformed SPAWN counts");
        return;
    }
    int32_t *groups = NULL;
    if (fixed.ngroups > 0) {
        groups = malloc(sizeof(int32_t) * (size_t)fixed.ngroups);
        if (groups == NULL) { drop_connection("out of memory"); return; }
        memcpy(groups, at, sizeof(int32_t) * (size_t)fixed.ngroups);
        at += sizeof(int32_t) * (size_t)fixed.ngroups;
    }
    char **strings = calloc((size_t)fixed.argc + fixed.envc + 2, sizeof(char *));
    const char *id = next_string(&at, end), *path = next_string(&at, end);
    const char *cwd = fixed.has_cwd ? next_string(&at, end) : NULL;
    int ok = strings != NULL && id != NULL && path != NULL && (!fixed.has_cwd || cwd != NULL)
             && strlen(id) > 0 && strlen(id) <= MAX_JOB_ID;
    for (uint32_t i = 0; ok && i < fixed.argc; i++) ok = (strings[i] = (char *)next_string(&at, end)) != NULL;
    for (uint32_t i = 0; ok && i < fixed.envc; i++)
        ok = (strings[fixed.argc + 1 + i] = (char *)next_string(&at, end)) != NULL;
    if (!ok || at != end) {
        free(groups); free(strings);
        drop_connection("malformed SPAWN strings");
        return;
    }
    int cgroup_fd = in_fd_count >= 1 ? in_fds[0] : -1;
    int rdt_tasks_fd = in_fd_count == 2 ? in_fds[1] : -1;
    int32_t failure[2];
    if (find_job(id) != NULL) {
        failure[0] = EEXIST; failure[1] = 2; /* clone3: the job exists already */
        close_quietly(cgroup_fd); close_quietly(rdt_tasks_fd); in_fd_count = 0;
        free(groups); free(strings);
        send_message(SPAWN_FAILED, tag, failure, sizeof failure, NULL, 0);
        return;
    }
    if (job_count == job_capacity) {
        size_t capacity = job_capacity ? job_capacity * 2 : 64;
        struct job *grown = realloc(jobs, capacity * sizeof *jobs);
        if (grown == NULL) { failure[0] = ENOMEM; failure[1] = 2; goto failed; }
        jobs = grown; job_capacity = capacity;
    }
    int pidfd, out, err, step;
    int pid = rund_spawn(path, strings, strings + fixed.argc + 1, cwd, cgroup_fd, fixed.uid, fixed.gid, fixed.ngroups,
                         groups, fixed.no_new_privs, (long)fixed.nofile_soft, rdt_tasks_fd, &pidfd, &out, &err, &step);
    if (pid < 0) { failure[0] = -pid; failure[1] = step; goto failed; }
    struct job *j = &jobs[job_count++];
    memset(j, 0, sizeof *j);
    strcpy(j->id, id);
    j->pid = pid; j->pidfd = pidfd; j->out = out; j->err = err;
    close_quietly(cgroup_fd); close_quietly(rdt_tasks_fd); in_fd_count = 0;
    free(groups); free(strings);
    int32_t reply = pid;
    int fds[3] = { pidfd, out, err };
    send_message(SPAWNED, tag, &reply, sizeof reply, fds, 3);
    return;
failed:
    close_quietly(cgroup_fd); close_quietly(rdt_tasks_fd); in_fd_count = 0;
    free(groups); free(strings);
    send_message(SPAWN_FAILED, tag, failure, sizeof failure, NULL, 0);
}

static void on_release(uint64_t tag) {
    const char *at = in_body, *end = in_body + (in_header.length - HEADER_BYTES);
    const char *id = next_string(&at, end);
    if (id == NULL || at != end || strlen(id) > MAX_JOB_ID) { drop_connection("malformed RELEASE"); return; }
    char reply[sizeof(int32_t) + MAX_JOB_ID + 1];
    int32_t result = 0;
    struct job *j = find_job(id);
    if (j == NULL) result = ENOENT;
    else if (!j->ended) result = EBUSY;
    else forget_job(j);
    memcpy(reply, &result, sizeof result);
    size_t id_length = strlen(id) + 1;
    memcpy(reply + sizeof result, id, id_length);
    send_message(RELEASED, tag, reply, sizeof result + id_length, NULL, 0);
}

static void dispatch(void) {
    uint64_t tag = in_header.tag;
    if (in_header.type != SPAWN && in_fd_count > 0) { drop_connection("unexpected descriptors"); return; }
    switch (in_header.type) {
    case HELLO: on_hello(tag); break;
    case SPAWN: on_spawn(tag); break;
    case RELEASE: on_release(tag); break;
    case SHUTDOWN:
        if (in_header.length != HEADER_BYTES) { drop_connection("malformed SHUTDOWN"); return; }
        shutdown_requested = 1;
        logf_("asked to exit once it holds no job (%zu held)", job_count);
        break;
    default: drop_connection("unknown message type");
    }
}

/* Reads what the connection has, up to the end of the current message; dispatches each complete message. */
static void read_connection(void) {
    while (conn >= 0) {
        size_t want = in_have < HEADER_BYTES ? HEADER_BYTES - in_have : in_header.length - in_have;
        char *into = in_have < HEADER_BYTES ? (char *)&in_header + in_have : in_body + (in_have - HEADER_BYTES);
        struct iovec iov = { into, want };
        union { char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_MESSAGE)]; struct cmsghdr align; } control;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
        ssize_t n = recvmsg(conn, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            drop_connection(strerror(errno));
            return;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < count; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                if (in_fd_count < MAX_FDS_PER_MESSAGE) in_fds[in_fd_count++] = fd; else close(fd);
            }
        }
        if (msg.msg_flags & MSG_CTRUNC) { drop_connection("too many descriptors"); return; }
        if (n == 0) { drop_connection("the daemon closed it"); return; }
        in_have += (size_t)n;
        if (in_have == HEADER_BYTES) {
            if (in_header.length < HEADER_BYTES || in_header.length > MAX_MESSAGE
                || in_header.fds > MAX_FDS_PER_MESSAGE) {
                drop_connection("bad message length or descriptor count");
                return;
            }
            size_t body = in_header.length - HEADER_BYTES;
            if (body > in_body_capacity) {
                char *grown = realloc(in_body, body);
                if (grown == NULL) { drop_connection("out of memory for a message"); return; }
                in_body = grown; in_body_capacity = body;
            }
        }
        if (in_have >= HEADER_BYTES && in_have == in_header.length) {
            if (in_fd_count != in_header.fds) { drop_connection("descriptor count does not match"); return; }
            in_have = 0;
            dispatch();
            drop_incoming_fds(); /* whatever the handler did not take */
        }
    }
}

/* Reaps every child that has ended: jobs get their exit stamped and reported; others (orphans re-parented to us
 * as subreaper) are only reaped. */
static void reap_children(void) {
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG) < 0) {
            if (errno == EINTR) continue;
            if (errno != ECHILD) logf_("waitid: %s", strerror(errno));
            return;
        }
        if (info.si_pid == 0) return;
        for (size_t i = 0; i < job_count; i++) {
            struct job *j = &jobs[i];
            if (j->pid != info.si_pid || j->ended) continue;
            j->ended = 1; j->code = info.si_code; j->status = info.si_status;
            clock_gettime(CLOCK_REALTIME, &j->ended_at);
            char record[EXIT_RECORD_MAX];
            send_message(EXITED, 0, record, exit_record(j, record), NULL, 0);
            break;
        }
    }
}

static void accept_connection(int listener) {
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) logf_("accept: %s", strerror(errno));
        return;
    }
    struct ucred peer;
    socklen_t length = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0 || peer.uid != geteuid()) {
        logf_("refused a connection from uid %d: only uid %d may connect", (int)peer.uid, (int)geteuid());
        close(fd);
        return;
    }
    if (conn >= 0) {
        logf_("refused a connection from pid %d: another daemon is connected", (int)peer.pid);
        close(fd);
        return;
    }
    struct timeval timeout = { .tv_sec = SEND_TIMEOUT_SECONDS };
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) < 0) {
        logf_("setsockopt(SO_SNDTIMEO): %s", strerror(errno));
        close(fd);
        return;
    }
    conn = fd;
    in_have = 0;
    logf_("daemon pid %d connected; %zu jobs held", (int)peer.pid, job_count);
}

static int write_all(int fd, const char *text) {
    size_t length = strlen(text);
    while (length > 0) {
        ssize_t n = write(fd, text, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        text += n; length -= (size_t)n;
    }
    return 0;
}

/* Becomes a child of a leaf cgroup of rund's subtree, so that stopping the daemon's cgroup leaves us. */
static int enter_cgroup(const char *leaf) {
    if (mkdir(leaf, 0755) < 0 && errno != EEXIST) { logf_("mkdir %s: %s", leaf, strerror(errno)); return -1; }
    char procs[4096];
    if (snprintf(procs, sizeof procs, "%s/cgroup.procs", leaf) >= (int)sizeof procs) { logf_("cgroup path too long"); return -1; }
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_all(fd, "0") < 0) {
        logf_("cannot move into %s: %s", procs, strerror(errno));
        close_quietly(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static int listen_on(const char *path) {
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof address.sun_path) { logf_("socket path too long (max %zu): %s", sizeof address.sun_path - 1, path); return -1; }
    strcpy(address.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) { logf_("socket: %s", strerror(errno)); return -1; }
    /* We hold the lock: a socket file there is a dead keeper's. */
    if (unlink(path) < 0 && errno != ENOENT) { logf_("unlink %s: %s", path, strerror(errno)); close(fd); return -1; }
    mode_t old = umask(0177);
    int bound = bind(fd, (struct sockaddr *)&address, sizeof address);
    umask(old);
    if (bound < 0 || chmod(path, 0600) < 0 || listen(fd, 8) < 0) {
        logf_("cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void raise_open_files(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) < 0) logf_("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    }
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: rund-keeper SOCKET LOCK CGROUP_LEAF\n"); return 2; }
    const char *socket_path = argv[1], *lock_path = argv[2], *leaf = argv[3];
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) { perror("rund-keeper: pipe2"); return 1; }
    pid_t child = fork();
    if (child < 0) { perror("rund-keeper: fork"); return 1; }
    if (child > 0) { /* the daemon waits for this process: tell it whether a keeper listens */
        close(ready[1]);
        char status = 0;
        ssize_t n;
        while ((n = read(ready[0], &status, 1)) < 0 && errno == EINTR) {}
        return n == 1 && status == 'R' ? 0 : 1;
    }
    close(ready[0]);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0) { logf_("open %s: %s", lock_path, strerror(errno)); return 1; }
    if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) { (void)!write(ready[1], "R", 1); return 0; } /* another keeper serves */
        logf_("flock %s: %s", lock_path, strerror(errno));
        return 1;
    }
    if (setsid() < 0) { logf_("setsid: %s", strerror(errno)); return 1; }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) < 0) { logf_("PR_SET_CHILD_SUBREAPER: %s", strerror(errno)); return 1; }
    signal(SIGPIPE, SIG_IGN); /* a daemon gone mid-reply must not take the jobs' keeper with it */
    signal(SIGHUP, SIG_IGN);
    raise_open_files();
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0) { logf_("/dev/null: %s", strerror(errno)); return 1; }
    close(devnull);
    if (enter_cgroup(leaf) < 0) return 1;
    sigset_t child_signal;
    sigemptyset(&child_signal);
    sigaddset(&child_signal, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &child_signal, NULL) < 0) { logf_("sigprocmask: %s", strerror(errno)); return 1; }
    int signals = signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signals < 0) { logf_("signalfd: %s", strerror(errno)); return 1; }
    int listener = listen_on(socket_path);
    if (listener < 0) return 1;
    logf_("listening on %s (protocol %d)", socket_path, PROTOCOL_VERSION);
    if (write_all(ready[1], "R") < 0) { logf_("cannot tell the daemon we listen: %s", strerror(errno)); }
    close(ready[1]);

    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    int ever_connected = 0;
    for (;;) {
        if (job_count == 0 && (shutdown_requested || (conn < 0 && ever_connected))) break;
        if (job_count == 0 && conn < 0 && !ever_connected) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - started.tv_sec >= FIRST_CONNECTION_SECONDS) { logf_("no daemon connected"); break; }
        }
        struct pollfd fds[3] = { { listener, POLLIN, 0 }, { signals, POLLIN, 0 }, { conn, POLLIN, 0 } };
        int n = poll(fds, conn >= 0 ? 3 : 2, ever_connected ? -1 : IDLE_POLL_MILLIS);
        if (n < 0) {
            if (errno == EINTR) continue;
            logf_("poll: %s", strerror(errno));
            return 1;
        }
        if (fds[1].revents) {
            struct signalfd_siginfo drained[8];
            while (read(signals, drained, sizeof drained) > 0) {}
            reap_children();
        }
        if (conn >= 0 && fds[2].revents) read_connection();
        if (fds[0].revents) {
            int had = conn >= 0;
            accept_connection(listener);
            if (!had && conn >= 0) ever_connected = 1;
        }
    }
    unlink(socket_path); /* still under the lock: a successor binds only after taking it */
    logf_("exiting: no job held%s", shutdown_requested ? " (asked to)" : " and no daemon connected");
    return 0;
}
