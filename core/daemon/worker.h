/* core/daemon/worker.h - the threads that answer requests. */
#ifndef TGEDD_WORKER_H
#define TGEDD_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <tged/protocol.h>

struct snapshot;

/* What the workers counted; summed over workers by worker_stats(). */
struct worker_stats {
    uint64_t received;
    uint64_t replies;       /* REPLY datagrams sent */
    uint64_t answered;      /* requests answered with at least one REPLY */
    uint64_t invalid[5];    /* INVALID sent, by enum tged_reason */
    uint64_t not_tged;      /* silent: not TGED, or empty */
    uint64_t not_request;   /* silent: REPLY, INVALID or other method */
    uint64_t port_zero;     /* silent: source port 0 */
    uint64_t unknown_quiet; /* silent: unknown type, answer_unknown off */
    uint64_t send_errors;
    uint64_t refused;       /* silent: allow / deny of the responder */
    uint64_t off_link;      /* silent: source not on the arrival link */
    uint64_t refused_route; /* silent: allow / deny of the route */
    uint64_t rate_limited;  /* silent: source over its rate */
    uint64_t bytes_limited; /* answers not sent: over the byte budget */
};

struct worker;

/* The snapshot every worker reads; the control loop swaps it. */
extern struct snapshot *worker_snapshot;

/* Start a worker on sockets fds[0..nfds) (it owns them from now on). */
struct worker *worker_start(unsigned id, const int *fds, const int *families,
                            size_t nfds);
/* Tell it to stop, wait for it, close its sockets and free it. */
void worker_stop(struct worker *w);
/* Add its counters into *sum (a racy but harmless read). */
void worker_stats_add(const struct worker *w, struct worker_stats *sum);

#endif
