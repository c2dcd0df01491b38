/* hosts.c - an out-of-tree tged plugin: answers from an /etc/hosts-style
 * file, one record per name: `tged HOST HOST=nas` gives the address of nas.
 *
 * Build against an installed tged, with CMake (see CMakeLists.txt here):
 *     cmake -S . -B build && cmake --build build
 * or with pkg-config:
 *     cc -shared -fPIC $(pkg-config --cflags tged-plugin) hosts.c -o hosts.so
 * and use it:
 *     backends = ( { name = "hosts"; module = "/path/to/hosts.so";
 *                    file = "/etc/hosts"; } );
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tged/plugin.h>

struct hosts {
    struct tged_instance *ctx;
    const char *file;
    const char *type;
    void *records; /* struct tged_recset *, published */
};

static void free_records(void *rs)
{
    tged_recset_free(rs);
}

/* Read the whole file into a new record set; NULL after logging why. */
static struct tged_recset *load(struct hosts *h)
{
    FILE *f = fopen(h->file, "r");
    if (!f) {
        tged_log(h->ctx, LOG_ERR, "%s: %s", h->file, strerror(errno));
        return NULL;
    }
    struct tged_recset_builder *b = tged_recset_builder_new(h->ctx);
    char line[1024];
    unsigned lineno = 0;
    int bad = !b;
    while (!bad && fgets(line, sizeof(line), f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL;
        char *ip = strtok_r(line, " \t\r\n", &save);
        if (!ip)
            continue;
        for (char *name; (name = strtok_r(NULL, " \t\r\n", &save));) {
            struct tged_field f[] = {{"HOST", 4, name, strlen(name)},
                                     {"IP", 2, ip, strlen(ip)}};
            if (tged_recset_add(b, h->type, strlen(h->type), f, 2) < 0) {
                tged_log(h->ctx, LOG_ERR, "%s:%u: %s", h->file, lineno,
                         tged_recset_builder_error(b));
                bad = 1;
                break;
            }
        }
    }
    fclose(f);
    if (bad) {
        tged_recset_builder_free(b);
        return NULL;
    }
    return tged_recset_build(b);
}

static int hosts_init(struct tged_instance *ctx, void **state)
{
    struct hosts *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->ctx = ctx;
    h->file = tged_get_path(ctx, "file", "/etc/hosts");
    h->type = tged_get_string(ctx, "type", "HOST");
    struct tged_recset *rs = h->file ? load(h) : NULL;
    if (!rs) {
        free(h);
        return -EINVAL;
    }
    tged_snapshot_publish(ctx, &h->records, rs, free_records);
    tged_watch(ctx, h->file);
    *state = h;
    return 0;
}

static int hosts_reload(struct tged_instance *ctx, void *state)
{
    struct hosts *h = state;
    struct tged_recset *rs = load(h);
    if (!rs)
        return -EINVAL; /* the old records keep serving */
    tged_snapshot_publish(ctx, &h->records, rs, free_records);
    return 0;
}

static int hosts_lookup(void *state, const struct tged_query *q,
                        struct tged_sink *sink)
{
    struct hosts *h = state;
    return tged_recset_lookup(tged_snapshot_get(&h->records), q, sink);
}

static void hosts_close(void *state)
{
    struct hosts *h = state;
    tged_recset_free(h->records);
    free(h);
}

static const struct tged_setting settings[] = {
    {"file", TGED_SETTING_PATH, 0, "hosts file (default /etc/hosts)"},
    {"type", TGED_SETTING_STRING, 0, "type answered (default HOST)"},
    {0},
};

TGED_PLUGIN(.name = "hosts", .version = "1.0",
            .description = "names and addresses from an /etc/hosts-style file",
            .settings = settings, .init = hosts_init, .lookup = hosts_lookup,
            .reload = hosts_reload, .close = hosts_close);
