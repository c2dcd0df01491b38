/* plugins/json/arena.h - jansson's allocations for one load, from a few
 * big blocks freed at once.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_JSON_ARENA_H
#define TGED_JSON_ARENA_H

#include <stddef.h>

struct json_block;

struct json_arena {
    struct json_block *blocks;
    char *at;     /* next free byte of the newest block */
    size_t left;  /* bytes free there */
    size_t next;  /* size of the next block */
    size_t total; /* bytes in all blocks */
};

/* Route jansson's allocations through the arena hooks; once per process
 * image of the plugin, before the first jansson call. Allocations stay
 * plain malloc/free outside an open arena and on other threads. */
void json_arena_install(void);

/* From open to close, jansson calls made on this thread allocate from a;
 * frees of those blocks do nothing. Every jansson value made in between
 * must be released before close, which frees the blocks. */
void json_arena_open(struct json_arena *a);
void json_arena_close(struct json_arena *a);

#endif
