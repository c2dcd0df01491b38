/* tests/bench/echo.c - the benchmark's baseline: a responder that does nothing.
 *
 * It answers every DISCOVERY with one fixed REPLY (or -m of them) carrying
 * the request's ID, through the same socket set-up and the same request
 * loop as tgedd's workers (core/daemon/worker.c and udp.c): SO_REUSEPORT
 * sockets, one per worker, IP_PKTINFO, level-triggered epoll, recvmmsg and
 * sendmmsg in batches of 32, answers written into preallocated buffers and
 * sent from the address each request came to. What it leaves out is the
 * parsing, routing and lookup: the distance between it and tgedd is what
 * tgedd's own code costs. Keep the two loops alike when worker.c changes.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define OUT_SLOTS 64
#define RECV_SIZE 2048
#define REPLY_SIZE 1024
#define MAX_ID 64
#define MAX_LISTEN 8
#define CTL_SIZE CMSG_SPACE(sizeof(struct in6_pktinfo))

/* The REPLY of etc/records.conf's SQL record: a typical answer. */
#define DEFAULT_BODY                                                           \
    "HOST: test\r\nFQDN: test.example.com\r\nIP: 192.168.0.34\r\nPORT: "       \
    "3306\r\nUSER: john\r\n\r\n"

struct listen_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family;
    const char *text;
};

static struct listen_addr listens[MAX_LISTEN];
static size_t nlisten;
static unsigned replies = 1;
static char head[128]; /* "TGED REPLY 1.0\r\nRQ: TYPE\r\n" */
static size_t head_len;
static const char body[] = DEFAULT_BODY;

struct worker {
    unsigned id;
    pthread_t thread;
    int epfd;
    int fds[MAX_LISTEN];
    int fd;
    uint64_t received, sent, send_errors;

    struct mmsghdr rmsg[BATCH];
    struct iovec riov[BATCH];
    struct sockaddr_storage rsrc[BATCH];
    char rctl[BATCH][CTL_SIZE] __attribute__((aligned(8)));
    char sctl[BATCH][CTL_SIZE] __attribute__((aligned(8)));
    size_t sctl_len[BATCH];
    char rbuf[BATCH][RECV_SIZE];

    /* The outq of sink.c: one buffer per slot, allocated once. */
    char *obuf[OUT_SLOTS];
    size_t olen[OUT_SLOTS];
    unsigned oreq[OUT_SLOTS];
    size_t on;

    struct mmsghdr smsg[OUT_SLOTS];
    struct iovec siov[OUT_SLOTS];
};

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "tged-bench-echo: %s: %s\n", what, detail);
    exit(1);
}

static int parse_listen(const char *text, struct listen_addr *out)
{
    char host[80];
    const char *port = NULL;
    memset(out, 0, sizeof(*out));
    out->text = text;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || (size_t)(end - text - 1) >= sizeof(host))
            return -1;
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        if (end[1] == ':')
            port = end + 2;
        else if (end[1])
            return -1;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon && strchr(text, ':') != colon)
            colon = NULL;
        size_t hl = colon ? (size_t)(colon - text) : strlen(text);
        if (hl >= sizeof(host))
            return -1;
        memcpy(host, text, hl);
        host[hl] = '\0';
        if (colon)
            port = colon + 1;
    }
    long p = 4745;
    if (port) {
        char *e;
        p = strtol(port, &e, 10);
        if (!*port || *e || p < 1 || p > 65535)
            return -1;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)p);
        out->len = sizeof(*s4);
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
        return -1;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)p);
    out->len = sizeof(*s6);
    out->family = AF_INET6;
    return 0;
}

/* udp_open() of core/daemon/udp.c, without the multicast group. */
static int open_socket(const struct listen_addr *la, int shared, int primary)
{
    int one = 1;
    int fd = socket(la->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail(la->text, strerror(errno));
    if (shared &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
        fail(la->text, strerror(errno));
    int rcv = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    if (la->family == AF_INET6) {
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) ||
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)))
            fail(la->text, strerror(errno));
    } else if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))) {
        fail(la->text, strerror(errno));
    }
    if (!primary) {
        /* The same per-datagram filter tgedd puts on its other workers'
         * sockets, so that both pay for it. */
        struct sock_filter code[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
            BPF_STMT(BPF_RET | BPF_K, 0),
        };
        struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]),
                                  .filter = code};
        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
            fail(la->text, strerror(errno));
    }
    if (bind(fd, (const struct sockaddr *)&la->ss, la->len) != 0)
        fail(la->text, strerror(errno));
    return fd;
}

/* answer_source() of worker.c. */
static void answer_source(struct worker *w, unsigned i)
{
    struct msghdr *h = &w->rmsg[i].msg_hdr;
    w->sctl_len[i] = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo in, out;
            memcpy(&in, CMSG_DATA(c), sizeof(in));
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

/* flush() of worker.c. */
static void flush(struct worker *w)
{
    size_t n = w->on;
    for (size_t i = 0; i < n; i++) {
        unsigned r = w->oreq[i];
        w->siov[i].iov_base = w->obuf[i];
        w->siov[i].iov_len = w->olen[i];
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
            struct pollfd p = {.fd = w->fd, .events = POLLOUT};
            poll(&p, 1, 5);
            waited = 1;
            continue;
        }
        w->send_errors++;
        done++;
    }
    w->sent += n;
    w->on = 0;
}

/* The fixed answer, with the request's ID: the one thing any responder
 * must copy from a request. */
static void handle(struct worker *w, unsigned req, const char *buf, size_t len)
{
    if (len < 15 || memcmp(buf, "TGED DISCOVERY ", 15))
        return; /* never answer an answer */
    const char *id = NULL;
    size_t id_len = 0;
    const char *p = memmem(buf, len, "\nID:", 4);
    if (p) {
        const char *end = buf + len;
        p += 4;
        while (p < end && *p == ' ')
            p++;
        const char *e = p;
        while (e < end && *e != '\r' && *e != '\n')
            e++;
        if (e > p && (size_t)(e - p) <= MAX_ID) {
            id = p;
            id_len = (size_t)(e - p);
        }
    }
    for (unsigned r = 0; r < replies; r++) {
        if (w->on == OUT_SLOTS)
            flush(w);
        char *o = w->obuf[w->on];
        memcpy(o, head, head_len);
        size_t n = head_len;
        if (id) {
            memcpy(o + n, "ID: ", 4);
            memcpy(o + n + 4, id, id_len);
            memcpy(o + n + 4 + id_len, "\r\n", 2);
            n += 4 + id_len + 2;
        }
        memcpy(o + n, body, sizeof(body) - 1);
        n += sizeof(body) - 1;
        w->olen[w->on] = n;
        w->oreq[w->on] = req;
        w->on++;
    }
}

/* serve_batch() of worker.c. */
static int serve_batch(struct worker *w, int fd)
{
    for (unsigned i = 0; i < BATCH; i++) {
        w->rmsg[i].msg_hdr.msg_namelen = sizeof(w->rsrc[i]);
        w->rmsg[i].msg_hdr.msg_controllen = CTL_SIZE;
        w->rmsg[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(fd, w->rmsg, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return 0;
    w->fd = fd;
    w->received += (uint64_t)n;
    for (int i = 0; i < n; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&w->rsrc[i];
        in_port_t port = sa->sa_family == AF_INET6
                             ? ((const struct sockaddr_in6 *)sa)->sin6_port
                             : ((const struct sockaddr_in *)sa)->sin_port;
        if (port == 0)
            continue;
        if (w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)
            continue;
        answer_source(w, (unsigned)i);
        handle(w, (unsigned)i, w->rbuf[i], w->rmsg[i].msg_len);
    }
    if (w->on)
        flush(w);
    return n;
}

/* worker_main() of worker.c, without the QSBR marks. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event ev[8];
    for (;;) {
        int n = epoll_wait(w->epfd, ev, 8, -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            for (int round = 0; round < 16; round++) {
                int got = serve_batch(w, fd);
                if (got < BATCH)
                    break;
            }
        }
    }
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: tged-bench-echo [-l ADDR:PORT]... [-w WORKERS] [-m N] "
            "[-t TYPE]\n"
            "The benchmark's baseline: answer every TGED DISCOVERY with a "
            "fixed REPLY\n"
            "(etc/records.conf's SQL record, with the request's ID), through "
            "the same\n"
            "sockets, threads and batches as tgedd's workers.\n"
            "\n"
            "  -l, --listen ADDR:PORT  address to answer on, repeatable "
            "(default\n"
            "                          127.0.0.1:4745; [ADDR]:PORT for "
            "IPv6)\n"
            "  -w, --workers N         worker threads, each with its own "
            "SO_REUSEPORT\n"
            "                          socket per address, as tgedd's "
            "responder.workers\n"
            "                          (default 1)\n"
            "  -m, --replies N         REPLY datagrams per request (default "
            "1)\n"
            "  -t, --type TYPE         the RQ written in the answer "
            "(default SQL)\n"
            "  -h, --help              print this help and exit\n"
            "SIGINT or SIGTERM stop it; it prints what it counted on "
            "stderr.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"workers", required_argument, NULL, 'w'},
        {"replies", required_argument, NULL, 'm'},
        {"type", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    unsigned nworkers = 1;
    const char *type = "SQL";
    int c;
    while ((c = getopt_long(argc, argv, "l:w:m:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (nlisten == MAX_LISTEN)
                fail(optarg, "too many addresses");
            if (parse_listen(optarg, &listens[nlisten]))
                fail(optarg, "not ADDR:PORT or [ADDR6]:PORT");
            nlisten++;
            break;
        case 'w':
            nworkers = (unsigned)atoi(optarg);
            if (nworkers < 1 || nworkers > 64)
                fail("-w", "give 1 to 64 workers");
            break;
        case 'm':
            replies = (unsigned)atoi(optarg);
            if (replies < 1 || replies > 1024)
                fail("-m", "give 1 to 1024 replies");
            break;
        case 't':
            type = optarg;
            if (strlen(type) < 1 || strlen(type) > 63)
                fail("-t", "a type has 1 to 63 characters");
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'tged-bench-echo -h' for help.\n");
            return 2;
        }
    }
    if (!nlisten)
        parse_listen("127.0.0.1:4745", &listens[nlisten++]);
    head_len = (size_t)snprintf(head, sizeof(head),
                                "TGED REPLY 1.0\r\nRQ: %s\r\n", type);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);

    /* The workers run until exit: kept in a static so they stay
     * reachable. */
    static struct worker **ws;
    ws = calloc(nworkers, sizeof(*ws));
    if (!ws)
        fail("memory", strerror(ENOMEM));
    for (unsigned i = 0; i < nworkers; i++) {
        struct worker *w = calloc(1, sizeof(*w));
        if (!w)
            fail("memory", strerror(ENOMEM));
        ws[i] = w;
        w->id = i;
        for (unsigned b = 0; b < BATCH; b++) {
            w->riov[b].iov_base = w->rbuf[b];
            w->riov[b].iov_len = RECV_SIZE;
            w->rmsg[b].msg_hdr.msg_name = &w->rsrc[b];
            w->rmsg[b].msg_hdr.msg_iov = &w->riov[b];
            w->rmsg[b].msg_hdr.msg_iovlen = 1;
            w->rmsg[b].msg_hdr.msg_control = w->rctl[b];
        }
        for (unsigned s = 0; s < OUT_SLOTS; s++) {
            w->obuf[s] = malloc(REPLY_SIZE);
            if (!w->obuf[s])
                fail("memory", strerror(ENOMEM));
        }
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epfd < 0)
            fail("epoll", strerror(errno));
        for (size_t l = 0; l < nlisten; l++) {
            w->fds[l] = open_socket(&listens[l], nworkers > 1, i == 0);
            struct epoll_event ev = {.events = EPOLLIN};
            ev.data.fd = w->fds[l];
            if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->fds[l], &ev))
                fail("epoll", strerror(errno));
        }
        if (pthread_create(&w->thread, NULL, worker_main, w))
            fail("thread", strerror(errno));
    }
    fprintf(stderr, "tged-bench-echo: serving with %u worker%s\n", nworkers,
            nworkers == 1 ? "" : "s");
    int sig;
    sigwait(&mask, &sig);
    uint64_t rx = 0, tx = 0, err = 0;
    for (unsigned i = 0; i < nworkers; i++) {
        rx += __atomic_load_n(&ws[i]->received, __ATOMIC_RELAXED);
        tx += __atomic_load_n(&ws[i]->sent, __ATOMIC_RELAXED);
        err += __atomic_load_n(&ws[i]->send_errors, __ATOMIC_RELAXED);
    }
    fprintf(stderr,
            "tged-bench-echo: received %llu, sent %llu, send errors %llu\n",
            (unsigned long long)rx, (unsigned long long)tx,
            (unsigned long long)err);
    return 0;
}
