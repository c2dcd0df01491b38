/* core/daemon/watch.c - files that plugins asked to watch (inotify).
 * SPDX-License-Identifier: MIT */
#include "watch.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "log.h"

/* A file is read once it has been quiet this long after it was closed,
 * renamed or removed; after a bare write (the writer may still be at it),
 * after WRITING_MS of quiet; and at the latest MAX_SETTLE_MS after the
 * first change, so that a file written without pause is still read. */
#define SETTLE_MS 20
#define WRITING_MS 300
#define MAX_SETTLE_MS 1000
#define RETRY_MS 100

struct file_id {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

struct watch_dir;

struct watch_file {
    struct tged_instance *inst;
    char *path;
    struct file_id id;
    struct watch_dir *dir;
    struct watch_file *next_in_inst;
    struct watch_file *next_in_dir;
};

struct watch_dir {
    char *path;
    int wd; /* -1 while the folder is missing */
    struct watch_file *files;
    struct watch_dir *next;
};

static int ifd = -1;
static struct watch_dir *dirs;
static uint64_t retry_at;

int watch_init(void)
{
    if (ifd >= 0)
        return ifd;
    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    return ifd >= 0 ? ifd : -errno;
}

static void file_id_get(const char *path, struct file_id *id)
{
    struct stat st;
    memset(id, 0, sizeof(*id));
    if (stat(path, &st) != 0)
        return;
    id->exists = 1;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
    id->ctime = st.st_ctim;
}

static int file_id_eq(const struct file_id *a, const struct file_id *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec &&
           a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static const uint32_t dir_events =
    IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE |
    IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

static void dir_arm(struct watch_dir *d)
{
    d->wd = ifd >= 0 ? inotify_add_watch(ifd, d->path, dir_events) : -1;
    if (d->wd < 0 && !retry_at)
        retry_at = now_ms() + RETRY_MS;
}

int watch_add(struct tged_instance *inst, const char *path)
{
    if (ifd < 0)
        return 0; /* not serving (a check run): nothing to watch */
    struct watch_file *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return -ENOMEM;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct watch_dir *d;
    for (d = dirs; d; d = d->next)
        if (!strcmp(d->path, dir))
            break;
    if (!d) {
        d = calloc(1, sizeof(*d));
        if (!d || !(d->path = strdup(dir))) {
            free(d);
            free(f->path);
            free(f);
            return -ENOMEM;
        }
        dir_arm(d);
        d->next = dirs;
        dirs = d;
    }
    file_id_get(path, &f->id);
    f->inst = inst;
    f->dir = d;
    f->next_in_dir = d->files;
    d->files = f;
    f->next_in_inst = inst->watches;
    inst->watches = f;
    return 0;
}

void watch_forget(struct tged_instance *inst)
{
    while (inst->watches) {
        struct watch_file *f = inst->watches;
        inst->watches = f->next_in_inst;
        struct watch_dir *d = f->dir;
        for (struct watch_file **pp = &d->files; *pp; pp = &(*pp)->next_in_dir)
            if (*pp == f) {
                *pp = f->next_in_dir;
                break;
            }
        if (!d->files) {
            /* Another folder entry may share the wd (same inode by
             * another path); only drop the kernel watch when none does. */
            int shared = 0;
            for (struct watch_dir *o = dirs; o; o = o->next)
                if (o != d && o->wd == d->wd && d->wd >= 0)
                    shared = 1;
            if (d->wd >= 0 && !shared)
                inotify_rm_watch(ifd, d->wd);
            for (struct watch_dir **pp = &dirs; *pp; pp = &(*pp)->next)
                if (*pp == d) {
                    *pp = d->next;
                    break;
                }
            free(d->path);
            free(d);
        }
        free(f->path);
        free(f);
    }
}

static void dir_check(struct watch_dir *d, unsigned settle_ms)
{
    for (struct watch_file *f = d->files; f; f = f->next_in_dir) {
        struct file_id id;
        file_id_get(f->path, &id);
        if (file_id_eq(&id, &f->id))
            continue;
        f->id = id;
        log_debug("%s: changed, reloading %s", f->path, f->inst->name);
        instance_reload_settle(f->inst, settle_ms, MAX_SETTLE_MS);
    }
}

void watch_handle(void)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(ifd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof(*ev) + ev->len;
            for (struct watch_dir *d = dirs; d; d = d->next) {
                if (d->wd != ev->wd)
                    continue;
                if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                    /* The folder went away or moved: watch the path
                     * again when something stands there. */
                    if (ev->mask & IN_MOVE_SELF)
                        inotify_rm_watch(ifd, d->wd);
                    d->wd = -1;
                    if (!retry_at)
                        retry_at = now_ms() + RETRY_MS;
                }
                /* Only a write, no close yet: the writer may go on. */
                int writing = (ev->mask & IN_MODIFY) &&
                              !(ev->mask & ~(IN_MODIFY | IN_ISDIR));
                dir_check(d, writing ? WRITING_MS : SETTLE_MS);
            }
        }
    }
}

uint64_t watch_tick(uint64_t now)
{
    if (!retry_at || now < retry_at)
        return retry_at;
    retry_at = 0;
    for (struct watch_dir *d = dirs; d; d = d->next) {
        if (d->wd >= 0)
            continue;
        dir_arm(d);
        if (d->wd >= 0)
            dir_check(d, SETTLE_MS);
    }
    return retry_at;
}

void watch_shutdown(void)
{
    if (ifd >= 0)
        close(ifd);
    ifd = -1;
}
