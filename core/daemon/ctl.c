/* core/daemon/ctl.c - the control socket.
 * SPDX-License-Identifier: MIT */
#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

int ctl_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_err("control socket %s: path too long", path);
        return -ENAMETOOLONG;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            log_debug("control socket: cannot make %s: %s", dir,
                      strerror(errno));
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* A socket file left by a tgedd that died is in the way: remove it,
     * unless another tgedd still answers on it. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(fd);
        log_err("control socket %s: another tgedd is listening there", path);
        return -EADDRINUSE;
    }
    unlink(path);
    mode_t old = umask(0117); /* owner and group only */
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || listen(fd, 16) != 0) {
        rc = -errno;
        log_warn("control socket %s: %s (tged --stats will not reach this "
                 "tgedd)",
                 path, strerror(errno));
        close(fd);
        return rc;
    }
    return fd;
}

void ctl_close(int fd, const char *path)
{
    if (fd < 0)
        return;
    close(fd);
    unlink(path);
}

void ctl_handle(int fd, ctl_answer_fn fn, void *arg)
{
    for (;;) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            return;
        /* The client writes its command before it reads: give it a moment,
         * no more. */
        char cmd[128];
        size_t n = 0;
        struct pollfd p = {.fd = c, .events = POLLIN};
        while (n < sizeof(cmd) - 1 && poll(&p, 1, 100) == 1) {
            ssize_t k = read(c, cmd + n, sizeof(cmd) - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            if (memchr(cmd, '\n', n))
                break;
        }
        cmd[n] = '\0';
        char *nl = strchr(cmd, '\n');
        if (nl) {
            *nl = '\0';
            static char out[65536];
            out[0] = '\0';
            fn(cmd, out, sizeof(out), arg);
            size_t len = strlen(out), done = 0;
            struct pollfd w = {.fd = c, .events = POLLOUT};
            while (done < len && poll(&w, 1, 200) == 1) {
                ssize_t k = send(c, out + done, len - done, MSG_NOSIGNAL);
                if (k <= 0)
                    break;
                done += (size_t)k;
            }
        }
        close(c);
    }
}
