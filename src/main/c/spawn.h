/* rund's spawn helper (spawn.c), shared by the JVM (through FFM) and the keeper (keeper.c). */
#ifndef RUND_SPAWN_H
#define RUND_SPAWN_H

/* Starts path in cgroup_fd (or -1: the caller's cgroup) as uid/gid (-1: keep) with ngroups groups (-1: keep),
 * no_new_privs, a soft RLIMIT_NOFILE of nofile_soft (-1: keep; never above the hard limit), in the resctrl group whose
 * tasks file rdt_tasks_fd is open for writing (-1: the spawner's group; the child writes itself in before exec),
 * stdin /dev/null and
 * two fresh pipes. Returns the pid and sets the pidfd and the non-blocking pipe read ends; or returns -errno and
 * sets *out_err_step to the step that failed (enum rund_step in spawn.c). */
int rund_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               int cgroup_fd, int uid, int gid, int ngroups, const int *groups, int no_new_privs,
               long nofile_soft, int rdt_tasks_fd, int *out_pidfd, int *out_stdout, int *out_stderr,
               int *out_err_step);

#endif
