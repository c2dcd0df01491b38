/* tests/fuzz/fuzz_static_reader.c - the static backend's fast reader,
 * against libconfig.
 *
 * The input is a records file. The fast reader (records_reader.c) reads
 * it into a builder of its own. When it takes the file, the libconfig way
 * of static.c (load_libconfig(), the tree walk that was the only reader
 * before) must take it too, and both must have added the same records,
 * call for call: the same types, fields in the same order, the same
 * values, to the byte. When the fast reader gives up, nothing is asserted
 * (libconfig then takes the file or refuses it with its message), but the
 * line it names is a line of the input.
 *
 * Both .c files are included, as fuzz_static.c does, so that their calls
 * to tged_recset_add() go through fuzz_host.h's checks and are traced
 * here.
 *
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "fuzz.h"
#include "fuzz_host.h"

/* What one reader added: for each call, its result, the type and every
 * name and value, each as a length and the bytes. */
struct trace {
    char *buf;
    size_t len, cap;
};

static struct trace traces[2];
static struct trace *tracing;

static void trace_bytes(struct trace *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n)
            cap *= 2;
        t->buf = realloc(t->buf, cap);
        FUZZ_CHECK(t->buf != NULL);
        t->cap = cap;
    }
    if (n)
        memcpy(t->buf + t->len, p, n);
    t->len += n;
}

static void trace_text(struct trace *t, const char *s, size_t n)
{
    trace_bytes(t, &n, sizeof(n));
    trace_bytes(t, s, n);
}

static int trace_add(struct tged_recset_builder *b, const char *type,
                     size_t type_len, const struct tged_field *fields,
                     size_t nfields)
{
    int rc = fuzz_recset_add(b, type, type_len, fields, nfields);
    if (tracing) {
        trace_bytes(tracing, &rc, sizeof(rc));
        trace_text(tracing, type, type_len);
        trace_bytes(tracing, &nfields, sizeof(nfields));
        for (size_t i = 0; i < nfields; i++) {
            trace_text(tracing, fields[i].name, fields[i].name_len);
            trace_text(tracing, fields[i].value, fields[i].value_len);
        }
    }
    return rc;
}

#undef tged_recset_add
#define tged_recset_add trace_add

#include "../../plugins/static/static.c"
#include "../../plugins/static/records_reader.c"

/* Print a trace readably, for a report. */
static void trace_print(const char *who, const struct trace *t)
{
    fprintf(fuzz_err, "%s added:\n", who);
    size_t at = 0;
    while (at < t->len) {
        int rc;
        size_t n, nf;
        memcpy(&rc, t->buf + at, sizeof(rc));
        at += sizeof(rc);
        memcpy(&n, t->buf + at, sizeof(n));
        at += sizeof(n);
        fprintf(fuzz_err, "  rc %d type '%.*s':", rc, (int)n, t->buf + at);
        at += n;
        memcpy(&nf, t->buf + at, sizeof(nf));
        at += sizeof(nf);
        for (size_t i = 0; i < 2 * nf; i++) {
            memcpy(&n, t->buf + at, sizeof(n));
            at += sizeof(n);
            fprintf(fuzz_err, i % 2 ? " '%.*s';" : " '%.*s' =", (int)n,
                    t->buf + at);
            at += n;
        }
        fprintf(fuzz_err, "\n");
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_instance();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tged_instance *ctx = fuzz_instance();
    fuzz_records_reset();
    const char *path = fuzz_dir_file("records.conf", data, size);

    struct tged_recset_builder *b = tged_recset_builder_new(ctx);
    FUZZ_CHECK(b != NULL);
    unsigned line;
    traces[0].len = 0;
    tracing = &traces[0];
    int rc = static_records_read(path, b, &line);
    tracing = NULL;
    if (rc != STATIC_READ_DONE) {
        FUZZ_CHECK(rc == STATIC_READ_NOT_HANDLED);
        struct fuzz_extent e;
        fuzz_extent_of(&e, data, size);
        FUZZ_CHECK(line <= e.lines);
        tged_recset_builder_free(b);
        return 0;
    }
    FUZZ_CHECK(line == 0);
    struct tged_recset *fast = tged_recset_build(b);
    FUZZ_CHECK(fast != NULL);

    struct state st = {.ctx = ctx, .file = path};
    traces[1].len = 0;
    tracing = &traces[1];
    fuzz_watch_positions(path, data, size);
    struct tged_recset *slow = load_libconfig(&st);
    fuzz_watch_positions(NULL, NULL, 0);
    tracing = NULL;
    int same = slow && traces[0].len == traces[1].len &&
               (!traces[0].len ||
                !memcmp(traces[0].buf, traces[1].buf, traces[0].len));
    if (!same) {
        fprintf(fuzz_err, "the fast reader took a file that libconfig %s\n",
                slow ? "reads differently"
                     : "refuses (TGED_FUZZ_LOG=1 shows why)");
        trace_print("the fast reader", &traces[0]);
        trace_print("libconfig", &traces[1]);
    }
    FUZZ_CHECK(slow != NULL);
    FUZZ_CHECK(same);
    FUZZ_CHECK(tged_recset_count(fast) == tged_recset_count(slow));
    FUZZ_CHECK(tged_recset_types(fast) == tged_recset_types(slow));
    FUZZ_CHECK(tged_recset_memory(fast) == tged_recset_memory(slow));
    fuzz_serve_check(fast);
    tged_recset_free(fast);
    tged_recset_free(slow);
    return 0;
}
