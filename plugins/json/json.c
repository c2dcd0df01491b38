/* plugins/json/json.c - records read from a watched JSON file.
 *
 * The file is one object keyed by type; each value is a record (an object
 * of scalar fields) or a list of records. It is read whole with read(2),
 * parsed by jansson (its tree in an arena, arena.c), checked, and turned
 * into a record set; the jansson tree is freed before the set is indexed,
 * so the peak memory of a reload is the tree or the index, not both. Any error
 * refuses the whole file, names the spot as file:line:column and JSON path, and
 * the set loaded before keeps serving.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <tged/plugin.h>

#include "arena.h"

/* A record set indexes at most 4 GiB of text; a service file anywhere near
 * this is a mistake, and refusing it early keeps a runaway writer from
 * taking the responder's memory. */
#define MAX_FILE_SIZE ((size_t)256 << 20)

/* A record holds at most this many fields (RQ and ID take two headers). */
#define MAX_FIELDS (TGED_MSG_HEADERS - 2)

/* A type written with an empty list: known here, with no records. A record
 * set cannot hold a type without records, so these are kept beside it,
 * sorted for a binary search. */
struct empty_type {
    const char *name;
    size_t len;
};

struct data {
    struct tged_recset *rs;
    struct empty_type *empty;
    size_t nempty;
    char *empty_text;
};

struct state {
    struct tged_instance *ctx;
    const char *file;
    void *data; /* struct data *, through tged_snapshot_get() */
};

/* One load: what an error message needs to name the spot. */
struct load {
    struct tged_instance *ctx;
    const char *file;
    const char *buf;
    size_t len;
};

static void free_data(void *p)
{
    struct data *d = p;
    if (!d)
        return;
    tged_recset_free(d->rs);
    free(d->empty);
    free(d->empty_text);
    free(d);
}

/* ASCII case-insensitive order, the order tged_name_eq() agrees with. */
static int cmp_ci(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z')
            y += 'a' - 'A';
        if (x != y)
            return x < y ? -1 : 1;
    }
    return alen < blen ? -1 : alen > blen;
}

/* ---- error messages ------------------------------------------------ */

/* Copy text into buf for a log line: keys, jansson's "near '...'" and the
 * record set's messages quote a hostile file, and a control character
 * could forge or hide log lines. */
static const char *shown(const char *s, size_t len, char *buf, size_t blen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 8 >= blen) {
            memcpy(buf + o, "...", 4);
            return buf;
        }
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, blen - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

/* 1-based line and column of byte off; columns count characters (UTF-8
 * lead bytes), as jansson's do. */
static void line_col(const char *buf, size_t off, unsigned *line, unsigned *col)
{
    unsigned l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* A cursor over text that jansson has already accepted, so the skips below
 * need not check syntax; they only never run past the end. */
struct cursor {
    const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end &&
           (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static void skip_string(struct cursor *c)
{
    c->p++;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\' && c->p + 1 < c->end)
            c->p++;
        c->p++;
    }
    if (c->p < c->end)
        c->p++;
}

static void skip_value(struct cursor *c)
{
    skip_ws(c);
    if (c->p >= c->end)
        return;
    if (*c->p == '"') {
        skip_string(c);
    } else if (*c->p == '{' || *c->p == '[') {
        size_t depth = 0;
        while (c->p < c->end) {
            char ch = *c->p;
            if (ch == '"') {
                skip_string(c);
                continue;
            }
            c->p++;
            if (ch == '{' || ch == '[')
                depth++;
            else if ((ch == '}' || ch == ']') && --depth == 0)
                return;
        }
    } else {
        while (c->p < c->end && *c->p != ',' && *c->p != '}' && *c->p != ']' &&
               *c->p != ' ' && *c->p != '\t' && *c->p != '\n' && *c->p != '\r')
            c->p++;
    }
}

/* Move to the key (want_key) or the value of member i of the object at c.
 * Members are counted in file order, which is jansson's iteration order
 * (kept since 2.8) as duplicate keys are refused. */
static void to_member(struct cursor *c, size_t i, int want_key)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == '{')
        c->p++;
    for (size_t k = 0; c->p < c->end; k++) {
        skip_ws(c);
        if (k == i && want_key)
            return;
        skip_string(c);
        skip_ws(c);
        if (c->p < c->end && *c->p == ':')
            c->p++;
        skip_ws(c);
        if (k == i)
            return;
        skip_value(c);
        skip_ws(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
    }
}

static void to_element(struct cursor *c, size_t i)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == '[')
        c->p++;
    for (size_t k = 0; c->p < c->end; k++) {
        skip_ws(c);
        if (k == i)
            return;
        skip_value(c);
        skip_ws(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
    }
}

#define NONE ((size_t)-1)

/* What an error points at: member `type` of the top object, element `elem`
 * of its list (NONE for a single record), member `field` of the record
 * (NONE for the record itself); `key` picks the key rather than the
 * value. */
struct spot {
    size_t type, elem, field;
    int key;
};

static size_t spot_offset(const struct load *ld, struct spot s)
{
    struct cursor c = {ld->buf, ld->buf + ld->len};
    if (s.type == NONE) {
        skip_ws(&c);
        return (size_t)(c.p - ld->buf);
    }
    to_member(&c, s.type, s.key && s.field == NONE && s.elem == NONE);
    if (s.elem != NONE)
        to_element(&c, s.elem);
    if (s.field != NONE)
        to_member(&c, s.field, s.key);
    return (size_t)(c.p - ld->buf);
}

/* Log "file:line:column: path: what" for the spot, where path reads like
 * WEB[1].PORT. */
static void report(const struct load *ld, struct spot s, const char *type,
                   const char *field, const char *fmt, ...) TGED_PRINTF(5, 6);
static void report(const struct load *ld, struct spot s, const char *type,
                   const char *field, const char *fmt, ...)
{
    char msg[512], clean[600], path[256], tb[80], fb[80];
    unsigned line, col;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    line_col(ld->buf, spot_offset(ld, s), &line, &col);
    path[0] = '\0';
    if (type) {
        /* Each piece is bounded by shown(), so path cannot overflow. */
        size_t o = (size_t)snprintf(path, sizeof(path), "%s",
                                    shown(type, strlen(type), tb, sizeof(tb)));
        if (s.elem != NONE)
            o += (size_t)snprintf(path + o, sizeof(path) - o, "[%zu]", s.elem);
        if (field)
            o += (size_t)snprintf(path + o, sizeof(path) - o, ".%s",
                                  shown(field, strlen(field), fb, sizeof(fb)));
        snprintf(path + o, sizeof(path) - o, ": ");
    }
    tged_log(ld->ctx, LOG_ERR, "%s:%u:%u: %s%s", ld->file, line, col, path,
             shown(msg, strlen(msg), clean, sizeof(clean)));
}

static const char *kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* ---- reading ------------------------------------------------------- */

/* Read the whole file into a new buffer. Opened non-blocking so a FIFO
 * put in its place cannot hang the control thread. */
static int read_whole(const struct load *ld, char **out, size_t *outlen)
{
    int fd = open(ld->file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        tged_log(ld->ctx, LOG_ERR, "%s: cannot open: %s", ld->file,
                 strerror(e));
        return -e;
    }
    struct stat st;
    int rc = 0;
    char *buf = NULL;
    size_t len = 0, cap;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        tged_log(ld->ctx, LOG_ERR, "%s: cannot stat: %s", ld->file,
                 strerror(-rc));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        tged_log(ld->ctx, LOG_ERR, "%s: not a regular file", ld->file);
        goto out;
    }
    if ((size_t)st.st_size > MAX_FILE_SIZE) {
        rc = -EFBIG;
        goto too_big;
    }
    /* One byte more than the size, so that reaching end of file takes no
     * second allocation; the loop still copes with a file that grows. */
    cap = (size_t)st.st_size + 1;
    if (!(buf = malloc(cap))) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap > MAX_FILE_SIZE) {
                rc = -EFBIG;
                goto too_big;
            }
            size_t ncap =
                cap * 2 > MAX_FILE_SIZE + 1 ? MAX_FILE_SIZE + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = -ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            tged_log(ld->ctx, LOG_ERR, "%s: cannot read: %s", ld->file,
                     strerror(-rc));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *out = buf;
    *outlen = len;
    buf = NULL;
    goto out;
too_big:
    tged_log(ld->ctx, LOG_ERR, "%s: larger than %zu MiB", ld->file,
             MAX_FILE_SIZE >> 20);
out:
    if (rc == -ENOMEM)
        tged_log(ld->ctx, LOG_ERR, "%s: out of memory", ld->file);
    free(buf);
    close(fd);
    return rc;
}

/* ---- checking and building ----------------------------------------- */

/* After tged_recset_add() refused a record, find the member its message is
 * about, so the error points at the key or value rather than the record. */
static struct spot blame(struct spot s, const char *type,
                         const struct tged_field *f, size_t n)
{
    if (!tged_type_valid(type, strlen(type))) {
        s.elem = NONE;
        s.key = 1;
        return s;
    }
    for (size_t i = 0; i < n; i++) {
        s.field = i;
        if (!tged_name_valid(f[i].name, f[i].name_len) ||
            tged_name_reserved(f[i].name, f[i].name_len)) {
            s.key = 1;
            return s;
        }
        if (!tged_value_valid(f[i].value, f[i].value_len))
            return s;
        for (size_t j = 0; j < i; j++)
            if (tged_name_eq(f[i].name, f[i].name_len, f[j].name,
                             f[j].name_len)) {
                s.key = 1;
                return s;
            }
    }
    s.field = NONE;
    return s;
}

static int add_record(const struct load *ld, struct tged_recset_builder *b,
                      const char *type, const json_t *rec, struct spot s)
{
    if (!json_is_object(rec)) {
        report(ld, s, type, NULL,
               "a record must be an object { \"NAME\": value, ... }, not %s",
               kind_name(rec));
        return -EINVAL;
    }
    size_t n = json_object_size(rec);
    if (n > MAX_FIELDS) {
        report(ld, s, type, NULL, "a record has at most %d fields", MAX_FIELDS);
        return -E2BIG;
    }
    struct tged_field f[MAX_FIELDS];
    char num[MAX_FIELDS][24];
    const char *name;
    json_t *v;
    size_t i = 0;
    json_object_foreach((json_t *)rec, name, v)
    {
        const char *val;
        size_t vlen;
        switch (json_typeof(v)) {
        case JSON_STRING:
            val = json_string_value(v);
            vlen = json_string_length(v);
            break;
        case JSON_INTEGER:
            val = num[i];
            vlen = (size_t)snprintf(num[i], sizeof(num[i]),
                                    "%" JSON_INTEGER_FORMAT,
                                    json_integer_value(v));
            break;
        case JSON_TRUE:
            val = "true";
            vlen = 4;
            break;
        case JSON_FALSE:
            val = "false";
            vlen = 5;
            break;
        default:
            s.field = i;
            report(ld, s, type, name,
                   "a value must be a string, an integer or a boolean, not "
                   "%s%s",
                   kind_name(v),
                   json_is_real(v) ? " (write it as a string)" : "");
            return -EINVAL;
        }
        f[i] = (struct tged_field){name, strlen(name), val, vlen};
        i++;
    }
    int rc = tged_recset_add(b, type, strlen(type), f, n);
    if (rc < 0) {
        struct spot at = blame(s, type, f, n);
        report(ld, at, type, at.field != NONE ? f[at.field].name : NULL, "%s",
               tged_recset_builder_error(b));
    }
    return rc;
}

struct key_ref {
    const char *name;
    size_t len, index;
};

static int key_ref_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    int c = cmp_ci(x->name, x->len, y->name, y->len);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Types compare case-insensitively, so "web" and "WEB" would silently
 * become one type: refuse the later of the first such pair in the file. */
static int check_type_names(const struct load *ld, const json_t *root)
{
    size_t n = json_object_size(root);
    if (n < 2)
        return 0;
    struct key_ref *k = malloc(n * sizeof(*k));
    if (!k) {
        tged_log(ld->ctx, LOG_ERR, "%s: out of memory", ld->file);
        return -ENOMEM;
    }
    const char *name;
    json_t *v;
    size_t i = 0;
    json_object_foreach((json_t *)root, name, v)
    {
        k[i] = (struct key_ref){name, strlen(name), i};
        i++;
    }
    qsort(k, n, sizeof(*k), key_ref_cmp);
    size_t worst = NONE, first = 0;
    const char *dup = NULL;
    for (i = 1; i < n; i++) {
        if (cmp_ci(k[i].name, k[i].len, k[i - 1].name, k[i - 1].len) ||
            k[i].index > worst)
            continue;
        worst = k[i].index;
        dup = k[i].name;
        first = i - 1;
        while (first > 0 && !cmp_ci(k[first - 1].name, k[first - 1].len,
                                    k[i].name, k[i].len))
            first--;
    }
    int rc = 0;
    if (worst != NONE) {
        unsigned line, col;
        char b1[80];
        line_col(ld->buf,
                 spot_offset(ld, (struct spot){k[first].index, NONE, NONE, 1}),
                 &line, &col);
        report(ld, (struct spot){worst, NONE, NONE, 1}, dup, NULL,
               "type written before as '%s' at line %u, column %u (types "
               "compare case-insensitively)",
               shown(k[first].name, k[first].len, b1, sizeof(b1)), line, col);
        rc = -EINVAL;
    }
    free(k);
    return rc;
}

static int empty_cmp(const void *a, const void *b)
{
    const struct empty_type *x = a, *y = b;
    return cmp_ci(x->name, x->len, y->name, y->len);
}

/* Keep the types written with an empty list in d. */
static int keep_empty_types(const struct load *ld, const json_t *root,
                            struct data *d, size_t nempty)
{
    size_t total = 0;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)root, name, v)
    {
        if (json_is_array(v) && !json_array_size(v))
            total += strlen(name);
    }
    d->empty = malloc(nempty * sizeof(*d->empty));
    d->empty_text = malloc(total ? total : 1);
    if (!d->empty || !d->empty_text) {
        tged_log(ld->ctx, LOG_ERR, "%s: out of memory", ld->file);
        return -ENOMEM;
    }
    char *p = d->empty_text;
    json_object_foreach((json_t *)root, name, v)
    {
        if (!json_is_array(v) || json_array_size(v))
            continue;
        size_t len = strlen(name);
        memcpy(p, name, len);
        d->empty[d->nempty++] = (struct empty_type){p, len};
        p += len;
    }
    qsort(d->empty, d->nempty, sizeof(*d->empty), empty_cmp);
    return 0;
}

/* Check the whole tree and add its records to b; 0 or -errno after
 * logging the first error. */
static int add_all(const struct load *ld, struct tged_recset_builder *b,
                   const json_t *root, struct data *d)
{
    if (!json_is_object(root)) {
        report(ld, (struct spot){NONE, NONE, NONE, 0}, NULL, NULL,
               "the top level must be an object keyed by type, { \"TYPE\": "
               "{ record } or [ records ], ... }, not %s",
               kind_name(root));
        return -EINVAL;
    }
    int rc = check_type_names(ld, root);
    if (rc < 0)
        return rc;
    const char *type;
    json_t *v;
    size_t ti = 0, nempty = 0;
    json_object_foreach((json_t *)root, type, v)
    {
        struct spot s = {ti, NONE, NONE, 0};
        if (json_is_object(v)) {
            rc = add_record(ld, b, type, v, s);
        } else if (json_is_array(v)) {
            size_t n = json_array_size(v);
            if (n == 0 && !tged_type_valid(type, strlen(type))) {
                s.key = 1;
                report(ld, s, type, NULL,
                       "type is not valid: 1 to 63 of A-Z a-z 0-9 . _ -");
                rc = -EINVAL;
            }
            nempty += n == 0;
            for (size_t i = 0; i < n && rc == 0; i++) {
                s.elem = i;
                rc = add_record(ld, b, type, json_array_get(v, i), s);
            }
        } else {
            report(ld, s, type, NULL,
                   "must be a record { ... } or a list of records [ { ... }, "
                   "... ], not %s",
                   kind_name(v));
            rc = -EINVAL;
        }
        if (rc < 0)
            return rc;
        ti++;
    }
    return nempty ? keep_empty_types(ld, root, d, nempty) : 0;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
           (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Read, check and index the file; NULL (after logging) on any error, with
 * the reason in *err. `again` says a reload, for the log. */
static struct data *load(struct state *st, int again, int *err)
{
    struct load ld = {st->ctx, st->file, NULL, 0};
    struct timespec t0;
    char *buf = NULL;
    struct data *d = NULL;
    struct tged_recset_builder *b = NULL;
    json_t *root = NULL;
    struct json_arena arena;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    *err = read_whole(&ld, &buf, &ld.len);
    if (*err < 0)
        return NULL;
    ld.buf = buf;
    *err = -EINVAL;
    json_error_t je;
    json_arena_open(&arena);
    root = json_loadb(buf, ld.len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char tb[sizeof(je.text) * 4 + 8];
        shown(je.text, strlen(je.text), tb, sizeof(tb));
        /* jansson says column 0 at the very start of a line (at end of
         * file after a newline): that is column 1 to an editor. */
        if (je.line > 0)
            tged_log(st->ctx, LOG_ERR, "%s:%d:%d: %s", st->file, je.line,
                     je.column > 0 ? je.column : 1, tb);
        else
            tged_log(st->ctx, LOG_ERR, "%s: %s", st->file, tb);
        goto out;
    }
    d = calloc(1, sizeof(*d));
    b = tged_recset_builder_new(st->ctx);
    if (!d || !b) {
        *err = -ENOMEM;
        tged_log(st->ctx, LOG_ERR, "%s: out of memory", st->file);
        goto out;
    }
    *err = add_all(&ld, b, root, d);
    if (*err < 0)
        goto out;
    /* The tree and the text are no longer needed: free them before the
     * index is built, which is when the set needs the most memory. */
    json_decref(root);
    root = NULL;
    json_arena_close(&arena);
    free(buf);
    buf = NULL;
    d->rs = tged_recset_build(b);
    b = NULL;
    if (!d->rs) {
        *err = -ENOMEM;
        tged_log(st->ctx, LOG_ERR, "%s: out of memory", st->file);
        goto out;
    }
    char none[48] = "";
    if (d->nempty)
        snprintf(none, sizeof(none), " (%zu of them with no records)",
                 d->nempty);
    tged_log(st->ctx, LOG_INFO,
             "%s: %s%zu records of %zu types%s, %zu KiB, read in %.1f ms",
             st->file, again ? "reloaded, " : "", tged_recset_count(d->rs),
             tged_recset_types(d->rs) + d->nempty, none,
             tged_recset_memory(d->rs) >> 10, ms_since(&t0));
    *err = 0;
out:
    json_decref(root);
    json_arena_close(&arena);
    free(buf);
    tged_recset_builder_free(b);
    if (*err < 0) {
        free_data(d);
        d = NULL;
    }
    return d;
}

/* ---- the plugin ---------------------------------------------------- */

static int json_init(struct tged_instance *ctx, void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->ctx = ctx;
    json_arena_install();
    st->file = tged_get_path(ctx, "file", NULL);
    if (!st->file) {
        tged_log(ctx, LOG_ERR, "needs 'file', the JSON file of records");
        free(st);
        return -EINVAL;
    }
    /* Watch before reading, so a change made while the file is read still
     * brings a reload. */
    int rc = tged_watch(ctx, st->file);
    if (rc < 0)
        tged_log(ctx, LOG_WARNING, "%s: cannot watch: %s", st->file,
                 strerror(-rc));
    struct data *d = load(st, 0, &rc);
    if (!d) {
        free(st);
        return rc;
    }
    tged_snapshot_publish(ctx, &st->data, d, free_data);
    *state = st;
    return 0;
}

static int json_reload(struct tged_instance *ctx, void *state)
{
    struct state *st = state;
    int rc;
    struct data *d = load(st, 1, &rc);
    if (!d)
        return rc;
    tged_snapshot_publish(ctx, &st->data, d, free_data);
    return 0;
}

static int json_lookup(void *state, const struct tged_query *q,
                       struct tged_sink *sink)
{
    struct state *st = state;
    const struct data *d = tged_snapshot_get(&st->data);
    int rc = tged_recset_lookup(d->rs, q, sink);
    if (rc == TGED_NOT_MINE && d->nempty) {
        struct empty_type key = {q->type, q->type_len};
        if (bsearch(&key, d->empty, d->nempty, sizeof(key), empty_cmp))
            return TGED_NO_MATCH;
    }
    return rc;
}

static void json_close(void *state)
{
    struct state *st = state;
    free_data(st->data);
    free(st);
}

static const struct tged_setting settings[] = {
    {"file", TGED_SETTING_PATH, TGED_SETTING_REQUIRED,
     "the JSON file: { \"TYPE\": { record } or [ records ], ... }; watched "
     "and re-read on change"},
    {0},
};

TGED_PLUGIN(.name = "json", .version = "1.0",
            .description = "records from a watched JSON file keyed by type",
            .settings = settings, .init = json_init, .lookup = json_lookup,
            .reload = json_reload, .close = json_close);
