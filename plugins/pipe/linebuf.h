/* plugins/pipe/linebuf.h - bounded lines from a program's output.
 * SPDX-License-Identifier: MIT */
#ifndef TGED_PIPE_LINEBUF_H
#define TGED_PIPE_LINEBUF_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* Bytes read from a non-blocking fd and not used yet. Twice a line, so a
 * whole line always fits after the bytes before it are dropped. */
struct linebuf {
    size_t start, end;
    char buf[2 * PIPE_MAX_LINE];
};

enum {
    LINEBUF_LINE = 1,   /* a line (its LF removed) in *line, *len */
    LINEBUF_WAIT = 0,   /* no whole line before the deadline */
    LINEBUF_EOF = -1,   /* the writer closed it (the program exited) */
    LINEBUF_LONG = -2,  /* PIPE_MAX_LINE bytes without an LF */
    LINEBUF_ERROR = -3, /* read or poll failed; errno says why */
};

void linebuf_reset(struct linebuf *lb);

/* Bytes received and not returned as lines yet. */
static inline size_t linebuf_pending(const struct linebuf *lb)
{
    return lb->end - lb->start;
}

/**
 * The next line from fd (which must be O_NONBLOCK), waiting until
 * deadline_ms (CLOCK_MONOTONIC milliseconds); deadline_ms 0 does not
 * wait. *line points into lb and is valid until the next call. On
 * LINEBUF_LONG, *line and *len show the start of the long line.
 */
int linebuf_next(struct linebuf *lb, int fd, int64_t deadline_ms,
                 const char **line, size_t *len);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t pipe_now_ms(void);

#endif
