/* tests/fuzz/fuzz_util.c - quiet logs and files made of fuzz inputs.
 * SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

FILE *fuzz_err;

void (*fuzz_log_line)(const char *line, size_t len);
static int show_logs;

/* Where stderr goes: each line to fuzz_log_line, then to the original
 * stderr only when logs are shown. */
static ssize_t log_write(void *cookie, const char *buf, size_t size)
{
    static char line[8192];
    static size_t n;
    (void)cookie;
    if (show_logs)
        fwrite(buf, 1, size, fuzz_err);
    for (size_t i = 0; i < size; i++) {
        if (buf[i] != '\n') {
            if (n < sizeof(line))
                line[n++] = buf[i];
            continue;
        }
        if (fuzz_log_line)
            fuzz_log_line(line, n);
        n = 0;
    }
    return (ssize_t)size;
}

void fuzz_quiet(void)
{
    if (fuzz_err)
        return;
    fuzz_err = stderr;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd > 0) {
        dup2(fd, 0);
        close(fd);
    }
    const char *log = getenv("TGED_FUZZ_LOG");
    show_logs = log && *log && strcmp(log, "0") != 0;
    /* glibc's stderr is an ordinary variable: pointing it elsewhere takes
     * what the code under test logs, while libFuzzer and the sanitizers,
     * which kept the original stream or write to fd 2, still report. The
     * messages are formatted all the same, hostile text and all. */
    FILE *sink =
        fopencookie(NULL, "w", (cookie_io_functions_t){.write = log_write});
    if (sink) {
        setvbuf(sink, NULL, _IOLBF, 0);
        stderr = sink;
    }
}

/* The number after *p, moving p past it; -1 when there is none. */
static long number(const char **p, const char *end)
{
    long v = 0;
    const char *s = *p;
    while (*p < end && **p >= '0' && **p <= '9' && v < 1000000000)
        v = v * 10 + (*(*p)++ - '0');
    return *p > s ? v : -1;
}

void fuzz_extent_of(struct fuzz_extent *e, const uint8_t *text, size_t size)
{
    long w = 0;
    e->lines = 1;
    e->widest = 0;
    for (size_t i = 0; i < size; i++) {
        if (text[i] == '\n') {
            e->lines++;
            w = 0;
        } else if (++w > e->widest) {
            e->widest = w;
        }
    }
}

void fuzz_check_positions(const char *msg, size_t len, const char *file,
                          const struct fuzz_extent *e)
{
    size_t flen = strlen(file);
    const char *p = msg + flen, *end = msg + len;
    if (len <= flen || memcmp(msg, file, flen) != 0 || *p != ':')
        return;
    p++;
    long line = number(&p, end), col = -1;
    if (line < 0)
        return;
    if (p < end && *p == ':') {
        p++;
        col = number(&p, end);
    }
    if (line < 1 || line > e->lines || col == 0 || col > e->widest + 1)
        fprintf(fuzz_err,
                "position %ld:%ld outside the input (%ld lines, %ld bytes "
                "in the longest): %.*s\n",
                line, col, e->lines, e->widest, (int)len, msg);
    FUZZ_CHECK(line >= 1 && line <= e->lines);
    FUZZ_CHECK(col != 0 && col <= e->widest + 1);
}

static const char *watched_file;
static struct fuzz_extent watched;

/* A tgedd log line: "tgedd: PRIORITY: ", then "backend NAME (MODULE): "
 * for a plugin's, then the message, which names a spot in a file first. */
static void check_line(const char *line, size_t len)
{
    static const char backend[] = "backend fuzz (?): ";
    const char *p = line, *end = line + len;
    if (!watched_file || len < 7 || memcmp(p, "tgedd: ", 7) != 0)
        return;
    p = memchr(p + 7, ':', (size_t)(end - p - 7));
    if (!p || end - p < 2)
        return;
    p += 2;
    if ((size_t)(end - p) > sizeof(backend) - 1 &&
        !memcmp(p, backend, sizeof(backend) - 1))
        p += sizeof(backend) - 1;
    fuzz_check_positions(p, (size_t)(end - p), watched_file, &watched);
}

void fuzz_watch_positions(const char *file, const uint8_t *text, size_t size)
{
    watched_file = file;
    if (file)
        fuzz_extent_of(&watched, text, size);
    fuzz_log_line = check_line;
}

const char *fuzz_memfd(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("tged-fuzz", MFD_CLOEXEC);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 ||
        (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("memfd");
        abort();
    }
    return path;
}

static char dir[PATH_MAX];

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
}

const char *fuzz_dir_file(const char *name, const uint8_t *data, size_t size)
{
    static char path[PATH_MAX];
    static int fd = -1;
    if (!dir[0]) {
        /* tmpfs when there is one: nothing of this needs a disk. */
        const char *tmp = getenv("TMPDIR");
        if (!tmp || !*tmp)
            tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof(dir), "%s/tged-fuzz-XXXXXX", tmp);
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(remove_dir);
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
        sizeof(path))
        abort();
    static char open_name[NAME_MAX + 1];
    if (fd < 0 || strcmp(open_name, name) != 0) {
        if (fd >= 0)
            close(fd);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            perror(path);
            abort();
        }
        snprintf(open_name, sizeof(open_name), "%s", name);
    }
    /* Written over, then cut to size, rather than truncated first: ext4
     * flushes a file truncated to zero and written again (auto_da_alloc)
     * at close, a disk write per input. */
    if ((size && pwrite(fd, data, size, 0) != (ssize_t)size) ||
        ftruncate(fd, (off_t)size) != 0) {
        perror(path);
        abort();
    }
    return path;
}
