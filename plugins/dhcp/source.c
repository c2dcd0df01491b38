/* plugins/dhcp/source.c - files read whole, then walked line by line.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dhcp.h"

int dhcp_slurp(struct dhcp_diag *d, const char *path, int report_missing,
               char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        if (e != ENOENT || report_missing)
            dhcp_report(d, LOG_ERR, path, 0, "cannot open: %s", strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        dhcp_report(d, LOG_ERR, path, 0, "cannot stat: %s", strerror(e));
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        dhcp_report(d, LOG_ERR, path, 0, "not a regular file");
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    /* The file may grow while it is read (dhcpd and Kea append): read to
     * the end, whatever fstat said, up to the cap. */
    size_t cap = (size_t)st.st_size + 1 < 4096 ? 4096 : (size_t)st.st_size + 1;
    if (cap > DHCP_FILE_MAX + 1)
        cap = DHCP_FILE_MAX + 1;
    char *b = malloc(cap);
    size_t n = 0;
    int rc = 0;
    if (!b) {
        rc = -ENOMEM;
        dhcp_report(d, LOG_ERR, path, 0, "out of memory");
        goto out;
    }
    for (;;) {
        if (n + 1 == cap) {
            if (cap > DHCP_FILE_MAX) {
                dhcp_report(d, LOG_ERR, path, 0, "larger than %u MiB: not read",
                            DHCP_FILE_MAX >> 20);
                rc = -EFBIG;
                goto out;
            }
            size_t ncap =
                cap * 2 > DHCP_FILE_MAX + 1 ? DHCP_FILE_MAX + 1 : cap * 2;
            char *nb = realloc(b, ncap);
            if (!nb) {
                rc = -ENOMEM;
                dhcp_report(d, LOG_ERR, path, 0, "out of memory");
                goto out;
            }
            b = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, b + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            dhcp_report(d, LOG_ERR, path, 0, "cannot read: %s",
                        strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    b[n] = '\0';
out:
    close(fd);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return 0;
}

int dhcp_next_line(struct dhcp_lines *it, const char **s, size_t *n, int *last)
{
    if (it->p >= it->end)
        return 0;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *e = nl ? nl : it->end;
    *s = it->p;
    *n = (size_t)(e - it->p);
    if (*n && (*s)[*n - 1] == '\r')
        (*n)--;
    *last = nl == NULL;
    it->p = nl ? nl + 1 : it->end;
    it->line++;
    return 1;
}

unsigned dhcp_nul_line(const char *buf, size_t len)
{
    const char *z = memchr(buf, '\0', len);
    if (!z)
        return 0;
    unsigned line = 1;
    for (const char *p = buf; p < z; p++)
        line += *p == '\n';
    return line;
}
