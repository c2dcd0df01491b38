/* plugins/pipe/spawn.c - starting, signalling and reaping the programs.
 *
 * posix_spawn, because tgedd has threads: nothing of ours runs between
 * fork and exec. The program gets a process group of its own (so that
 * killing it kills what it started, and a terminal's ^C does not reach
 * it), an empty signal mask and default signal actions (tgedd's threads
 * block SIGHUP, SIGTERM, SIGINT and SIGUSR1 and ignore SIGPIPE; exec would
 * pass that on), and no descriptor of tgedd's but its three.
 *
 * SPDX-License-Identifier: MIT
 */
#include "pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A descriptor above the standard ones, so that the dup2()s onto 0 and 1
 * in the child cannot overwrite each other. */
static int above_std(int fd)
{
    if (fd > 2)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return n;
}

static int make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    p[0] = above_std(p[0]);
    p[1] = above_std(p[1]);
    if (p[0] < 0 || p[1] < 0) {
        int e = errno;
        if (p[0] >= 0)
            close(p[0]);
        if (p[1] >= 0)
            close(p[1]);
        return -e;
    }
    return 0;
}

int proc_spawn(const struct pipe_settings *s, pid_t *pid, int *in_fd,
               int *out_fd)
{
    int in[2], out[2], rc;
    if ((rc = make_pipe(in)))
        return rc;
    if ((rc = make_pipe(out))) {
        close(in[0]);
        close(in[1]);
        return rc;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    /* Descriptors other code of tgedd opened without O_CLOEXEC. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawn_file_actions_addchdir_np(&fa, s->dir[0] ? s->dir : "/");
    sigset_t none, dflt;
    sigemptyset(&none);
    sigfillset(&dflt);
    sigdelset(&dflt, SIGKILL);
    sigdelset(&dflt, SIGSTOP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
    rc = posix_spawn(pid, s->argv[0], &fa, &at, s->argv, s->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[0]);
    close(out[1]);
    if (rc) {
        close(in[1]);
        close(out[0]);
        return -rc;
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    *in_fd = in[1];
    *out_fd = out[0];
    return 0;
}

ssize_t proc_write(int fd, const char *buf, size_t len)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    size_t done = 0;
    ssize_t rc = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            if (n < 0 && errno != EAGAIN)
                rc = -errno;
            break;
        }
    }
    if (rc == -EPIPE) {
        /* The SIGPIPE this write raised is pending on this thread: take it
         * before unblocking. */
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc < 0 ? rc : (ssize_t)done;
}

int proc_exited(pid_t pid)
{
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
            return si.si_pid == pid;
        if (errno != EINTR)
            return -1;
    }
}

int proc_kill(pid_t pid, int sig)
{
    if (pid <= 0)
        return -ESRCH;
    return kill(-pid, sig) == 0 ? 0 : -errno;
}

void proc_reap(pid_t pid, char *buf, size_t len)
{
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r != pid)
        snprintf(buf, len, "ended (its exit status was collected elsewhere)");
    else if (WIFEXITED(st))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) {
        const char *name = sigabbrev_np(WTERMSIG(st));
        snprintf(buf, len, "was killed by signal %d (SIG%s)", WTERMSIG(st),
                 name ? name : "?");
    } else
        snprintf(buf, len, "ended");
}
