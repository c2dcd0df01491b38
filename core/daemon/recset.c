/* core/daemon/recset.c - immutable record sets, indexed by type and field.
 *
 * Each record's field lines are formatted once, when the set is built; a
 * lookup only copies them behind the RQ and ID lines. Records are grouped
 * by type (keeping their order), and every (type, field, value) triple is
 * a key of a hash index whose posting lists name records in order, so an
 * unfiltered or filtered lookup costs the same at 10 records or 10^6.
 *
 * Memory: 12 bytes a record, 4 a field, and about 16 a field in the index
 * (less for a value only one record has), besides the formatted text.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../lib/fold.h"
#include "host.h"
#include "sink.h"

struct rs_record {
    uint32_t text_off; /* field block in text */
    uint32_t field_off;
    uint32_t type; /* index in types */
    uint16_t text_len;
    uint16_t nfields;
};

/* A field inside its record's block: the name starts at name_off, the
 * value two bytes (": ") after the name. */
struct rs_field {
    uint16_t name_off;
    uint8_t name_len;
    uint8_t value_len;
};

struct rs_type {
    uint32_t name_off; /* type as first spelled, in text */
    uint32_t first;    /* records [first, first + count) */
    uint32_t count;
    uint8_t name_len;
};

struct rs_slot {
    uint32_t tag; /* upper half of the key's hash */
    uint32_t val; /* UINT32_MAX = empty */
};

#define POST_LAST 0x80000000u
/* In a key slot: the key's only record, in place of a posting list. Most
 * filters name one record (a host, an address), and the lookup then skips
 * a posting list that would cost a cache miss of its own. */
#define SLOT_REC 0x80000000u

/* A built set keeps each record as one block, in type order: its head,
 * its fields, its text. A lookup reads a record from a single place (one
 * or two cache lines), where separate arrays of records, fields and text
 * cost a cache miss each among 100 000 records. Blocks start at multiples
 * of 4; postings and key slots name records by their block's offset. */
struct rs_head {
    uint32_t type;
    uint16_t text_len;
    uint16_t nfields;
};

struct tged_recset {
    char *text;     /* the type names, then the record blocks */
    uint32_t *recs; /* block offsets, in type order */
    struct rs_type *types;
    uint32_t *post; /* record numbers; POST_LAST ends a list */
    uint32_t npost;
    struct rs_slot *tslots, *kslots;
    uint32_t nrecs, ntypes, nfields, tcap, kcap;
    size_t text_len;
    void *map; /* all of the above in one mapping (large sets), or NULL */
    size_t map_len;
};

struct tged_recset_builder {
    size_t block_limit;
    char *text;
    size_t text_len, text_cap;
    struct rs_record *recs;
    size_t nrecs, rec_cap;
    struct rs_field *fields;
    size_t nfields, field_cap;
    struct rs_type *types;
    size_t ntypes, type_cap;
    struct rs_slot *tslots; /* open addressing over types while building */
    size_t tcap;
    char err[160];
};

static inline uint64_t key_hash(uint32_t type, uint64_t name_hash,
                                uint64_t value_hash)
{
    return fold_mix64(name_hash ^ (value_hash * 0x9e3779b97f4a7c15ULL) ^
                      ((uint64_t)type << 17) ^ type);
}

/* A slot index in [0, cap) from the lower half of the hash. */
static inline uint32_t slot_of(uint64_t h, uint32_t cap)
{
    return (uint32_t)(((h & 0xffffffffu) * (uint64_t)cap) >> 32);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

TGED_API struct tged_recset_builder *
tged_recset_builder_new(const struct tged_instance *ctx)
{
    struct tged_recset_builder *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    size_t max = ctx ? tged_max_reply_size(ctx) : TGED_DEFAULT_REPLY_SIZE;
    b->block_limit = sink_block_limit(max);
    return b;
}

TGED_API void tged_recset_builder_free(struct tged_recset_builder *b)
{
    if (!b)
        return;
    free(b->text);
    free(b->recs);
    free(b->fields);
    free(b->types);
    free(b->tslots);
    free(b);
}

TGED_API const char *
tged_recset_builder_error(const struct tged_recset_builder *b)
{
    return b->err;
}

static int fail(struct tged_recset_builder *b, int rc, const char *fmt, ...)
    TGED_PRINTF(3, 4);
static int fail(struct tged_recset_builder *b, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, sizeof(b->err), fmt, ap);
    va_end(ap);
    return rc;
}

static int text_append(struct tged_recset_builder *b, const char *s, size_t len)
{
    if (grow((void **)&b->text, &b->text_cap, b->text_len + len, 1))
        return -ENOMEM;
    memcpy(b->text + b->text_len, s, len);
    b->text_len += len;
    return 0;
}

/* The type's index, adding it when new; -ENOMEM. */
static long builder_type(struct tged_recset_builder *b, const char *type,
                         size_t len)
{
    uint64_t h = fold_hash(type, len);
    if (b->ntypes * 2 + 2 > b->tcap) {
        size_t ncap = b->tcap ? b->tcap * 2 : 64;
        struct rs_slot *ns = malloc(ncap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        memset(ns, 0xff, ncap * sizeof(*ns));
        for (size_t i = 0; i < b->ntypes; i++) {
            const struct rs_type *t = &b->types[i];
            uint64_t th = fold_hash(b->text + t->name_off, t->name_len);
            uint32_t s = slot_of(th, (uint32_t)ncap);
            while (ns[s].val != UINT32_MAX)
                s = s + 1 == ncap ? 0 : s + 1;
            ns[s].tag = (uint32_t)(th >> 32);
            ns[s].val = (uint32_t)i;
        }
        free(b->tslots);
        b->tslots = ns;
        b->tcap = ncap;
    }
    uint32_t s = slot_of(h, (uint32_t)b->tcap);
    for (;;) {
        struct rs_slot *sl = &b->tslots[s];
        if (sl->val == UINT32_MAX)
            break;
        const struct rs_type *t = &b->types[sl->val];
        if (sl->tag == (uint32_t)(h >> 32) &&
            fold_name_eq(b->text + t->name_off, t->name_len, type, len))
            return sl->val;
        s = s + 1 == b->tcap ? 0 : s + 1;
    }
    if (grow((void **)&b->types, &b->type_cap, b->ntypes + 1,
             sizeof(*b->types)))
        return -ENOMEM;
    struct rs_type *t = &b->types[b->ntypes];
    t->name_off = (uint32_t)b->text_len;
    t->name_len = (uint8_t)len;
    t->first = t->count = 0;
    if (text_append(b, type, len))
        return -ENOMEM;
    b->tslots[s].tag = (uint32_t)(h >> 32);
    b->tslots[s].val = (uint32_t)b->ntypes;
    return (long)b->ntypes++;
}

/* A name from a file, fit for a log line: control bytes and non-ASCII
 * written as \xNN, cut at 80 bytes. A type such as "A\nfake log line"
 * must not forge log lines. */
static const char *printable(const char *s, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && i < 80 && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

TGED_API int tged_recset_add_type(struct tged_recset_builder *b,
                                  const char *type, size_t type_len)
{
    char pb[400];
    b->err[0] = '\0';
    if (!tged_type_valid(type, type_len))
        return fail(b, -EINVAL,
                    "type '%s' is not valid: 1 to 63 of A-Z a-z 0-9 . _ -",
                    printable(type, type_len, pb, sizeof(pb)));
    return builder_type(b, type, type_len) < 0
               ? fail(b, -ENOMEM, "out of memory")
               : 0;
}

TGED_API int tged_recset_add(struct tged_recset_builder *b, const char *type,
                             size_t type_len, const struct tged_field *fields,
                             size_t nfields)
{
    char pb[400];
    b->err[0] = '\0';
    if (!tged_type_valid(type, type_len))
        return fail(b, -EINVAL,
                    "type '%s' is not valid: 1 to 63 of A-Z a-z 0-9 . _ -",
                    printable(type, type_len, pb, sizeof(pb)));
    if (nfields == 0)
        return fail(b, -EINVAL, "a record needs at least one field");
    if (nfields > TGED_MSG_HEADERS - 2)
        return fail(b, -E2BIG, "a record has at most %d fields",
                    TGED_MSG_HEADERS - 2);
    size_t size = 0;
    for (size_t i = 0; i < nfields; i++) {
        const struct tged_field *f = &fields[i];
        if (!tged_name_valid(f->name, f->name_len))
            return fail(b, -EINVAL,
                        "field name '%s' is not valid: 1 to 32 of A-Z a-z "
                        "0-9 - _",
                        printable(f->name, f->name_len, pb, sizeof(pb)));
        if (tged_name_reserved(f->name, f->name_len))
            return fail(b, -EINVAL,
                        "field name '%.*s' is reserved by the protocol",
                        (int)f->name_len, f->name);
        if (!tged_value_valid(f->value, f->value_len))
            return fail(b, -EINVAL,
                        "value of field '%.*s' is not valid: at most 255 "
                        "bytes, no control characters, no white space at "
                        "either end",
                        (int)f->name_len, f->name);
        for (size_t j = 0; j < i; j++)
            if (fold_name_eq(f->name, f->name_len, fields[j].name,
                             fields[j].name_len))
                return fail(b, -EINVAL, "field '%.*s' appears twice",
                            (int)f->name_len, f->name);
        size += f->name_len + 2 + f->value_len + 2;
    }
    if (size > b->block_limit)
        return fail(b, -E2BIG,
                    "record of %zu bytes does not fit a REPLY: at most %zu "
                    "bytes of fields fit max_reply_size with the longest RQ "
                    "and ID",
                    size, b->block_limit);
    /* The built set names records by their block's offset, below the
     * flag bit: the blocks (text, and at most 11 bytes of head and
     * padding a record and 4 a field) and the type names must fit. */
    size_t built = b->text_len + size + TGED_MAX_TYPE + 11 * (b->nrecs + 1) +
                   4 * (b->nfields + nfields) + 3;
    if (built >= POST_LAST || b->nrecs >= POST_LAST - 1 ||
        b->nfields + nfields >= SLOT_REC)
        return fail(b, -E2BIG, "too many records");

    long t = builder_type(b, type, type_len);
    if (t < 0)
        return fail(b, -ENOMEM, "out of memory");
    if (grow((void **)&b->recs, &b->rec_cap, b->nrecs + 1, sizeof(*b->recs)) ||
        grow((void **)&b->fields, &b->field_cap, b->nfields + nfields,
             sizeof(*b->fields)) ||
        grow((void **)&b->text, &b->text_cap, b->text_len + size, 1))
        return fail(b, -ENOMEM, "out of memory");

    struct rs_record *r = &b->recs[b->nrecs++];
    r->text_off = (uint32_t)b->text_len;
    r->text_len = (uint16_t)size;
    r->field_off = (uint32_t)b->nfields;
    r->nfields = (uint16_t)nfields;
    r->type = (uint32_t)t;
    b->types[t].count++;
    char *p = b->text + b->text_len;
    for (size_t i = 0; i < nfields; i++) {
        const struct tged_field *f = &fields[i];
        struct rs_field *rf = &b->fields[b->nfields++];
        rf->name_off = (uint16_t)(p - (b->text + r->text_off));
        rf->name_len = (uint8_t)f->name_len;
        rf->value_len = (uint8_t)f->value_len;
        memcpy(p, f->name, f->name_len);
        p += f->name_len;
        *p++ = ':';
        *p++ = ' ';
        memcpy(p, f->value, f->value_len);
        p += f->value_len;
        *p++ = '\r';
        *p++ = '\n';
    }
    b->text_len += size;
    return 0;
}

struct post_ent {
    uint64_t hash;
    uint32_t rec;
};

static inline const struct rs_head *block_at(const struct tged_recset *rs,
                                             uint32_t off)
{
    return (const struct rs_head *)(const void *)(rs->text + off);
}

static inline const struct rs_field *block_fields(const struct rs_head *h)
{
    return (const struct rs_field *)(const void *)(h + 1);
}

static inline const char *block_text(const struct rs_head *h)
{
    return (const char *)(block_fields(h) + h->nfields);
}

static inline size_t block_size(size_t nfields, size_t text_len)
{
    return (sizeof(struct rs_head) + nfields * sizeof(struct rs_field) +
            text_len + 3) &
           ~(size_t)3;
}

/* By hash, keeping the records' order among equal hashes: an LSD radix
 * sort (stable, so the input's record order survives), 11 bits a pass.
 * Several times faster than qsort on the hundreds of thousands of
 * postings of a large file. tmp holds n entries. */
static void sort_posts(struct post_ent *e, struct post_ent *tmp, size_t n)
{
    enum { BITS = 11, BUCKETS = 1 << BITS };
    uint32_t count[BUCKETS];
    struct post_ent *from = e, *to = tmp;
    for (unsigned shift = 0; shift < 64; shift += BITS) {
        memset(count, 0, sizeof(count));
        for (size_t i = 0; i < n; i++)
            count[(from[i].hash >> shift) & (BUCKETS - 1)]++;
        uint32_t sum = 0;
        for (unsigned d = 0; d < BUCKETS; d++) {
            uint32_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            to[count[(from[i].hash >> shift) & (BUCKETS - 1)]++] = from[i];
        struct post_ent *t = from;
        from = to;
        to = t;
    }
    if (from != e)
        memcpy(e, from, n * sizeof(*e));
}

/* A large set is read at random, a record or two per request: on 4 KiB
 * pages nearly every lookup among 100 000 records also misses the TLB, and
 * in a virtual machine a page walk costs several cache misses. A set of
 * several MiB is therefore copied into one mapping the kernel may back
 * with 2 MiB pages (transparent huge pages, asked for with MADV_HUGEPAGE,
 * so it works under the default "madvise" policy), then made read-only:
 * a set never changes once built. 1 when packed. */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN (2 * HUGE_PAGE)

struct part {
    void **ptr;
    size_t size;
};

static int pack_huge(struct tged_recset *rs)
{
    struct part parts[] = {
        {(void **)&rs->text, rs->text_len},
        {(void **)&rs->recs, (size_t)rs->nrecs * sizeof(*rs->recs)},
        {(void **)&rs->types, (size_t)rs->ntypes * sizeof(*rs->types)},
        {(void **)&rs->post, (size_t)rs->npost * sizeof(*rs->post)},
        {(void **)&rs->tslots, (size_t)rs->tcap * sizeof(*rs->tslots)},
        {(void **)&rs->kslots, (size_t)rs->kcap * sizeof(*rs->kslots)},
    };
    const size_t nparts = sizeof(parts) / sizeof(parts[0]);
    size_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += (parts[i].size + 63) & ~(size_t)63; /* cache-line aligned */
    if (total < HUGE_MIN)
        return 0;
    size_t len = (total + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    char *m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 0;
    /* Only an aligned 2 MiB can be a huge page. */
    char *a = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
    if (a > m)
        munmap(m, (size_t)(a - m));
    if (m + len + HUGE_PAGE > a + len)
        munmap(a + len, (size_t)(m + len + HUGE_PAGE - (a + len)));
    madvise(a, len, MADV_HUGEPAGE); /* a hint: 4 KiB pages still work */
    char *at = a;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].size)
            memcpy(at, *parts[i].ptr, parts[i].size);
        free(*parts[i].ptr);
        *parts[i].ptr = at;
        at += (parts[i].size + 63) & ~(size_t)63;
    }
    mprotect(a, len, PROT_READ);
    rs->map = a;
    rs->map_len = len;
    return 1;
}

TGED_API struct tged_recset *tged_recset_build(struct tged_recset_builder *b)
{
    struct tged_recset *rs = calloc(1, sizeof(*rs));
    struct post_ent *pe = NULL;
    if (!rs)
        goto fail;
    rs->nrecs = (uint32_t)b->nrecs;
    rs->ntypes = (uint32_t)b->ntypes;
    rs->nfields = (uint32_t)b->nfields;
    rs->types = b->types;
    b->types = NULL;

    /* Records in type order: ord[position] = the builder's index. */
    uint32_t *ord = malloc((b->nrecs ? b->nrecs : 1) * sizeof(*ord));
    rs->recs = malloc((b->nrecs ? b->nrecs : 1) * sizeof(*rs->recs));
    if (!ord || !rs->recs) {
        free(ord);
        goto fail;
    }
    uint32_t at = 0;
    for (uint32_t t = 0; t < rs->ntypes; t++) {
        rs->types[t].first = at;
        at += rs->types[t].count;
        rs->types[t].count = 0;
    }
    for (size_t i = 0; i < b->nrecs; i++) {
        struct rs_type *t = &rs->types[b->recs[i].type];
        ord[t->first + t->count++] = (uint32_t)i;
    }

    /* The text: type names, then each record's block. */
    size_t size = 0;
    for (uint32_t t = 0; t < rs->ntypes; t++)
        size += rs->types[t].name_len;
    size = (size + 3) & ~(size_t)3;
    for (size_t i = 0; i < b->nrecs; i++)
        size += block_size(b->recs[i].nfields, b->recs[i].text_len);
    /* tged_recset_add() keeps records within this; only types added
     * without records can still reach it. */
    if (size >= POST_LAST) {
        free(ord);
        goto fail;
    }
    rs->text = malloc(size ? size : 1);
    if (!rs->text) {
        free(ord);
        goto fail;
    }
    rs->text_len = size;
    size_t off = 0;
    for (uint32_t t = 0; t < rs->ntypes; t++) {
        struct rs_type *ty = &rs->types[t];
        memcpy(rs->text + off, b->text + ty->name_off, ty->name_len);
        ty->name_off = (uint32_t)off;
        off += ty->name_len;
    }
    while (off & 3)
        rs->text[off++] = '\0';
    for (uint32_t pos = 0; pos < rs->nrecs; pos++) {
        const struct rs_record *r = &b->recs[ord[pos]];
        struct rs_head h = {r->type, r->text_len, r->nfields};
        char *p = rs->text + off;
        rs->recs[pos] = (uint32_t)off;
        memcpy(p, &h, sizeof(h));
        p += sizeof(h);
        memcpy(p, &b->fields[r->field_off], r->nfields * sizeof(*b->fields));
        p += r->nfields * sizeof(*b->fields);
        memcpy(p, b->text + r->text_off, r->text_len);
        p += r->text_len;
        size_t end = off + block_size(r->nfields, r->text_len);
        memset(p, 0, end - (size_t)(p - rs->text));
        off = end;
    }
    free(ord);

    /* Type index, at most half full. */
    rs->tcap = rs->ntypes * 2 + 1;
    rs->tslots = malloc(rs->tcap * sizeof(*rs->tslots));
    if (!rs->tslots)
        goto fail;
    memset(rs->tslots, 0xff, rs->tcap * sizeof(*rs->tslots));
    for (uint32_t t = 0; t < rs->ntypes; t++) {
        const struct rs_type *ty = &rs->types[t];
        uint64_t h = fold_hash(rs->text + ty->name_off, ty->name_len);
        uint32_t s = slot_of(h, rs->tcap);
        while (rs->tslots[s].val != UINT32_MAX)
            s = s + 1 == rs->tcap ? 0 : s + 1;
        rs->tslots[s].tag = (uint32_t)(h >> 32);
        rs->tslots[s].val = t;
    }

    /* Field index: one posting per (record, field), sorted by key, then
     * by record so that each list keeps the records' order. */
    size_t np = rs->nfields;
    pe = malloc((np ? np : 1) * sizeof(*pe));
    struct post_ent *tmp = malloc((np ? np : 1) * sizeof(*tmp));
    if (!pe || !tmp) {
        free(tmp);
        goto fail;
    }
    size_t k = 0;
    for (uint32_t i = 0; i < rs->nrecs; i++) {
        const struct rs_head *h = block_at(rs, rs->recs[i]);
        const struct rs_field *fs = block_fields(h);
        const char *text = block_text(h);
        for (uint32_t j = 0; j < h->nfields; j++) {
            const char *name = text + fs[j].name_off;
            pe[k].hash =
                key_hash(h->type, fold_hash(name, fs[j].name_len),
                         fold_hash(name + fs[j].name_len + 2, fs[j].value_len));
            pe[k].rec = rs->recs[i];
            k++;
        }
    }
    sort_posts(pe, tmp, np);
    free(tmp);
    /* One slot per key: a key of one record keeps the record in its slot,
     * the others point at their posting list. */
    size_t nkeys = 0, nlist = 0;
    for (size_t i = 0, j; i < np; i = j) {
        for (j = i + 1; j < np && pe[j].hash == pe[i].hash; j++)
            ;
        nkeys++;
        if (j - i > 1)
            nlist += j - i;
    }
    /* Load factor about 2/3 with linear probing. */
    rs->kcap = (uint32_t)(nkeys + nkeys / 2 + 1);
    rs->kslots = malloc(rs->kcap * sizeof(*rs->kslots));
    rs->post = malloc((nlist ? nlist : 1) * sizeof(*rs->post));
    if (!rs->kslots || !rs->post)
        goto fail;
    memset(rs->kslots, 0xff, rs->kcap * sizeof(*rs->kslots));
    for (size_t i = 0, j; i < np; i = j) {
        for (j = i + 1; j < np && pe[j].hash == pe[i].hash; j++)
            ;
        uint32_t val;
        if (j - i == 1) {
            val = pe[i].rec | SLOT_REC;
        } else {
            val = rs->npost;
            for (size_t e = i; e < j; e++)
                rs->post[rs->npost++] =
                    pe[e].rec | (e + 1 == j ? POST_LAST : 0);
        }
        uint32_t sl = slot_of(pe[i].hash, rs->kcap);
        while (rs->kslots[sl].val != UINT32_MAX)
            sl = sl + 1 == rs->kcap ? 0 : sl + 1;
        rs->kslots[sl].tag = (uint32_t)(pe[i].hash >> 32);
        rs->kslots[sl].val = val;
    }
    free(pe);
    tged_recset_builder_free(b);
    pack_huge(rs);
    return rs;
fail:
    free(pe);
    tged_recset_free(rs);
    tged_recset_builder_free(b);
    return NULL;
}

TGED_API void tged_recset_free(struct tged_recset *rs)
{
    if (!rs)
        return;
    if (rs->map) {
        munmap(rs->map, rs->map_len);
        free(rs);
        return;
    }
    free(rs->text);
    free(rs->recs);
    free(rs->types);
    free(rs->post);
    free(rs->tslots);
    free(rs->kslots);
    free(rs);
}

TGED_API size_t tged_recset_count(const struct tged_recset *rs)
{
    return rs->nrecs;
}

TGED_API size_t tged_recset_types(const struct tged_recset *rs)
{
    return rs->ntypes;
}

TGED_API size_t tged_recset_memory(const struct tged_recset *rs)
{
    if (rs->map)
        return sizeof(*rs) + rs->map_len;
    return sizeof(*rs) + rs->text_len + rs->nrecs * sizeof(*rs->recs) +
           rs->npost * sizeof(*rs->post) + rs->ntypes * sizeof(*rs->types) +
           (size_t)rs->tcap * sizeof(*rs->tslots) +
           (size_t)rs->kcap * sizeof(*rs->kslots);
}

static long find_type(const struct tged_recset *rs, const char *type,
                      size_t len, uint64_t h)
{
    if (!rs->ntypes)
        return -1;
    uint32_t s = slot_of(h, rs->tcap);
    for (;;) {
        const struct rs_slot *sl = &rs->tslots[s];
        if (sl->val == UINT32_MAX)
            return -1;
        if (sl->tag == (uint32_t)(h >> 32)) {
            const struct rs_type *t = &rs->types[sl->val];
            if (fold_name_eq(rs->text + t->name_off, t->name_len, type, len))
                return sl->val;
        }
        s = s + 1 == rs->tcap ? 0 : s + 1;
    }
}

/* 1 when the record has filters [from, nfilters) of q (name and value,
 * case-insensitive). */
static int rec_matches(const struct rs_head *h, const struct tged_query *q,
                       size_t from)
{
    const struct rs_field *fs = block_fields(h);
    const char *text = block_text(h);
    for (size_t i = from; i < q->nfilters; i++) {
        const struct tged_field *flt = &q->filters[i];
        uint32_t j;
        for (j = 0; j < h->nfields; j++)
            if (fold_name_eq(text + fs[j].name_off, fs[j].name_len, flt->name,
                             flt->name_len))
                break;
        if (j == h->nfields ||
            !fold_name_eq(text + fs[j].name_off + fs[j].name_len + 2,
                          fs[j].value_len, flt->value, flt->value_len))
            return 0;
    }
    return 1;
}

static int emit(const struct tged_recset *rs, const struct rs_type *t,
                const struct rs_head *h, struct tged_sink *sink)
{
    return sink_add_block(sink, rs->text + t->name_off, t->name_len,
                          block_text(h), h->text_len);
}

TGED_API int tged_recset_lookup(const struct tged_recset *rs,
                                const struct tged_query *q,
                                struct tged_sink *sink)
{
    long ti = find_type(rs, q->type, q->type_len, q->type_hash);
    if (ti < 0)
        return TGED_NOT_MINE;
    const struct rs_type *t = &rs->types[ti];
    size_t before = sink->count;
    if (q->nfilters == 0) {
        for (uint32_t i = 0; i < t->count; i++)
            if (emit(rs, t, block_at(rs, rs->recs[t->first + i]), sink) > 0)
                break;
        return sink->count > before ? TGED_FOUND : TGED_NO_MATCH;
    }
    /* Walk the posting list of the first filter; check every filter on
     * each record it names. A list is taken as this key's when one of its
     * records has the type and the first filter: the tags of two keys may
     * collide, and a full hash collision merges two lists, so neither is
     * trusted without that check. */
    const struct tged_field *f0 = &q->filters[0];
    const struct tged_query first = {.filters = f0, .nfilters = 1};
    uint64_t h = key_hash((uint32_t)ti, fold_hash(f0->name, f0->name_len),
                          fold_hash(f0->value, f0->value_len));
    for (uint32_t s = slot_of(h, rs->kcap);;
         s = s + 1 == rs->kcap ? 0 : s + 1) {
        const struct rs_slot *sl = &rs->kslots[s];
        if (sl->val == UINT32_MAX)
            return TGED_NO_MATCH;
        if (sl->tag != (uint32_t)(h >> 32))
            continue;
        int ours = 0, full = 0;
        /* A key of one record: that record, as a list of one. */
        const uint32_t one = (sl->val & ~SLOT_REC) | POST_LAST;
        const uint32_t *list = sl->val & SLOT_REC ? &one : &rs->post[sl->val];
        for (uint32_t i = 0;; i++) {
            uint32_t p = list[i];
            const struct rs_head *r = block_at(rs, p & ~POST_LAST);
            if (r->type == (uint32_t)ti && rec_matches(r, &first, 0)) {
                ours = 1;
                if (!full && rec_matches(r, q, 1) && emit(rs, t, r, sink) > 0)
                    full = 1;
            }
            if ((p & POST_LAST) || (full && ours))
                break;
        }
        if (ours)
            break;
    }
    return sink->count > before ? TGED_FOUND : TGED_NO_MATCH;
}
