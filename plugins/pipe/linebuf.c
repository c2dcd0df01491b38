/* plugins/pipe/linebuf.c - bounded lines from a program's output.
 * SPDX-License-Identifier: MIT */
#include "linebuf.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t pipe_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void linebuf_reset(struct linebuf *lb)
{
    lb->start = lb->end = 0;
}

/* A whole line among the bytes held, or a line too long to ever be one. */
static int take(struct linebuf *lb, const char **line, size_t *len)
{
    char *s = lb->buf + lb->start;
    size_t n = lb->end - lb->start;
    size_t scan = n < PIPE_MAX_LINE ? n : PIPE_MAX_LINE;
    char *lf = memchr(s, '\n', scan);
    if (lf) {
        *line = s;
        *len = (size_t)(lf - s);
        lb->start += *len + 1;
        if (lb->start == lb->end)
            lb->start = lb->end = 0;
        return LINEBUF_LINE;
    }
    if (n >= PIPE_MAX_LINE) {
        *line = s;
        *len = n;
        return LINEBUF_LONG;
    }
    return LINEBUF_WAIT;
}

int linebuf_next(struct linebuf *lb, int fd, int64_t deadline_ms,
                 const char **line, size_t *len)
{
    for (;;) {
        int r = take(lb, line, len);
        if (r != LINEBUF_WAIT)
            return r;
        if (lb->start > 0) {
            memmove(lb->buf, lb->buf + lb->start, lb->end - lb->start);
            lb->end -= lb->start;
            lb->start = 0;
        }
        ssize_t got = read(fd, lb->buf + lb->end, sizeof(lb->buf) - lb->end);
        if (got > 0) {
            lb->end += (size_t)got;
            continue;
        }
        if (got == 0)
            return LINEBUF_EOF;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return LINEBUF_ERROR;
        int64_t left = deadline_ms - pipe_now_ms();
        if (deadline_ms == 0 || left <= 0)
            return LINEBUF_WAIT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n < 0 && errno != EINTR)
            return LINEBUF_ERROR;
    }
}
