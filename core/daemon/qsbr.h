/* core/daemon/qsbr.h - quiescent-state reclamation of snapshots.
 *
 * Workers read snapshots (the configuration, each plugin's data) without
 * locks. A snapshot that is replaced is "retired": it is freed once every
 * worker has passed a quiescent state (between two batches of requests) or
 * has been offline (blocked waiting for packets) since the replacement.
 */
#ifndef TGEDD_QSBR_H
#define TGEDD_QSBR_H

#include <stdint.h>

struct qsbr_reader;

/* Register the calling worker; it starts offline. NULL on ENOMEM. */
struct qsbr_reader *qsbr_register(void);
void qsbr_unregister(struct qsbr_reader *r);

/* Worker side: online before reading snapshots, quiescent between
 * batches, offline before blocking. */
void qsbr_online(struct qsbr_reader *r);
void qsbr_quiescent(struct qsbr_reader *r);
void qsbr_offline(struct qsbr_reader *r);

/* Free p with fn once no reader can hold it. Any thread. */
void qsbr_retire(void *p, void (*fn)(void *));

/* Run the frees that are due; returns how many are still waiting. Called
 * by the control loop (and at exit with wait = 1, which blocks until all
 * are done). */
unsigned qsbr_reclaim(int wait);

/* How many retired snapshots have been freed so far. */
uint64_t qsbr_freed(void);

/* Called whenever something is retired (to wake the control loop). */
void qsbr_set_notify(void (*fn)(void));

#endif
