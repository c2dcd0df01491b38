/* plugins/json/arena.c - jansson's allocations for one load, from a few
 * big blocks freed at once.
 *
 * jansson makes one allocation per value, key and hash table: about ten a
 * record. For a file of 100 000 records that is a million mallocs, a
 * million frees when the tree is released, and glibc then merging the
 * freed chunks back (malloc_consolidate): together half the time of a
 * load. Here the tree's memory comes from blocks that only grow, and is
 * given back in a handful of frees.
 *
 * The hooks are process-wide (json_set_alloc_funcs), so they only take
 * over on the thread that opened an arena, and only while it is open;
 * anything else, another plugin's use of jansson included, goes to the
 * functions that were installed before. A free on the loading thread of
 * memory that is not the arena's goes there too.
 *
 * SPDX-License-Identifier: MIT
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#define FIRST_BLOCK ((size_t)256 << 10)
#define MAX_BLOCK ((size_t)16 << 20)
#define ALIGN 16

struct json_block {
    struct json_block *next;
    char *end;
    _Alignas(ALIGN) char data[];
};

static json_malloc_t prev_malloc = malloc;
static json_free_t prev_free = free;
static int installed;
static _Thread_local struct json_arena *current;

static int grow(struct json_arena *a, size_t n)
{
    size_t size = a->next;
    if (size < n)
        size = n;
    struct json_block *b = malloc(sizeof(*b) + size);
    if (!b)
        return -1;
    b->next = a->blocks;
    b->end = b->data + size;
    a->blocks = b;
    a->at = b->data;
    a->left = size;
    a->total += size;
    if (a->next < MAX_BLOCK)
        a->next *= 2;
    return 0;
}

static void *arena_malloc(size_t n)
{
    struct json_arena *a = current;
    if (!a)
        return prev_malloc(n);
    if (n > SIZE_MAX - ALIGN)
        return NULL;
    n = n ? (n + ALIGN - 1) & ~(size_t)(ALIGN - 1) : ALIGN;
    if (n > a->left && grow(a, n))
        return NULL;
    void *p = a->at;
    a->at += n;
    a->left -= n;
    return p;
}

static int owns(const struct json_arena *a, const void *p)
{
    /* A few blocks at most: they double up to MAX_BLOCK. */
    for (const struct json_block *b = a->blocks; b; b = b->next)
        if ((uintptr_t)p >= (uintptr_t)b->data &&
            (uintptr_t)p < (uintptr_t)b->end)
            return 1;
    return 0;
}

static void arena_free(void *p)
{
    struct json_arena *a = current;
    if (!p || (a && owns(a, p)))
        return;
    prev_free(p);
}

void json_arena_install(void)
{
    if (installed)
        return;
    json_get_alloc_funcs(&prev_malloc, &prev_free);
    json_set_alloc_funcs(arena_malloc, arena_free);
    installed = 1;
}

/* When the plugin is unloaded, jansson (loaded by something else too) must
 * not keep hooks that point into an unmapped object. */
__attribute__((destructor)) static void uninstall(void)
{
    if (installed)
        json_set_alloc_funcs(prev_malloc, prev_free);
    installed = 0;
}

void json_arena_open(struct json_arena *a)
{
    *a = (struct json_arena){.next = FIRST_BLOCK};
    current = a;
}

void json_arena_close(struct json_arena *a)
{
    if (current == a)
        current = NULL;
    while (a->blocks) {
        struct json_block *b = a->blocks;
        a->blocks = b->next;
        free(b);
    }
    a->at = NULL;
    a->left = a->total = 0;
}
