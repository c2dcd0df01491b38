/* core/daemon/worker.c - the threads that answer requests.
 *
 * The request path: recvmmsg a batch, parse each datagram in place, find
 * the route, ask its backends, write answers straight into preallocated
 * send buffers, sendmmsg them from the address each request came to. No
 * allocation and no lock: the snapshot is read under QSBR.
 *
 * SPDX-License-Identifier: MIT
 */
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/fold.h"
#include "acl.h"
#include "iftable.h"
#include "keys.h"
#include "log.h"
#include "qsbr.h"
#include "ratelimit.h"
#include "router.h"
#include "sink.h"
#include "snapshot.h"

#define BATCH 32
#define OUT_SLOTS 64
/* Larger than any valid request, so an oversized one is seen as such. */
#define RECV_SIZE 2048
#define CTL_SIZE CMSG_SPACE(sizeof(struct in6_pktinfo))

struct snapshot *worker_snapshot;

struct worker {
    unsigned id;
    pthread_t thread;
    int epfd, stopfd;
    int *fds;
    int *families;
    size_t nfds;
    int fd; /* socket of the batch being answered */
    struct qsbr_reader *qr;
    struct outq q;
    struct worker_stats st;

    struct mmsghdr rmsg[BATCH];
    struct iovec riov[BATCH];
    struct sockaddr_storage rsrc[BATCH];
    char rctl[BATCH][CTL_SIZE] __attribute__((aligned(8)));
    char sctl[BATCH][CTL_SIZE] __attribute__((aligned(8)));
    size_t sctl_len[BATCH];
    char rbuf[BATCH][RECV_SIZE];

    struct mmsghdr smsg[OUT_SLOTS];
    struct iovec siov[OUT_SLOTS];

    struct tged_message msg;
    struct tged_field filters[TGED_MAX_REQUEST_HEADERS];

    /* The request being answered: where it came from. */
    int cur_family, cur_ifindex;
    const uint8_t *cur_addr;
    uint8_t exempt[BATCH]; /* source exempt from rate limits */
    int ifindex[BATCH];
    const struct snapshot *snap; /* of the batch being answered */
    uint64_t batch_ns;
    struct rl_state rl;

    /* The access verdict for the last source: clients ask in bursts, and
     * the same source on the same interface gets the same verdict while
     * neither the configuration nor the interfaces change. */
    struct {
        const struct snapshot *snap;
        unsigned ifgen;
        int family, ifindex, verdict;
        uint8_t exempt;
        uint8_t addr[16];
    } last;

    struct auth_reply auth; /* signing the answers to a signed request */
};

/* Fixed-size loads: a memcmp of a variable length is a library call. */
static inline int same_addr(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint64_t x[2], y[2];
    if (len == 4) {
        uint32_t u, v;
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        return u == v;
    }
    memcpy(x, a, 16);
    memcpy(y, b, 16);
    return x[0] == y[0] && x[1] == y[1];
}

/* The source address for the answer to request i: the address the
 * request came to, or for a broadcast or multicast, one of the receiving
 * interface's (the kernel's ipi_spec_dst, or :: with the interface). */
static void answer_source(struct worker *w, unsigned i)
{
    struct msghdr *h = &w->rmsg[i].msg_hdr;
    w->sctl_len[i] = 0;
    w->ifindex[i] = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo in, out;
            memcpy(&in, CMSG_DATA(c), sizeof(in));
            w->ifindex[i] = in.ipi_ifindex;
            memset(&out, 0, sizeof(out));
            out.ipi_spec_dst = in.ipi_spec_dst;
            struct cmsghdr *o = (struct cmsghdr *)w->sctl[i];
            o->cmsg_level = IPPROTO_IP;
            o->cmsg_type = IP_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof(out));
            memcpy(CMSG_DATA(o), &out, sizeof(out));
            w->sctl_len[i] = CMSG_SPACE(sizeof(out));
            return;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo in;
            memcpy(&in, CMSG_DATA(c), sizeof(in));
            w->ifindex[i] = (int)in.ipi6_ifindex;
            if (IN6_IS_ADDR_MULTICAST(&in.ipi6_addr))
                in.ipi6_addr = in6addr_any;
            struct cmsghdr *o = (struct cmsghdr *)w->sctl[i];
            o->cmsg_level = IPPROTO_IPV6;
            o->cmsg_type = IPV6_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof(in));
            memcpy(CMSG_DATA(o), &in, sizeof(in));
            w->sctl_len[i] = CMSG_SPACE(sizeof(in));
            return;
        }
    }
}

static void flush(struct outq *q, void *arg)
{
    struct worker *w = arg;
    size_t n = 0;
    const struct snapshot *s = w->snap;
    for (size_t j = 0; j < q->n; j++) {
        unsigned r = q->slots[j].req;
        /* The byte budget bounds what tgedd sends to sources that are not
         * exempt, whatever addresses they claim. */
        if (!w->exempt[r] && !rl_bytes(&w->rl, &s->set.rl, s->set.workers,
                                       q->slots[j].len, w->batch_ns)) {
            w->st.bytes_limited++;
            continue;
        }
        size_t i = n++;
        w->siov[i].iov_base = q->slots[j].buf;
        w->siov[i].iov_len = q->slots[j].len;
        struct msghdr *h = &w->smsg[i].msg_hdr;
        h->msg_name = &w->rsrc[r];
        h->msg_namelen = w->rmsg[r].msg_hdr.msg_namelen;
        h->msg_iov = &w->siov[i];
        h->msg_iovlen = 1;
        h->msg_control = w->sctl_len[r] ? w->sctl[r] : NULL;
        h->msg_controllen = w->sctl_len[r];
        h->msg_flags = 0;
    }
    size_t done = 0;
    int waited = 0;
    while (done < n) {
        int k = sendmmsg(w->fd, w->smsg + done, (unsigned)(n - done), 0);
        if (k > 0) {
            done += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == ENOBUFS) && !waited) {
            /* The send buffer is full: give the kernel a moment rather
             * than drop answers at once. */
            struct pollfd p = {.fd = w->fd, .events = POLLOUT};
            poll(&p, 1, 5);
            waited = 1;
            continue;
        }
        /* This datagram cannot be sent (its peer is gone, ...): skip it. */
        w->st.send_errors++;
        done++;
    }
    q->n = 0;
}

static const struct log_limit bad_limit_init = LOG_LIMIT_INIT(3, 60000);
static struct log_limit bad_limit;
static struct log_limit refuse_limit = LOG_LIMIT_INIT(5, 60000);

/* An address for a log line (not the request path: only when logging). */
static const char *addr_text(const struct sockaddr *sa)
{
    static __thread char buf[INET6_ADDRSTRLEN];
    int fam;
    const uint8_t *a = sockaddr_bytes(sa, &fam);
    if (!inet_ntop(fam, a, buf, sizeof(buf)))
        snprintf(buf, sizeof(buf), "?");
    return buf;
}

static struct log_limit auth_limit = LOG_LIMIT_INIT(10, 6000);

/* A request to a responder with keys: 0 to stay silent, 1 to answer
 * unsigned, 2 to answer signed with w->auth. Out of handle(), so that a
 * responder without keys pays one test per request for authentication;
 * without keys AUTH is a reserved header like any other, ignored, and no
 * route may require it (a configuration error). */
__attribute__((noinline)) static int authorize(struct worker *w,
                                               const struct snapshot *s,
                                               const char *buf, size_t len,
                                               const struct route *rt)
{
    const struct keyring *k = s->set.keys;
    const struct tged_message *m = &w->msg;
    const char *why;
    int has_auth = 0;
    /* AUTH is the only reserved name of four letters. */
    for (size_t i = 0; i < m->nheaders && !has_auth; i++)
        has_auth = m->headers[i].name.len == 4 &&
                   tged_name_reserved(m->headers[i].name.ptr, 4);
    if (!has_auth && !(rt && rt->auth_required))
        return 1;
    if (has_auth) {
        if (auth_check_request(k, buf, len, &w->msg, &w->auth, &why) == AUTH_OK)
            return 2;
    } else {
        __atomic_add_fetch(&auth_stats.refused[AUTH_UNSIGNED], 1,
                           __ATOMIC_RELAXED);
        why = "the route of its type requires a signed request";
    }
    log_limited(&auth_limit, LOG_INFO, "request for %.*s from %s refused: %s",
                (int)w->msg.rq.len, w->msg.rq.ptr,
                addr_text((const struct sockaddr *)&w->rsrc[w->q.req]), why);
    return 0;
}

/* Ask the route and send the REPLYs or the INVALID, signed when signer is
 * not NULL. Inlined twice: with a NULL constant, the unsigned path is as
 * it was before authentication existed. */
static inline __attribute__((always_inline)) void
answer(struct worker *w, const struct snapshot *s, const struct route *rt,
       const struct tged_query *q, const struct auth_reply *signer)
{
    const struct settings *set = &s->set;
    const struct tged_message *m = &w->msg;
    int reason = TGED_REASON_UNKNOWN_TYPE;
    if (rt) {
        struct tged_sink sink;
        sink_init(&sink, &w->q, m->id.ptr, m->id.len, set->max_replies,
                  set->max_reply_size);
        if (signer)
            sink.auth = signer;
        reason = route_lookup(rt, q, &sink);
        if (reason < 0) {
            w->st.replies += sink.count;
            w->st.answered++;
            return;
        }
    }
    if (reason == TGED_REASON_UNKNOWN_TYPE && !set->answer_unknown) {
        w->st.unknown_quiet++;
        return;
    }
    w->st.invalid[reason]++;
    if (signer)
        sink_invalid_auth(&w->q, m->rq.ptr, m->rq.len, m->id.ptr, m->id.len,
                          reason, signer);
    else
        sink_invalid(&w->q, m->rq.ptr, m->rq.len, m->id.ptr, m->id.len, reason);
}

/* The rest of handle() on a responder with keys. The datagram is found
 * again from the request's index and its parse (a well-formed request
 * ends where its body does), so that handle() need not keep buf and len
 * alive for it: unsigned requests to a responder without keys then cost
 * one test more than before authentication, nothing else. */
__attribute__((noinline)) static void handle_keyed(struct worker *w,
                                                   const struct snapshot *s,
                                                   const struct route *rt,
                                                   const struct tged_query *q)
{
    const char *buf = w->rbuf[w->q.req];
    size_t len = (size_t)(w->msg.body.ptr + w->msg.body.len - buf);
    int how = authorize(w, s, buf, len, rt);
    if (how)
        answer(w, s, rt, q, how == 2 ? &w->auth : NULL);
}

static void handle(struct worker *w, const struct snapshot *s, const char *buf,
                   size_t len)
{
    struct tged_message *m = &w->msg;
    int st = tged_parse(buf, len, TGED_PARSE_REQUEST, m);
    if (st == TGED_PARSE_NOT_TGED) {
        w->st.not_tged++;
        return;
    }
    if (m->method != TGED_METHOD_DISCOVERY) {
        /* Never answer an answer: two responders must not bounce. */
        w->st.not_request++;
        return;
    }
    if (st != TGED_PARSE_OK) {
        int reason = st == TGED_PARSE_VERSION ? TGED_REASON_VERSION
                                              : TGED_REASON_BAD_REQUEST;
        if (s->set.keys && auth_line_present(buf, len)) {
            /* It cannot be verified: no unsigned answer to a signer. */
            __atomic_add_fetch(&auth_stats.refused[AUTH_BAD], 1,
                               __ATOMIC_RELAXED);
            return;
        }
        if (reason == TGED_REASON_BAD_REQUEST)
            log_limited(&bad_limit, LOG_DEBUG, "malformed request: %s",
                        m->error ? m->error : "?");
        w->st.invalid[reason]++;
        sink_invalid(&w->q, m->rq.ptr, m->rq.len, m->id.ptr, m->id.len, reason);
        return;
    }
    struct tged_query q = {.type = m->rq.ptr, .type_len = m->rq.len};
    q.type_hash = fold_hash(q.type, q.type_len);
    size_t nf = 0;
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct tged_header *h = &m->headers[i];
        /* RQ and ID are on every request: known by where their values
         * are, without comparing names. */
        if (h->value.ptr == m->rq.ptr || h->value.ptr == m->id.ptr ||
            tged_name_reserved(h->name.ptr, h->name.len))
            continue;
        w->filters[nf++] = (struct tged_field){h->name.ptr, h->name.len,
                                               h->value.ptr, h->value.len};
    }
    q.filters = w->filters;
    q.nfilters = nf;

    const struct route *rt =
        router_find(&s->router, q.type, q.type_len, q.type_hash);
    if (rt && rt->has_acl &&
        acl_check(&rt->acl, w->cur_family, w->cur_addr, w->cur_ifindex) !=
            ACL_PASS) {
        w->st.refused_route++;
        return;
    }
    if (__builtin_expect(s->set.keys != NULL, 0)) {
        handle_keyed(w, s, rt, &q);
        return;
    }
    answer(w, s, rt, &q, NULL);
}

/* Answer up to BATCH datagrams waiting on fd; how many were read. */
static int serve_batch(struct worker *w, int fd)
{
    const struct snapshot *s =
        __atomic_load_n(&worker_snapshot, __ATOMIC_ACQUIRE);
    size_t need = s->set.max_reply_size > TGED_DEFAULT_REPLY_SIZE
                      ? s->set.max_reply_size
                      : TGED_DEFAULT_REPLY_SIZE;
    if (need > w->q.buf_size && outq_resize(&w->q, need) != 0)
        log_limited(&bad_limit, LOG_ERR, "out of memory for send buffers");
    for (unsigned i = 0; i < BATCH; i++) {
        w->rmsg[i].msg_hdr.msg_namelen = sizeof(w->rsrc[i]);
        w->rmsg[i].msg_hdr.msg_controllen = CTL_SIZE;
        w->rmsg[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(fd, w->rmsg, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return 0;
    w->fd = fd;
    w->snap = s;
    w->batch_ns = now_ns();
    w->st.received += (uint64_t)n;
    for (int i = 0; i < n; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&w->rsrc[i];
        in_port_t port = sa->sa_family == AF_INET6
                             ? ((const struct sockaddr_in6 *)sa)->sin6_port
                             : ((const struct sockaddr_in *)sa)->sin_port;
        if (port == 0) {
            w->st.port_zero++;
            continue;
        }
        answer_source(w, (unsigned)i);
        w->cur_addr = sockaddr_bytes(sa, &w->cur_family);
        w->cur_ifindex = w->ifindex[i];
        size_t alen = w->cur_family == AF_INET ? 4 : 16;
        unsigned ifgen = iftable_generation();
        if (w->last.snap != s || w->last.ifgen != ifgen ||
            w->last.family != w->cur_family ||
            w->last.ifindex != w->cur_ifindex ||
            !same_addr(w->last.addr, w->cur_addr, alen)) {
            w->last.snap = s;
            w->last.ifgen = ifgen;
            w->last.family = w->cur_family;
            w->last.ifindex = w->cur_ifindex;
            memcpy(w->last.addr, w->cur_addr, alen);
            w->last.verdict = acl_check(&s->set.acl, w->cur_family, w->cur_addr,
                                        w->cur_ifindex);
            w->last.exempt =
                (uint8_t)rl_exempt(&s->set.rl, w->cur_family, w->cur_addr);
        }
        int verdict = w->last.verdict;
        if (verdict != ACL_PASS) {
            if (verdict == ACL_OFF_LINK) {
                w->st.off_link++;
                log_limited(&refuse_limit, LOG_INFO,
                            "request from off-link %s dropped (a spoofed "
                            "source? see responder.on_link_only)",
                            addr_text(sa));
            } else {
                w->st.refused++;
            }
            continue;
        }
        w->exempt[i] = w->last.exempt;
        if (!w->exempt[i] && !rl_request(&w->rl, &s->set.rl, w->cur_family,
                                         w->cur_addr, w->batch_ns)) {
            w->st.rate_limited++;
            log_limited(&refuse_limit, LOG_INFO,
                        "%s is over its request rate: dropping its requests",
                        addr_text(sa));
            continue;
        }
        size_t len = w->rmsg[i].msg_len;
        if (w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
            /* Cut at the last whole line: never echo half a value. */
            while (len > TGED_MAX_REQUEST && w->rbuf[i][len - 1] != '\n')
                len--;
            if (len <= TGED_MAX_REQUEST)
                len = RECV_SIZE;
        }
        w->q.req = (unsigned)i;
        handle(w, s, w->rbuf[i], len);
    }
    if (w->q.n)
        flush(&w->q, w);
    return n;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event ev[8];
    for (;;) {
        qsbr_offline(w->qr);
        int n = epoll_wait(w->epfd, ev, 8, -1);
        qsbr_online(w->qr);
        if (n < 0 && errno != EINTR)
            break;
        int stop = 0;
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd == w->stopfd) {
                stop = 1;
                continue;
            }
            /* A bounded number of batches per wake-up keeps every socket
             * served; epoll is level-triggered, so nothing is missed. */
            for (int round = 0; round < 16; round++) {
                int got = serve_batch(w, fd);
                qsbr_quiescent(w->qr);
                if (got < BATCH)
                    break;
            }
        }
        if (stop)
            break;
    }
    qsbr_offline(w->qr);
    return NULL;
}

struct worker *worker_start(unsigned id, const int *fds, const int *families,
                            size_t nfds)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->id = id;
    w->epfd = w->stopfd = -1;
    bad_limit = bad_limit_init;
    w->fds = malloc(nfds * sizeof(int));
    w->families = malloc(nfds * sizeof(int));
    if (!w->fds || !w->families)
        goto fail;
    memcpy(w->fds, fds, nfds * sizeof(int));
    memcpy(w->families, families, nfds * sizeof(int));
    w->nfds = nfds;
    for (unsigned i = 0; i < BATCH; i++) {
        w->riov[i].iov_base = w->rbuf[i];
        w->riov[i].iov_len = RECV_SIZE;
        w->rmsg[i].msg_hdr.msg_name = &w->rsrc[i];
        w->rmsg[i].msg_hdr.msg_iov = &w->riov[i];
        w->rmsg[i].msg_hdr.msg_iovlen = 1;
        w->rmsg[i].msg_hdr.msg_control = w->rctl[i];
    }
    if (outq_init(&w->q, OUT_SLOTS, TGED_DEFAULT_REPLY_SIZE) ||
        rl_init(&w->rl, 4096))
        goto fail;
    w->q.flush = flush;
    w->q.flush_arg = w;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->epfd < 0 || w->stopfd < 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = w->stopfd;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->stopfd, &ev))
        goto fail;
    for (size_t i = 0; i < nfds; i++) {
        ev.data.fd = fds[i];
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fds[i], &ev))
            goto fail;
    }
    w->qr = qsbr_register();
    if (!w->qr)
        goto fail;
    /* Signals belong to the control thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        errno = rc;
        goto fail;
    }
    return w;
fail:
    log_err("worker %u: cannot start: %s", id, strerror(errno));
    qsbr_unregister(w->qr);
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->stopfd >= 0)
        close(w->stopfd);
    outq_free(&w->q);
    rl_free(&w->rl);
    free(w->fds);
    free(w->families);
    free(w);
    return NULL;
}

void worker_stop(struct worker *w)
{
    if (!w)
        return;
    uint64_t one = 1;
    if (write(w->stopfd, &one, sizeof(one)) < 0)
        log_err("worker %u: cannot signal stop: %s", w->id, strerror(errno));
    pthread_join(w->thread, NULL);
    qsbr_unregister(w->qr);
    for (size_t i = 0; i < w->nfds; i++)
        close(w->fds[i]);
    close(w->epfd);
    close(w->stopfd);
    outq_free(&w->q);
    rl_free(&w->rl);
    free(w->fds);
    free(w->families);
    free(w);
}

void worker_stats_add(const struct worker *w, struct worker_stats *sum)
{
    const uint64_t *a = (const uint64_t *)&w->st;
    uint64_t *b = (uint64_t *)sum;
    for (size_t i = 0; i < sizeof(*sum) / sizeof(uint64_t); i++)
        b[i] += __atomic_load_n(&a[i], __ATOMIC_RELAXED);
}
