/*
 * rund spawn helper: start one job with clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD |
 * CLONE_INTO_CGROUP) and execve. The job is born inside its cgroup (no window outside its limits)
 * and the parent gets a pidfd (no PID reuse races). Java must never run clone3 itself: the child
 * would run JVM code. glibc 2.36 has no clone3 wrapper, hence the small assembly stub below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

#if !defined(__x86_64__)
#error "rund spawn helper: the clone3 stub is written for x86_64 only"
#endif

#define CHILD_STACK_SIZE (64 * 1024) /* the child only makes syscalls: no deep call chains */
#define KERNEL_NSIG 64
#define KERNEL_SIGSET_BYTES 8
#define EXIT_SPAWN_FAILED 127        /* what a shell reports for "could not execute" */
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Which step failed; the Java side (Spawner) maps these numbers to names. Keep in sync. */
enum rund_step { STEP_NONE, STEP_PIPE, STEP_CLONE3, STEP_SETSID, STEP_SETGROUPS, STEP_SETRESGID,
                 STEP_SETRESUID, STEP_NO_NEW_PRIVS, STEP_CHDIR, STEP_OPEN_DEVNULL, STEP_DUP2,
                 STEP_CLOSE_RANGE, STEP_SIGNALS, STEP_EXECVE, STEP_RLIMIT, STEP_RESCTRL };

/* Shared by parent and child (CLONE_VM): the child reports a failure here before exiting. */
struct child_ctx {
    const char *path, *cwd; char *const *argv, *const *envp;
    int uid, gid, ngroups, no_new_privs, stdout_w, stderr_w;
    long nofile_soft; /* the job's soft RLIMIT_NOFILE, or -1 to keep the spawner's */
    int rdt_tasks_fd; /* the job's resctrl group's tasks file, open for writing, or -1 */
    const int *groups;
    volatile int err, step;
};

/* The kernel's struct sigaction (not glibc's): handler, flags, restorer, 64-bit mask. */
struct kernel_sigaction { void *handler; unsigned long flags; void *restorer; uint64_t mask; };

/* long rund_clone3(struct clone_args *args, size_t size, int (*fn)(void *), void *arg)
 * Returns the child's pid or -errno in the parent. The child starts on its own stack with the
 * parent's registers, so fn/arg travel in callee-saved r12/r13; it calls fn and then SYS_exit,
 * never returning into C frames that belong to the (suspended) parent. */
__asm__(".text\n"
        ".globl rund_clone3\n.hidden rund_clone3\n.type rund_clone3,@function\n"
        "rund_clone3:\n"
        "  push %r12\n  push %r13\n"
        "  mov %rdx, %r12\n  mov %rcx, %r13\n"
        "  mov $435, %eax\n" /* SYS_clone3, checked by the _Static_assert below */
        "  syscall\n"
        "  test %rax, %rax\n  jnz 1f\n"
        "  xor %ebp, %ebp\n  mov %r13, %rdi\n  call *%r12\n" /* child: fn(arg) on the new stack */
        "  mov %eax, %edi\n  mov $60, %eax\n  syscall\n  hlt\n" /* SYS_exit(fn's result) */
        "1: pop %r13\n  pop %r12\n  ret\n"
        ".size rund_clone3, .-rund_clone3\n");
__attribute__((visibility("hidden")))
long rund_clone3(struct clone_args *args, size_t size, int (*fn)(void *), void *arg);

_Static_assert(SYS_clone3 == 435, "SYS_clone3 number hard-coded in the stub");

static int fail(struct child_ctx *c, int step) { c->err = errno; c->step = step; return EXIT_SPAWN_FAILED; }

/* Runs in the child, sharing the parent's memory. Raw syscalls only: glibc's set*id wrappers
 * would broadcast to the parent's threads (deadlock), and malloc/stdio locks may be held by a
 * parent thread. syscall() writes errno into the parent thread's TLS, which is harmless: that
 * thread is suspended until we exec or exit and reads our result from the ctx instead. */
static int child_main(void *arg) {
    struct child_ctx *c = arg;
    /* Into the job's Intel RDT group first: "0" names the writer itself, so no pid can be reused in between, and every
     * process the job forks after exec inherits the group. Still as root here: resctrl lets only root (or the task's
     * own user) move a task, and the job's user will not be one. */
    if (c->rdt_tasks_fd >= 0 && syscall(SYS_write, c->rdt_tasks_fd, "0", 1L) != 1) return fail(c, STEP_RESCTRL);
    if (syscall(SYS_setsid) < 0) return fail(c, STEP_SETSID);
    if (c->ngroups >= 0 && syscall(SYS_setgroups, c->ngroups, c->groups) < 0) return fail(c, STEP_SETGROUPS);
    if (c->gid >= 0 && syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0) return fail(c, STEP_SETRESGID);
    if (c->uid >= 0 && syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0) return fail(c, STEP_SETRESUID);
    if (c->no_new_privs && syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0) return fail(c, STEP_NO_NEW_PRIVS);
    /* After the privilege drop, so a job cannot start in a directory its user may not enter. */
    if (c->cwd && syscall(SYS_chdir, c->cwd) < 0) return fail(c, STEP_CHDIR);
    long devnull = syscall(SYS_open, "/dev/null", O_RDONLY);
    if (devnull < 0) return fail(c, STEP_OPEN_DEVNULL);
    /* dup2 clears O_CLOEXEC on the copies; the parent made sure the pipe fds are >= 3. */
    if (syscall(SYS_dup2, devnull, 0) < 0 || syscall(SYS_dup2, c->stdout_w, 1) < 0
        || syscall(SYS_dup2, c->stderr_w, 2) < 0) return fail(c, STEP_DUP2);
    /* Our fd table is a copy (no CLONE_FILES): only the job loses the JVM's descriptors. */
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) return fail(c, STEP_CLOSE_RANGE);
    /* The spawner (a JVM or the keeper) raised its own soft open-file limit to the hard one; a job gets the
     * usual 1024 back (select() breaks above it), as systemd gives its services. Never above the hard limit.
     * Only once the inherited descriptors are closed: the spawner may hold thousands, and a lower limit set
     * before would make opening /dev/null fail with EMFILE (the lowest free fd being above it). */
    if (c->nofile_soft >= 0) {
        struct rlimit limit;
        if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &limit) < 0) return fail(c, STEP_RLIMIT);
        rlim_t soft = (rlim_t)c->nofile_soft < limit.rlim_max ? (rlim_t)c->nofile_soft : limit.rlim_max;
        if (soft != limit.rlim_cur) {
            limit.rlim_cur = soft;
            if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &limit, NULL) < 0) return fail(c, STEP_RLIMIT);
        }
    }
    /* JVM handlers must not survive into the job, nor SIG_IGN dispositions (execve keeps those).
     * Dispositions first, then unblock: no handler can run on this shared memory in between. */
    struct kernel_sigaction dfl = { .handler = SIG_DFL };
    for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        if (syscall(SYS_rt_sigaction, sig, &dfl, NULL, KERNEL_SIGSET_BYTES) < 0) return fail(c, STEP_SIGNALS);
    }
    uint64_t empty = 0;
    if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, KERNEL_SIGSET_BYTES) < 0) return fail(c, STEP_SIGNALS);
    syscall(SYS_execve, c->path, c->argv, c->envp);
    return fail(c, STEP_EXECVE);
}

static void close_if_open(int fd) { if (fd >= 0) close(fd); }

/* One child stack per calling thread, made on its first spawn and unmapped when the thread ends. Reusing it
 * spares every spawn an mmap, its page faults and an munmap, whose TLB shoot-down interrupts every CPU the
 * daemon's threads run on. Safe: CLONE_VFORK suspends the calling thread until its child has exec'd or exited,
 * so one thread's stack never serves two children at once. */
static pthread_key_t stack_key;
static pthread_once_t stack_key_once = PTHREAD_ONCE_INIT;
static int stack_key_error;
static void unmap_stack(void *stack) { munmap(stack, CHILD_STACK_SIZE); }
static void make_stack_key(void) { stack_key_error = pthread_key_create(&stack_key, unmap_stack); }

static void *thread_child_stack(void) {
    if (pthread_once(&stack_key_once, make_stack_key) != 0 || stack_key_error != 0) {
        errno = stack_key_error ? stack_key_error : EAGAIN;
        return MAP_FAILED;
    }
    void *stack = pthread_getspecific(stack_key);
    if (stack != NULL) return stack;
    stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return MAP_FAILED;
    int e = pthread_setspecific(stack_key, stack);
    if (e != 0) { munmap(stack, CHILD_STACK_SIZE); errno = e; return MAP_FAILED; }
    return stack;
}

/* Moves a pipe end above stdio (only if the JVM runs with 0/1/2 closed), keeping O_CLOEXEC. */
static int above_stdio(int fd) {
    if (fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3), saved = errno;
    close(fd);
    errno = saved;
    return moved;
}

int rund_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               int cgroup_fd, int uid, int gid, int ngroups, const int *groups, int no_new_privs,
               long nofile_soft, int rdt_tasks_fd, int *out_pidfd, int *out_stdout, int *out_stderr,
               int *out_err_step) {
    int out[2] = { -1, -1 }, err[2] = { -1, -1 }, pidfd = -1, e;
    *out_err_step = STEP_NONE;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) goto pipe_failed;
    for (int i = 0; i < 2; i++) { out[i] = above_stdio(out[i]); err[i] = above_stdio(err[i]); }
    if (out[0] < 0 || out[1] < 0 || err[0] < 0 || err[1] < 0) goto pipe_failed;

    void *stack = thread_child_stack();
    if (stack == MAP_FAILED) { e = errno; *out_err_step = STEP_CLONE3; goto close_pipes; }
    struct child_ctx ctx = { .path = path, .cwd = cwd, .argv = argv, .envp = envp, .uid = uid,
                             .gid = gid, .ngroups = ngroups, .groups = groups,
                             .no_new_privs = no_new_privs, .nofile_soft = nofile_soft, .rdt_tasks_fd = rdt_tasks_fd, .stdout_w = out[1], .stderr_w = err[1] };
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD; /* a non-SIGCHLD child would need __WCLONE to be waited for */
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = CHILD_STACK_SIZE;
    args.cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0;

    /* Like posix_spawn: no signal handler may run in the child while it shares our memory. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    long pid = rund_clone3(&args, sizeof args, child_main, &ctx);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (pid < 0) { e = (int)-pid; *out_err_step = STEP_CLONE3; goto close_pipes; }
    if (ctx.step != STEP_NONE) { /* the child failed before execve and exited 127: reap it */
        siginfo_t info;
        while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR) {}
        close(pidfd);
        e = ctx.err; *out_err_step = ctx.step;
        goto close_pipes;
    }
    close(out[1]); close(err[1]);
    /* Only the parent's ends are non-blocking: the job keeps ordinary blocking stdout/stderr.
     * F_SETFL on a pipe fd we just created cannot fail; it has no other status flags to keep. */
    (void)fcntl(out[0], F_SETFL, O_NONBLOCK);
    (void)fcntl(err[0], F_SETFL, O_NONBLOCK);
    *out_pidfd = pidfd; *out_stdout = out[0]; *out_stderr = err[0];
    return (int)pid;

pipe_failed:
    e = errno; *out_err_step = STEP_PIPE;
close_pipes:
    for (int i = 0; i < 2; i++) { close_if_open(out[i]); close_if_open(err[i]); }
    return -e;
}
