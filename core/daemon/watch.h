/* core/daemon/watch.h - files that plugins asked to watch (inotify).
 *
 * Each watched file's folder is watched, not the file: tools replace files
 * by rename, delete and recreate them, or swap a symbolic link, and only
 * the folder sees all of that. On any event in a folder, each file watched
 * there is stat()ed; when what stat() says changed, its backend gets a
 * reload. A folder that disappears is looked for again every 100 ms.
 * Control thread only.
 */
#ifndef TGEDD_WATCH_H
#define TGEDD_WATCH_H

#include <stdint.h>

struct tged_instance;

/* The inotify descriptor to poll; -errno on failure. */
int watch_init(void);
void watch_shutdown(void);

int watch_add(struct tged_instance *inst, const char *path);
void watch_forget(struct tged_instance *inst);

/* Read pending events and schedule reloads. */
void watch_handle(void);
/* Retry lost folders; the next time (ms) this is needed, 0 for never. */
uint64_t watch_tick(uint64_t now);

#endif
