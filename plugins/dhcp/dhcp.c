/* plugins/dhcp/dhcp.c - the dhcp backend: a DHCP server's leases (and
 * optionally its reservations) as records, e.g. for wake-on-LAN:
 * `tged LEASE HOST=mypc` gives the MAC of mypc.
 *
 * Every source is read whole and checked before it replaces the last good
 * one; a source that fails keeps its last good data. Records are rebuilt
 * from the last good data on every reload, and a reload is asked for just
 * after the earliest lease ends, so an ended lease leaves the records
 * without any file changing.
 *
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <tged/plugin.h>

#include "dhcp.h"

/* After the earliest lease ends, reload this much later, so that the
 * second it ends in has surely passed. */
#define EXPIRY_SLACK_MS 50
/* Reload at least this often while leases run: a wall clock set forward
 * or back is then caught up with within the hour. */
#define EXPIRY_MAX_WAIT_MS (3600u * 1000u)
/* A source that keeps changing while it is read is read at most this
 * many times in a row. */
#define READ_ATTEMPTS 3
/* Kea's lease file cleanup keeps leases in FILE.completed, or FILE.2 and
 * FILE.1, besides FILE: read in this order, as Kea does at start. */
#define MAX_PATHS 4

enum format { FMT_ISC, FMT_DNSMASQ, FMT_KEA };

typedef int (*reader_fn)(struct dhcp_diag *, const char *, const char *, size_t,
                         struct dhcp_list *);

struct file_id {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

/* The leases, or the reservations. */
struct source {
    reader_fn read;
    int settle; /* leases: keep the last declaration of each address */
    size_t npaths;
    char *paths[MAX_PATHS]; /* the last is the file named in the settings */
    struct file_id ids[MAX_PATHS]; /* of the files as last read */
    int read_once, failed;
    struct dhcp_list good; /* the last good read */
};

struct state {
    struct tged_instance *ctx;
    const char *type;
    size_t type_len;
    uint64_t type_hash;
    struct source leases, hosts;
    int have_hosts;
    void *records; /* struct tged_recset * */
    struct dhcp_diag diag;
};

static void emit(void *arg, int prio, const char *msg)
{
    tged_log(arg, prio, "%s", msg);
}

static void free_records(void *rs)
{
    tged_recset_free(rs);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* For load times in the log. */
static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
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

static int file_ids_eq(const struct file_id *a, const struct file_id *b,
                       size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].exists != b[i].exists || a[i].dev != b[i].dev ||
            a[i].ino != b[i].ino || a[i].size != b[i].size ||
            a[i].mtime.tv_sec != b[i].mtime.tv_sec ||
            a[i].mtime.tv_nsec != b[i].mtime.tv_nsec ||
            a[i].ctime.tv_sec != b[i].ctime.tv_sec ||
            a[i].ctime.tv_nsec != b[i].ctime.tv_nsec)
            return 0;
    return 1;
}

/* Read every file of the source into out; ids says which exist. */
static int read_files(struct state *st, struct source *src,
                      const struct file_id *ids, struct dhcp_list *out)
{
    /* Kea: FILE.completed holds what FILE.2 and FILE.1 would; the paths
     * are FILE.completed, FILE.2, FILE.1, FILE. */
    int skip_pair = src->npaths == MAX_PATHS && ids[0].exists;
    for (size_t i = 0; i < src->npaths; i++) {
        int main_file = i + 1 == src->npaths;
        if (!main_file && (!ids[i].exists || (skip_pair && i > 0)))
            continue;
        char *buf;
        size_t len;
        dhcp_diag_begin(&st->diag);
        int rc = dhcp_slurp(&st->diag, src->paths[i], main_file, &buf, &len);
        if (rc == -ENOENT && !main_file)
            return -EAGAIN; /* renamed away since stat(): read again */
        if (rc == 0) {
            rc = src->read(&st->diag, src->paths[i], buf, len, out);
            free(buf);
        }
        dhcp_diag_end(&st->diag, src->paths[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Read a source whole into src->good. 1 when its files had not changed
 * since the last read (nothing read), 0 when read, -errno when it failed
 * (reported; src->good is kept). */
static int load(struct state *st, struct source *src, int64_t now)
{
    struct file_id before[MAX_PATHS], after[MAX_PATHS];
    for (size_t i = 0; i < src->npaths; i++)
        file_id_get(src->paths[i], &before[i]);
    if (src->read_once && file_ids_eq(before, src->ids, src->npaths))
        return 1;
    struct dhcp_list fresh;
    dhcp_list_init(&fresh);
    int rc = -EAGAIN;
    for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
        rc = read_files(st, src, before, &fresh);
        for (size_t i = 0; i < src->npaths; i++)
            file_id_get(src->paths[i], &after[i]);
        if (rc != -EAGAIN &&
            (rc < 0 || file_ids_eq(before, after, src->npaths)))
            break;
        /* Written while it was read: what was read may be half of it. */
        memcpy(before, after, sizeof(before));
        dhcp_list_free(&fresh);
        rc = -EAGAIN;
    }
    if (rc == -EAGAIN)
        tged_log(st->ctx, LOG_WARNING,
                 "%s: changed each of %d times it was read: not loaded "
                 "this time",
                 src->paths[src->npaths - 1], READ_ATTEMPTS);
    memcpy(src->ids, before, sizeof(src->ids));
    src->read_once = 1;
    src->failed = rc < 0;
    if (rc < 0) {
        dhcp_list_free(&fresh);
        return rc;
    }
    if (src->settle)
        dhcp_list_settle(&fresh, now);
    dhcp_list_move(&src->good, &fresh);
    return 0;
}

static int add_record(struct state *st, struct tged_recset_builder *b,
                      const struct dhcp_record *r)
{
    char ip[16], mac[3 * DHCP_MAC_MAX], exp[24];
    struct tged_field f[4];
    size_t n = 0;
    if (r->host)
        f[n++] = (struct tged_field){"HOST", 4, r->host, r->host_len};
    if (r->has_ip) {
        dhcp_format_ipv4(r->ip, ip, sizeof(ip));
        f[n++] = (struct tged_field){"IP", 2, ip, strlen(ip)};
    }
    if (r->mac) {
        dhcp_format_mac(r->mac, r->mac_len, mac, sizeof(mac));
        f[n++] = (struct tged_field){"MAC", 3, mac, strlen(mac)};
    }
    if (r->is_lease) {
        dhcp_format_expiry(r->expires, exp, sizeof(exp));
        f[n++] = (struct tged_field){"EXPIRES", 7, exp, strlen(exp)};
    }
    int rc = tged_recset_add(b, st->type, st->type_len, f, n);
    if (rc == -EINVAL || rc == -E2BIG) {
        char shown[DHCP_SHOWN];
        tged_log(st->ctx, LOG_WARNING, "record %s%s%s not served: %s",
                 r->has_ip ? ip : "", r->has_ip && r->host ? " " : "",
                 r->host
                     ? dhcp_shown(r->host, r->host_len, shown, sizeof(shown))
                     : "",
                 tged_recset_builder_error(b));
        return 0;
    }
    return rc;
}

/* Build the records from the last good data as of now, publish them, and
 * ask for a reload when the next lease ends. */
static int publish(struct state *st, int changed, double t0)
{
    /* The time after the reads, which may have taken a while. */
    int64_t ms = now_ms(), now = ms / 1000, next;
    struct dhcp_record *recs;
    size_t n;
    if (dhcp_merge(&st->leases.good, st->have_hosts ? &st->hosts.good : NULL,
                   now, &recs, &n, &next) < 0) {
        tged_log(st->ctx, LOG_ERR, "out of memory");
        return -ENOMEM;
    }
    struct tged_recset_builder *b = tged_recset_builder_new(st->ctx);
    int rc = b ? 0 : -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = add_record(st, b, &recs[i]);
    free(recs);
    struct tged_recset *rs = NULL;
    if (rc == 0)
        rs = tged_recset_build(b);
    else
        tged_recset_builder_free(b);
    if (!rs) {
        tged_log(st->ctx, LOG_ERR, "out of memory");
        return -ENOMEM;
    }
    tged_snapshot_publish(st->ctx, &st->records, rs, free_records);
    if (changed)
        tged_log(st->ctx, LOG_INFO,
                 "%zu records (%zu running leases, %zu reservations), "
                 "loaded in %.1f ms",
                 tged_recset_count(rs), st->leases.good.n,
                 st->have_hosts ? st->hosts.good.n : (size_t)0, mono_ms() - t0);
    else
        tged_log(st->ctx, LOG_DEBUG, "%zu records as of now",
                 tged_recset_count(rs));
    if (next != DHCP_NEVER) {
        int64_t wait = next * 1000 - ms + EXPIRY_SLACK_MS;
        if (wait < 0)
            wait = 0;
        if (wait > EXPIRY_MAX_WAIT_MS)
            wait = EXPIRY_MAX_WAIT_MS;
        tged_reload_after(st->ctx, (unsigned)wait);
    }
    return 0;
}

static int dhcp_reload(struct tged_instance *ctx, void *state)
{
    struct state *st = state;
    double t0 = mono_ms();
    int64_t ms = now_ms();
    int rl = load(st, &st->leases, ms / 1000);
    int rh = st->have_hosts ? load(st, &st->hosts, ms / 1000) : 1;
    /* Even when a file failed, ended leases leave the records. */
    int rc = publish(st, rl == 0 || rh == 0, t0);
    (void)ctx;
    if (rl < 0)
        return rl;
    if (rh < 0)
        return rh;
    return rc;
}

/* The setting's place in the configuration, for messages. */
static void setting_error(struct tged_instance *ctx, const char *name,
                          const char *fmt, ...) TGED_PRINTF(3, 4);

static void setting_error(struct tged_instance *ctx, const char *name,
                          const char *fmt, ...)
{
    const struct tged_cfg *node = tged_get_cfg(ctx, name);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (node)
        tged_log(ctx, LOG_ERR, "%s:%u: %s: %s", tged_cfg_file(node),
                 tged_cfg_line(node), name, msg);
    else
        tged_log(ctx, LOG_ERR, "%s: %s", name, msg);
}

static int parse_format(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "isc"))
        return FMT_ISC;
    if (!strcmp(s, "dnsmasq"))
        return FMT_DNSMASQ;
    if (!strcmp(s, "kea"))
        return FMT_KEA;
    return -1;
}

static void free_state(struct state *st)
{
    struct source *srcs[] = {&st->leases, &st->hosts};
    for (size_t s = 0; s < 2; s++) {
        for (size_t i = 0; i < srcs[s]->npaths; i++)
            free(srcs[s]->paths[i]);
        dhcp_list_free(&srcs[s]->good);
    }
    tged_recset_free(st->records);
    free(st);
}

static int set_paths(struct source *src, const char *path, int kea)
{
    if (kea) {
        if (asprintf(&src->paths[0], "%s.completed", path) < 0)
            return -ENOMEM;
        src->npaths = 1;
        if (asprintf(&src->paths[1], "%s.2", path) < 0)
            return -ENOMEM;
        src->npaths = 2;
        if (asprintf(&src->paths[2], "%s.1", path) < 0)
            return -ENOMEM;
        src->npaths = 3;
    }
    if (!(src->paths[src->npaths] = strdup(path)))
        return -ENOMEM;
    src->npaths++;
    return 0;
}

/* Read and check the settings; -EINVAL after logging. */
static int configure(struct tged_instance *ctx, struct state *st)
{
    static const reader_fn lease_readers[] = {
        [FMT_ISC] = dhcp_read_isc_leases,
        [FMT_DNSMASQ] = dhcp_read_dnsmasq_leases,
        [FMT_KEA] = dhcp_read_kea_leases,
    };
    static const reader_fn host_readers[] = {
        [FMT_ISC] = dhcp_read_isc_hosts,
        [FMT_DNSMASQ] = dhcp_read_dnsmasq_hosts,
    };
    const char *file = tged_get_path(ctx, "file", NULL);
    const char *fmt_s = tged_get_string(ctx, "format", NULL);
    const char *hosts = tged_get_path(ctx, "reservations", NULL);
    const char *hfmt_s = tged_get_string(ctx, "reservations_format", NULL);
    st->type = tged_get_string(ctx, "type", "LEASE");
    st->type_len = strlen(st->type);
    int fmt = parse_format(fmt_s);
    if (!file)
        return -ENOMEM; /* required: tgedd checked it is there */
    if (fmt < 0) {
        setting_error(ctx, "format",
                      "'%s' is not a lease file format: write \"isc\" "
                      "(dhcpd.leases), \"dnsmasq\" (dnsmasq.leases) or "
                      "\"kea\" (kea-leases4.csv)",
                      fmt_s ? fmt_s : "");
        return -EINVAL;
    }
    if (!tged_type_valid(st->type, st->type_len)) {
        setting_error(ctx, "type",
                      "'%.70s' is not a valid type: 1 to 63 of A-Z a-z 0-9 "
                      ". _ -",
                      st->type);
        return -EINVAL;
    }
    st->type_hash = tged_hash_ci(st->type, st->type_len);
    if (hfmt_s && !hosts) {
        setting_error(ctx, "reservations_format",
                      "given without 'reservations' (the file to read)");
        return -EINVAL;
    }
    int hfmt = -1;
    if (hosts) {
        hfmt = hfmt_s ? parse_format(hfmt_s) : fmt;
        if (hfmt == FMT_KEA) {
            setting_error(ctx, hfmt_s ? "reservations_format" : "reservations",
                          "Kea's reservations are not read: Kea keeps them "
                          "in kea-dhcp4.conf (JSON) or a host database. Set "
                          "reservations_format = \"isc\" or \"dnsmasq\" for "
                          "a dhcpd.conf or dnsmasq.conf, or leave "
                          "reservations out");
            return -EINVAL;
        }
        if (hfmt < 0) {
            setting_error(ctx, "reservations_format",
                          "'%s' is not a reservations format: write \"isc\" "
                          "(host blocks of a dhcpd.conf) or \"dnsmasq\" "
                          "(dhcp-host= lines of a dnsmasq.conf)",
                          hfmt_s);
            return -EINVAL;
        }
    }
    st->leases = (struct source){.read = lease_readers[fmt], .settle = 1};
    if (set_paths(&st->leases, file, fmt == FMT_KEA) < 0)
        return -ENOMEM;
    if (hosts) {
        st->have_hosts = 1;
        st->hosts = (struct source){.read = host_readers[hfmt]};
        if (set_paths(&st->hosts, hosts, 0) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int dhcp_init(struct tged_instance *ctx, void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->ctx = ctx;
    st->diag = (struct dhcp_diag){.emit = emit, .arg = ctx};
    dhcp_list_init(&st->leases.good);
    dhcp_list_init(&st->hosts.good);
    int rc = configure(ctx, st);
    if (rc < 0)
        goto fail;
    /* Watch first: a change made while the first read runs is then seen. */
    struct source *srcs[] = {&st->leases, &st->hosts};
    for (size_t s = 0; s < 2; s++)
        for (size_t i = 0; i < srcs[s]->npaths; i++) {
            int w = tged_watch(ctx, srcs[s]->paths[i]);
            if (w < 0)
                tged_log(ctx, LOG_WARNING, "%s: cannot watch: %s",
                         srcs[s]->paths[i], strerror(-w));
        }
    double t0 = mono_ms();
    int64_t ms = now_ms();
    rc = load(st, &st->leases, ms / 1000);
    if (rc >= 0 && st->have_hosts)
        rc = load(st, &st->hosts, ms / 1000);
    if (rc >= 0)
        rc = publish(st, 1, t0);
    if (rc < 0)
        goto fail;
    *state = st;
    return 0;
fail:
    free_state(st);
    return rc;
}

static int dhcp_lookup(void *state, const struct tged_query *q,
                       struct tged_sink *sink)
{
    struct state *st = state;
    int rc = tged_recset_lookup(tged_snapshot_get(&st->records), q, sink);
    /* No lease at all is still "no match" for our type, not "unknown". */
    if (rc == TGED_NOT_MINE && q->type_hash == st->type_hash &&
        tged_name_eq(q->type, q->type_len, st->type, st->type_len))
        return TGED_NO_MATCH;
    return rc;
}

static void dhcp_close(void *state)
{
    free_state(state);
}

static const struct tged_setting settings[] = {
    {"file", TGED_SETTING_PATH, TGED_SETTING_REQUIRED,
     "the lease file: dhcpd.leases, dnsmasq.leases or kea-leases4.csv"},
    {"format", TGED_SETTING_STRING, TGED_SETTING_REQUIRED,
     "\"isc\", \"dnsmasq\" or \"kea\": who wrote the lease file"},
    {"type", TGED_SETTING_STRING, 0,
     "the type the records are served as (default \"LEASE\")"},
    {"reservations", TGED_SETTING_PATH, 0,
     "a dhcpd.conf (host blocks) or dnsmasq.conf (dhcp-host= lines)"},
    {"reservations_format", TGED_SETTING_STRING, 0,
     "\"isc\" or \"dnsmasq\" (default: as format; required for kea)"},
    {0},
};

TGED_PLUGIN(.name = "dhcp", .version = "1.0",
            .description = "a DHCP server's leases and reservations (ISC "
                           "dhcpd, dnsmasq, Kea) as HOST, IP, MAC, EXPIRES",
            .settings = settings, .init = dhcp_init, .lookup = dhcp_lookup,
            .reload = dhcp_reload, .close = dhcp_close);
