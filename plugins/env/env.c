/* plugins/env/env.c - records from the process environment and an env file.
 *
 * Variables named <PREFIX><TYPE>__<FIELD> or <PREFIX><TYPE>__<N>__<FIELD>
 * (grammar in scheme.c and docs/backends/env.md) become records. The
 * environment is read once, at init: it cannot change under a running
 * process. The optional file, in the KEY=VALUE format of systemd's
 * EnvironmentFile= and docker's --env-file, is watched and re-read whole;
 * both sources are then checked together and only a fully good result is
 * published.
 *
 * The environment is shared with everything else the process runs with,
 * so a variable that has the prefix but not the form of a record variable
 * is only warned about there; in the file, which exists for tged, it is an
 * error.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tged/plugin.h>

#include "scheme.h"

extern char **environ;

/* A larger file is refused rather than read: it is not a list of records
 * someone wrote. */
#define MAX_FILE (64u << 20)
/* Longer names cannot decode to a valid type and field. */
#define MAX_NAME 1024
#define MAX_PREFIX 200
/* Problems logged per load; the rest are counted. */
#define MAX_REPORTS 20
/* Room for a path in a log line. */
#define PATH_MAX_SHOWN 4200

struct var {
    char *mem;        /* owns name, type, field and value */
    const char *name; /* as written, NUL-terminated */
    const char *type;
    size_t type_len;
    const char *field;
    size_t field_len;
    const char *value;
    size_t value_len;
    uint32_t index;
    unsigned digits;
    int numbered;
    unsigned line; /* 0: from the environment */
    size_t seq;    /* order read: the last key of the sort */
};

struct vars {
    struct var *v;
    size_t n, cap;
};

struct state {
    struct tged_instance *ctx;
    const char *prefix;
    size_t prefix_len;
    const char *file; /* NULL: none */
    int use_env;
    struct vars env; /* read at init, kept for every reload */
    void *records;   /* struct tged_recset * */
};

/* A problem kept to be logged. */
struct problem {
    unsigned line; /* 0: the environment, logged first */
    int prio;
    char text[640];
};

/* One reading of the sources. Problems are found record by record, not
 * line by line, so the first MAX_REPORTS (errors, then warnings, each in
 * line order) are kept and logged at the end. */
struct load {
    struct state *st;
    unsigned errors, warnings, found;
    unsigned nkept;
    struct problem kept[MAX_REPORTS];
};

static void vars_free(struct vars *vs)
{
    for (size_t i = 0; i < vs->n; i++)
        free(vs->v[i].mem);
    free(vs->v);
    memset(vs, 0, sizeof(*vs));
}

/* A name fit for a log line: control and non-ASCII bytes as '?', long
 * ones cut. */
static const char *shown(const char *s, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 4 < cap; i++)
        buf[o++] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (o < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static void report(struct load *ld, int prio, unsigned line, const char *name,
                   size_t name_len, const char *fmt, ...) TGED_PRINTF(6, 7);
static void report(struct load *ld, int prio, unsigned line, const char *name,
                   size_t name_len, const char *fmt, ...)
{
    if (prio <= LOG_ERR)
        ld->errors++;
    else
        ld->warnings++;
    ld->found++;
    /* Errors first, so that warnings never hide why a load failed. */
    int warn = prio > LOG_ERR;
    size_t at = ld->nkept;
    while (at > 0 && ((ld->kept[at - 1].prio > LOG_ERR) > warn ||
                      ((ld->kept[at - 1].prio > LOG_ERR) == warn &&
                       ld->kept[at - 1].line > line)))
        at--;
    if (at == MAX_REPORTS)
        return;
    if (ld->nkept < MAX_REPORTS)
        ld->nkept++;
    memmove(&ld->kept[at + 1], &ld->kept[at],
            (ld->nkept - 1 - at) * sizeof(ld->kept[0]));
    struct problem *p = &ld->kept[at];
    p->line = line;
    p->prio = prio;
    char msg[512], nbuf[96], where[64] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line)
        snprintf(where, sizeof(where), ":%u", line);
    if (name_len)
        snprintf(p->text, sizeof(p->text), "%s: %s: %s", where,
                 shown(name, name_len, nbuf, sizeof(nbuf)), msg);
    else
        snprintf(p->text, sizeof(p->text), "%s: %s", where, msg);
}

/* Log the problems kept. */
static void flush(struct load *ld)
{
    for (unsigned i = 0; i < ld->nkept; i++)
        tged_log(ld->st->ctx, ld->kept[i].prio, "%s%s",
                 ld->kept[i].line ? ld->st->file : "environment",
                 ld->kept[i].text);
    if (ld->found > ld->nkept)
        tged_log(ld->st->ctx, ld->errors ? LOG_ERR : LOG_WARNING,
                 "%u more problems not shown", ld->found - ld->nkept);
    ld->nkept = ld->found = 0;
}

static void report_var(struct load *ld, const struct var *v, const char *fmt,
                       ...) TGED_PRINTF(3, 4);
static void report_var(struct load *ld, const struct var *v, const char *fmt,
                       ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report(ld, LOG_ERR, v->line, v->name, strlen(v->name), "%s", msg);
}

/* "environment: NAME" or "FILE:LINE: NAME", to point at a second variable
 * from a message about another. */
static const char *where(const struct state *st, const struct var *v, char *buf,
                         size_t cap)
{
    char nbuf[96];
    shown(v->name, strlen(v->name), nbuf, sizeof(nbuf));
    if (v->line)
        snprintf(buf, cap, "%s:%u: %s", st->file, v->line, nbuf);
    else
        snprintf(buf, cap, "environment: %s", nbuf);
    return buf;
}

/* Take one variable that has the prefix. A name not of the scheme is
 * reported at `prio` and skipped; its value is checked later, with its
 * record. Returns 0 or -ENOMEM. */
static int add_var(struct load *ld, struct vars *vs, int prio, unsigned line,
                   const char *name, size_t name_len, const char *value,
                   size_t value_len)
{
    struct state *st = ld->st;
    const char *rest = name + st->prefix_len;
    size_t rest_len = name_len - st->prefix_len;
    const char *ignored = prio <= LOG_ERR ? "" : "; ignored";
    if (name_len > MAX_NAME) {
        report(ld, prio, line, name, name_len,
               "not a record variable: name longer than %d bytes%s", MAX_NAME,
               ignored);
        return 0;
    }
    if (value_len > MAX_NAME * 64) {
        /* Far beyond what a field holds; the builder would refuse it, but
         * there is no need to copy it first. */
        value_len = MAX_NAME * 64;
    }
    char *mem = malloc(name_len + 1 + rest_len + value_len + 1);
    if (!mem)
        return -ENOMEM;
    memcpy(mem, name, name_len);
    mem[name_len] = '\0';
    char *dec = mem + name_len + 1;
    char *val = dec + rest_len;
    memcpy(val, value, value_len);
    val[value_len] = '\0';

    struct env_name n;
    char err[256];
    if (env_name_decode(rest, rest_len, dec, &n, err, sizeof(err)) < 0) {
        report(ld, prio, line, name, name_len, "not a record variable: %s%s",
               err, ignored);
        free(mem);
        return 0;
    }
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 32;
        struct var *v = realloc(vs->v, cap * sizeof(*v));
        if (!v) {
            free(mem);
            return -ENOMEM;
        }
        vs->v = v;
        vs->cap = cap;
    }
    vs->v[vs->n] = (struct var){
        .mem = mem,
        .name = mem,
        .type = n.type,
        .type_len = n.type_len,
        .field = n.field,
        .field_len = n.field_len,
        .value = val,
        .value_len = value_len,
        .index = n.index,
        .digits = n.digits,
        .numbered = n.numbered,
        .line = line,
        .seq = vs->n,
    };
    vs->n++;
    return 0;
}

static int has_prefix(const struct state *st, const char *name, size_t len)
{
    return len >= st->prefix_len &&
           memcmp(name, st->prefix, st->prefix_len) == 0;
}

static int read_environment(struct load *ld)
{
    struct state *st = ld->st;
    for (char **e = environ; e && *e; e++) {
        const char *s = *e;
        const char *eq = strchr(s, '=');
        size_t nlen = eq ? (size_t)(eq - s) : strlen(s);
        if (!has_prefix(st, s, nlen))
            continue;
        if (!eq) {
            report(ld, LOG_WARNING, 0, s, nlen,
                   "an environment entry without '='; ignored");
            continue;
        }
        int rc = add_var(ld, &st->env, LOG_WARNING, 0, s, nlen, eq + 1,
                         strlen(eq + 1));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The whole file, NUL-terminated; NULL after logging. */
static char *slurp(struct state *st, size_t *len)
{
    int fd = open(st->file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        tged_log(st->ctx, LOG_ERR, "%s: cannot open: %s", st->file,
                 strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        tged_log(st->ctx, LOG_ERR, "%s: not a regular file", st->file);
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)sb.st_size + 1, n = 0;
    if (sb.st_size >= (off_t)MAX_FILE)
        goto too_big;
    char *buf = malloc(cap + 1);
    if (!buf) {
        tged_log(st->ctx, LOG_ERR, "%s: out of memory", st->file);
        close(fd);
        return NULL;
    }
    for (;;) {
        /* The file may grow while it is read: take what is there, up to
         * the limit; a later change notice reads it again. */
        if (n == cap) {
            if (cap >= MAX_FILE) {
                free(buf);
                goto too_big;
            }
            size_t ncap = cap * 2 < MAX_FILE ? cap * 2 : MAX_FILE;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                tged_log(st->ctx, LOG_ERR, "%s: out of memory", st->file);
                close(fd);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            tged_log(st->ctx, LOG_ERR, "%s: cannot read: %s", st->file,
                     strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
too_big:
    tged_log(st->ctx, LOG_ERR, "%s: larger than %u MiB; not read", st->file,
             MAX_FILE >> 20);
    close(fd);
    return NULL;
}

/* Read the file's records into vs. Returns 0 (problems are counted in ld)
 * or -errno when the file could not be read at all. */
static int read_file(struct load *ld, struct vars *vs, size_t *foreign)
{
    struct state *st = ld->st;
    size_t len;
    char *text = slurp(st, &len);
    if (!text)
        return -EIO;
    const char *p = text, *end = text + len;
    /* A byte order mark would glue itself to the first name, which would
     * then silently lack the prefix. */
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    int rc = 0;
    for (unsigned line = 1; p < end && rc == 0; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *s = p;
        p = nl ? nl + 1 : end;
        if (n && s[n - 1] == '\r')
            n--;
        if (memchr(s, '\0', n)) {
            report(ld, LOG_ERR, line, "", 0, "a NUL byte; not a text file?");
            continue;
        }
        struct env_line l;
        int kind = env_line_split(s, n, &l);
        if (kind == ENV_LINE_EMPTY)
            continue;
        if (!has_prefix(st, l.name, l.name_len)) {
            (*foreign)++;
            continue;
        }
        if (kind == ENV_LINE_NO_EQUALS) {
            report(ld, LOG_ERR, line, l.name, l.name_len,
                   "not NAME=value (docker would copy a name alone from its "
                   "own environment; tged reads values from the file only)");
            continue;
        }
        if (kind == ENV_LINE_SPACE_EQUALS) {
            report(ld, LOG_ERR, line, l.name, l.name_len,
                   "white space before '=' (write NAME=value)");
            continue;
        }
        const char *v;
        size_t vlen;
        char err[256];
        if (env_value_parse(l.rest, l.rest_len, &v, &vlen, err, sizeof(err))) {
            report(ld, LOG_ERR, line, l.name, l.name_len, "%s", err);
            continue;
        }
        rc = add_var(ld, vs, LOG_ERR, line, l.name, l.name_len, v, vlen);
    }
    free(text);
    return rc;
}

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

/* ASCII order of the upper-case forms. */
static int cmp_ci(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    for (size_t i = 0; i < n; i++) {
        int x = upper((unsigned char)a[i]), y = upper((unsigned char)b[i]);
        if (x != y)
            return x - y;
    }
    return (al > bl) - (al < bl);
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Type, unnumbered before numbered, number, field, then where written:
 * every record's variables end up together, in a fixed order. */
static int var_cmp(const void *pa, const void *pb)
{
    const struct var *a = *(const struct var *const *)pa;
    const struct var *b = *(const struct var *const *)pb;
    int c = cmp_ci(a->type, a->type_len, b->type, b->type_len);
    if (c)
        return c;
    if (a->numbered != b->numbered)
        return a->numbered - b->numbered;
    if (a->index != b->index)
        return a->index < b->index ? -1 : 1;
    c = cmp_ci(a->field, a->field_len, b->field, b->field_len);
    if (c)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static const char *record_name(const struct var *v, char *buf, size_t cap)
{
    if (v->numbered)
        snprintf(buf, cap, "record %u of type %.*s", v->index, (int)v->type_len,
                 v->type);
    else
        snprintf(buf, cap, "the record of type %.*s", (int)v->type_len,
                 v->type);
    return buf;
}

/* Check one record's variables [r, r + n) among themselves; 0 when good. */
static int check_record(struct load *ld, struct var **r, size_t n)
{
    char w[256], rn[128];
    int bad = 0;
    for (size_t i = 1; i < n; i++) {
        if ((r[i]->line == 0) != (r[0]->line == 0)) {
            const struct var *f = r[i]->line ? r[i] : r[0];
            const struct var *e = r[i]->line ? r[0] : r[i];
            report_var(ld, f,
                       "%s is also set in the environment (%s); a record is "
                       "written in one place",
                       record_name(f, rn, sizeof(rn)),
                       where(ld->st, e, w, sizeof(w)));
            bad = 1;
            break;
        }
    }
    for (size_t i = 1; i < n; i++) {
        if (r[i]->digits != r[0]->digits) {
            report_var(ld, r[i],
                       "record number written '%0*u' here and '%0*u' in %s; "
                       "write one number one way",
                       (int)r[i]->digits, r[i]->index, (int)r[0]->digits,
                       r[0]->index, where(ld->st, r[0], w, sizeof(w)));
            bad = 1;
            break;
        }
    }
    for (size_t i = 1; i < n; i++) {
        if (!cmp_ci(r[i]->field, r[i]->field_len, r[i - 1]->field,
                    r[i - 1]->field_len)) {
            report_var(ld, r[i], "sets field %.*s of %s again (see %s)",
                       (int)r[i]->field_len, r[i]->field,
                       record_name(r[i], rn, sizeof(rn)),
                       where(ld->st, r[i - 1], w, sizeof(w)));
            bad = 1;
        }
    }
    return bad;
}

static void fill_fields(struct var **r, size_t n, struct tged_field *f)
{
    for (size_t i = 0; i < n; i++)
        f[i] = (struct tged_field){r[i]->field, r[i]->field_len, r[i]->value,
                                   r[i]->value_len};
}

/* Report the first field the builder refuses on its own, at the variable
 * it comes from, in the builder's words; 1 when one was found. */
static int blame_field(struct load *ld, const struct var *spell, struct var **r,
                       size_t n, const struct tged_field *f)
{
    for (size_t i = 0; i < n; i++) {
        struct tged_recset_builder *one = tged_recset_builder_new(ld->st->ctx);
        if (!one)
            return 0;
        int rc = tged_recset_add(one, spell->type, spell->type_len, &f[i], 1);
        if (rc < 0 && rc != -ENOMEM)
            report_var(ld, r[i], "%s", tged_recset_builder_error(one));
        tged_recset_builder_free(one);
        if (rc < 0)
            return 1;
    }
    return 0;
}

/* Add one record. A refusal is reported at the variable it comes from
 * when it is about one field, else at the record's first variable.
 * Returns -ENOMEM, else 0 (errors counted in ld). */
static int add_record(struct load *ld, struct tged_recset_builder *b,
                      const struct var *spell, struct var **r, size_t n,
                      struct tged_field *f)
{
    fill_fields(r, n, f);
    int rc = tged_recset_add(b, spell->type, spell->type_len, f, n);
    if (rc == -ENOMEM) {
        report_var(ld, r[0], "out of memory");
        return rc;
    }
    if (rc == 0 || blame_field(ld, spell, r, n, f))
        return 0;
    char rn[128];
    report_var(ld, r[0], "%s: %s", record_name(r[0], rn, sizeof(rn)),
               tged_recset_builder_error(b));
    return 0;
}

/* Every variable of both sources into one record set; NULL (after
 * logging) on any error. */
static struct tged_recset *build(struct load *ld, struct vars *file)
{
    struct state *st = ld->st;
    size_t n = st->env.n + (file ? file->n : 0);
    struct var **all = malloc((n ? n : 1) * sizeof(*all));
    struct tged_field *f = malloc((n ? n : 1) * sizeof(*f));
    struct tged_recset_builder *b = tged_recset_builder_new(st->ctx);
    if (!all || !f || !b) {
        tged_log(st->ctx, LOG_ERR, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < st->env.n; i++)
        all[i] = &st->env.v[i];
    for (size_t i = 0; file && i < file->n; i++)
        all[st->env.n + i] = &file->v[i];
    qsort(all, n, sizeof(*all), var_cmp);

    char w[256];
    for (size_t t0 = 0, t1; t0 < n; t0 = t1) {
        for (t1 = t0 + 1; t1 < n && !cmp_ci(all[t0]->type, all[t0]->type_len,
                                            all[t1]->type, all[t1]->type_len);
             t1++)
            ;
        /* Answer with the spelling that sorts first in byte order, so
         * that answers do not depend on the order variables came in. */
        const struct var *spell = all[t0];
        for (size_t i = t0 + 1; i < t1; i++)
            if (cmp_bytes(all[i]->type, all[i]->type_len, spell->type,
                          spell->type_len) < 0)
                spell = all[i];
        if (!all[t0]->numbered && all[t1 - 1]->numbered) {
            size_t k = t0;
            while (!all[k]->numbered)
                k++;
            report_var(ld, all[k],
                       "type %.*s is written both with record numbers and "
                       "without (%s); number every record of a type, or "
                       "none",
                       (int)all[k]->type_len, all[k]->type,
                       where(st, all[t0], w, sizeof(w)));
        }
        for (size_t r0 = t0, r1; r0 < t1; r0 = r1) {
            for (r1 = r0 + 1;
                 r1 < t1 && all[r1]->numbered == all[r0]->numbered &&
                 all[r1]->index == all[r0]->index;
                 r1++)
                ;
            if (check_record(ld, all + r0, r1 - r0)) {
                /* Still say what else is wrong with its fields. */
                fill_fields(all + r0, r1 - r0, f);
                blame_field(ld, spell, all + r0, r1 - r0, f);
                continue;
            }
            if (add_record(ld, b, spell, all + r0, r1 - r0, f) < 0)
                goto fail;
        }
    }
    if (ld->errors)
        goto fail;
    free(all);
    free(f);
    struct tged_recset *rs = tged_recset_build(b);
    if (!rs)
        tged_log(st->ctx, LOG_ERR, "out of memory");
    return rs;
fail:
    free(all);
    free(f);
    tged_recset_builder_free(b);
    return NULL;
}

/* Read the file (when there is one) and build with the environment's
 * variables. */
static struct tged_recset *load(struct state *st, struct load *ld,
                                size_t *file_vars, size_t *foreign)
{
    struct vars fv = {0};
    *file_vars = *foreign = 0;
    if (st->file) {
        /* With errors in the file, go on all the same: the build reports
         * the records' problems too, then refuses. */
        if (read_file(ld, &fv, foreign) < 0) {
            vars_free(&fv);
            return NULL;
        }
        *file_vars = fv.n;
    }
    struct tged_recset *rs = build(ld, st->file ? &fv : NULL);
    vars_free(&fv);
    return rs;
}

static void free_records(void *rs)
{
    tged_recset_free(rs);
}

static int prefix_valid(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > MAX_PREFIX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '=')
            return 0;
    return 1;
}

static void close_state(struct state *st)
{
    vars_free(&st->env);
    tged_recset_free(st->records);
    free(st);
}

/* One line saying what is served and where it came from. */
static void summary(struct state *st, struct tged_recset *rs, size_t file_vars,
                    size_t foreign, int reloaded)
{
    char env[64] = "", file[PATH_MAX_SHOWN] = "";
    size_t nr = tged_recset_count(rs), nt = tged_recset_types(rs);
    if (st->use_env)
        snprintf(env, sizeof(env), "; environment: %zu variable%s", st->env.n,
                 st->env.n == 1 ? "" : "s");
    if (st->file)
        snprintf(file, sizeof(file), "; %s: %zu variable%s%s", st->file,
                 file_vars, file_vars == 1 ? "" : "s",
                 foreign ? " (lines of other names ignored)" : "");
    tged_log(st->ctx, LOG_INFO, "%s%zu record%s of %zu type%s%s%s",
             reloaded ? "reloaded: " : "", nr, nr == 1 ? "" : "s", nt,
             nt == 1 ? "" : "s", env, file);
    if (!nr && !reloaded)
        tged_log(st->ctx, LOG_WARNING,
                 "no records: no variable named %s<TYPE>__<FIELD> or "
                 "%s<TYPE>__<N>__<FIELD>%s",
                 st->prefix, st->prefix,
                 st->use_env && st->file ? " in the environment or the file"
                 : st->file              ? " in the file"
                                         : " in the environment");
}

static int env_init(struct tged_instance *ctx, void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->ctx = ctx;
    st->prefix = tged_get_string(ctx, "prefix", "TGED_");
    st->prefix_len = strlen(st->prefix);
    st->use_env = tged_get_bool(ctx, "environment", 1);
    st->file = tged_get_path(ctx, "file", NULL);
    if (!prefix_valid(st->prefix)) {
        const struct tged_cfg *c = tged_get_cfg(ctx, "prefix");
        tged_log(ctx, LOG_ERR,
                 "%s:%u: prefix: must be 1 to %d visible ASCII characters, "
                 "without '='",
                 c ? tged_cfg_file(c) : "?", c ? tged_cfg_line(c) : 0,
                 MAX_PREFIX);
        free(st);
        return -EINVAL;
    }
    if (!st->use_env && !st->file) {
        const struct tged_cfg *c = tged_get_cfg(ctx, "environment");
        tged_log(ctx, LOG_ERR,
                 "%s:%u: environment = false and no 'file': there is "
                 "nothing to read records from",
                 c ? tged_cfg_file(c) : "?", c ? tged_cfg_line(c) : 0);
        free(st);
        return -EINVAL;
    }
    struct load ld = {.st = st};
    if (st->use_env && read_environment(&ld) < 0) {
        flush(&ld);
        tged_log(ctx, LOG_ERR, "out of memory");
        close_state(st);
        return -ENOMEM;
    }
    size_t file_vars, foreign;
    struct tged_recset *rs = load(st, &ld, &file_vars, &foreign);
    flush(&ld);
    if (!rs) {
        close_state(st);
        return -EINVAL;
    }
    tged_snapshot_publish(ctx, &st->records, rs, free_records);
    if (st->file) {
        int rc = tged_watch(ctx, st->file);
        if (rc < 0)
            tged_log(ctx, LOG_WARNING, "%s: cannot watch: %s", st->file,
                     strerror(-rc));
    }
    summary(st, rs, file_vars, foreign, 0);
    *state = st;
    return 0;
}

static int env_reload(struct tged_instance *ctx, void *state)
{
    struct state *st = state;
    if (!st->file)
        return 0;
    struct load ld = {.st = st};
    size_t file_vars, foreign;
    struct tged_recset *rs = load(st, &ld, &file_vars, &foreign);
    flush(&ld);
    if (!rs)
        return ld.errors ? -EINVAL : -EIO;
    tged_snapshot_publish(ctx, &st->records, rs, free_records);
    summary(st, rs, file_vars, foreign, 1);
    return 0;
}

static int env_lookup(void *state, const struct tged_query *q,
                      struct tged_sink *sink)
{
    struct state *st = state;
    return tged_recset_lookup(tged_snapshot_get(&st->records), q, sink);
}

static void env_close(void *state)
{
    close_state(state);
}

static const struct tged_setting settings[] = {
    {"prefix", TGED_SETTING_STRING, 0,
     "variables named <prefix><TYPE>__<FIELD> or <prefix><TYPE>__<N>__<FIELD> "
     "are records (default \"TGED_\")"},
    {"file", TGED_SETTING_PATH, 0,
     "a file of NAME=value lines (systemd EnvironmentFile=, docker "
     "--env-file); watched and re-read on change"},
    {"environment", TGED_SETTING_BOOL, 0,
     "read the process environment at start (default true)"},
    {0},
};

TGED_PLUGIN(.name = "env", .version = "1.0",
            .description = "records from environment variables, for "
                           "containers and systemd units, and from a "
                           "watched env file",
            .settings = settings, .init = env_init, .lookup = env_lookup,
            .reload = env_reload, .close = env_close);
