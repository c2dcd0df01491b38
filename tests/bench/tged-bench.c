/* tests/bench/tged-bench.c - a load generator for TGED responders.
 *
 * Each socket keeps a ring of request slots indexed by sequence number. The
 * ID of a request names its socket and its sequence number, so an answer
 * finds its request, and the time it was sent, without a lookup table or
 * any allocation while the load runs. Closed loop keeps a window of
 * requests in flight; open loop sends on a fixed schedule and measures
 * latency from the time a request was due, so a slow responder cannot hide
 * behind a generator that waits for it (coordinated omission).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define ID_LEN 16 /* 4 hex digits of socket, 12 of sequence number */
#define SEQ_BITS 48
#define MAX_REQUEST 65507
#define RECV_SIZE 4096 /* the head of any answer; longer ones are cut */
#define MAX_SOCKETS 1024
#define MAX_VARY_SEGS 16
#define DEFAULT_PORT 4745

/* Latency histogram: 64 linear buckets per power of two of nanoseconds
 * (under 1.6 % error), up to 2^42 ns. */
#define SUB_BITS 6
#define NBUCKETS ((42 - SUB_BITS + 1) << SUB_BITS)

enum { S_FREE = 0, S_WAITING, S_DONE, S_EXPIRED };

struct slot {
    uint64_t t;     /* when it was sent (open loop: when it was due), ns */
    uint32_t seq32; /* low bits of its sequence number: is it still this? */
    uint32_t k;     /* the number put for {n} */
    uint16_t got;   /* REPLYs received */
    uint8_t state;
    uint8_t measured; /* sent after the warm-up, counted in the results */
};

struct stats {
    uint64_t sent, answered, replies;
    uint64_t lost, short_, bad_method, bad_type, bad_id, extra;
    uint64_t late, send_errors, skipped, truncated;
    uint64_t lat_min, lat_max, lag_max;
    uint64_t last_done; /* time of the last measured completion */
    uint64_t hist[NBUCKETS];
};

struct conn {
    int fd;
    unsigned idx;
    struct slot *ring;
    uint64_t mask;
    uint64_t head; /* next sequence number */
    uint64_t tail; /* oldest one that may still be waiting */
    unsigned inflight, window;
    uint64_t rng;
    char idpfx[8]; /* the socket's 4 hex digits */
    struct mmsghdr smsg[BATCH];
    struct iovec siov[BATCH];
    char (*sbuf)[MAX_REQUEST + 96];
    struct mmsghdr rmsg[BATCH];
    struct iovec riov[BATCH];
    char (*rbuf)[RECV_SIZE];
};

struct thread {
    pthread_t th;
    unsigned idx;
    struct conn *conns;
    unsigned nconns;
    int epfd;
    double rate;         /* open loop: this thread's requests/s, else 0 */
    uint64_t count;      /* -n: measured requests this thread sends, else 0 */
    uint64_t sent_total; /* open loop: requests due so far */
    struct stats st;
};

/* The request as given; "{n}" in it is replaced per request. */
struct tmpl {
    char *start; /* start line with its line end */
    size_t start_len;
    const char *eol; /* the start line's line end, used for the ID line */
    size_t eol_len;
    const char *seg[MAX_VARY_SEGS + 1]; /* the rest, split at each {n} */
    size_t seg_len[MAX_VARY_SEGS + 1];
    unsigned nseg;
    const char *rq_seg[MAX_VARY_SEGS + 1]; /* the RQ value, split alike */
    size_t rq_len[MAX_VARY_SEGS + 1];
    unsigned nrq; /* 0: the request has no RQ: type not checked */
    size_t max_len;
};

static struct {
    struct sockaddr_storage ss;
    socklen_t sslen;
    const char *server;
    unsigned sockets, threads, window;
    double rate, duration, warmup;
    uint64_t count;
    uint64_t timeout_ns;
    int expect; /* REPLYs a request must get; 0: one INVALID */
    uint64_t vary;
    int json, quiet;
    const char *type;
    const char *file;
    struct tmpl t;
    uint64_t t0, tm, te; /* start, end of warm-up, end of sending */
} opt;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    /* The first stops sending and waits for answers; a second one stops
     * waiting. */
    interrupted = interrupted + 1;
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tged-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: tged-bench [OPTIONS] [FIELD=VALUE...]\n"
        "Send TGED DISCOVERY requests to one responder as fast as it answers "
        "(closed\n"
        "loop) or at a fixed rate (open loop), check every answer and report "
        "requests/s,\n"
        "latency percentiles, lost and wrong answers.\n"
        "\n"
        "Target and load:\n"
        "  -s, --server ADDR[:PORT]  responder, e.g. 127.0.0.1:4745 or "
        "[::1]:4745\n"
        "                            (default 127.0.0.1:%d; broadcast and "
        "multicast\n"
        "                            addresses are refused: this is a "
        "flood)\n"
        "  -c, --sockets N           sockets, each its own source port "
        "(default 1); a\n"
        "                            responder with SO_REUSEPORT workers "
        "spreads them\n"
        "  -j, --threads N           threads sending and receiving, "
        "sockets shared out\n"
        "                            among them (default 1; at most "
        "--sockets)\n"
        "  -w, --window N            closed loop: requests in flight in all "
        "(default 64),\n"
        "                            shared out among the sockets\n"
        "  -r, --rate R              open loop: send R requests/s in all, "
        "on a schedule;\n"
        "                            latency counts from when each was "
        "due\n"
        "  -d, --duration SECONDS    how long to measure (default 5; "
        "decimals allowed)\n"
        "  -n, --count N             send N measured requests, then stop "
        "(instead of -d)\n"
        "  -W, --warmup SECONDS      load before measuring, not counted "
        "(default 1)\n"
        "  -T, --timeout MS          an answer later than this after its "
        "request is lost\n"
        "                            (default 1000)\n"
        "\n"
        "The request (tged-bench writes its own ID header into each one):\n"
        "  -t, --type TYPE           the RQ asked for (default SQL)\n"
        "  FIELD=VALUE               a filter header, repeatable\n"
        "  -f, --file FILE           send FILE as the request instead (the "
        "bytes as they\n"
        "                            are; an ID header in it is replaced); "
        "its RQ is\n"
        "                            the type answers must carry\n"
        "  -v, --vary N              replace each \"{n}\" in the type, the "
        "filters or the\n"
        "                            file by a pseudo-random number from 0 "
        "to N-1, new\n"
        "                            for each request (to spread lookups "
        "over a data set)\n"
        "\n"
        "Checking:\n"
        "  -e, --expect N            REPLYs each request must get (default "
        "1); 0: one\n"
        "                            INVALID answer instead\n"
        "  An answer is wrong when its ID is not one sent on that socket, "
        "its method\n"
        "  is not REPLY (INVALID with -e 0), its RQ is not the type asked "
        "(compared\n"
        "  case-insensitively), or it comes beyond the expected number. A "
        "request\n"
        "  with no answer within the timeout is lost; with some but fewer "
        "than\n"
        "  expected it is counted wrong (short). Answers after the timeout "
        "are late.\n"
        "\n"
        "Output:\n"
        "  --json                    print the results as one JSON object "
        "instead\n"
        "  -q, --quiet               print only the machine-readable line\n"
        "  -h, --help                print this help and exit\n"
        "  By default a table, then one line for scripts:\n"
        "  tged-bench: rps=... p50_us=... p99_us=... p999_us=... sent=... "
        "answered=...\n"
        "              lost=... wrong=... (then max_us, replies, late, "
        "skipped, ...)\n"
        "  rps counts requests answered in full that were sent during the "
        "measurement,\n"
        "  divided by its length. Exit code: 0 when the run completed, 1 "
        "when it could\n"
        "  not run, 2 on a usage error (lost or wrong answers do not change "
        "it).\n"
        "\n"
        "Examples:\n"
        "  tged-bench -s 127.0.0.1:4745 -c 2 -w 128 -t SQL\n"
        "  tged-bench -t LEASE -v 100000 HOST=h{n} -r 50000 -d 10\n"
        "  tged-bench -t WEB -e 8 --json\n",
        DEFAULT_PORT);
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */

static void parse_server(const char *text)
{
    char host[128];
    const char *port = NULL;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || (size_t)(end - text - 1) >= sizeof(host))
            die("-s %s: write an IPv6 address as [ADDR]:PORT", text);
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        if (end[1] == ':')
            port = end + 2;
        else if (end[1])
            die("-s %s: write an IPv6 address as [ADDR]:PORT", text);
    } else {
        const char *colon = strrchr(text, ':');
        if (colon && strchr(text, ':') != colon)
            colon = NULL; /* a bare IPv6 address */
        size_t hl = colon ? (size_t)(colon - text) : strlen(text);
        if (hl >= sizeof(host))
            die("-s %s: address too long", text);
        memcpy(host, text, hl);
        host[hl] = '\0';
        if (colon)
            port = colon + 1;
    }
    long p = DEFAULT_PORT;
    if (port) {
        char *e;
        p = strtol(port, &e, 10);
        if (!*port || *e || p < 1 || p > 65535)
            die("-s %s: the port must be from 1 to 65535", text);
    }
    memset(&opt.ss, 0, sizeof(opt.ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&opt.ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&opt.ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        uint32_t a = ntohl(s4->sin_addr.s_addr);
        if (a == 0xffffffffu || (a >> 28) == 0xe || a == 0)
            die("-s %s: broadcast, multicast and 0.0.0.0 are refused: "
                "give one responder's unicast address",
                text);
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)p);
        opt.sslen = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        if (IN6_IS_ADDR_MULTICAST(&s6->sin6_addr) ||
            IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
            die("-s %s: multicast and :: are refused: give one "
                "responder's unicast address",
                text);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)p);
        opt.sslen = sizeof(*s6);
    } else {
        die("-s %s: not a numeric IPv4 or IPv6 address", text);
    }
}

/* Split text at each "{n}" into segs; returns how many segments. */
static unsigned split_vary(const char *text, size_t len, const char **seg,
                           size_t *seg_len, const char *what)
{
    unsigned n = 0;
    const char *p = text, *end = text + len;
    for (;;) {
        const char *m = memmem(p, (size_t)(end - p), "{n}", 3);
        if (!m) {
            seg[n] = p;
            seg_len[n] = (size_t)(end - p);
            return n + 1;
        }
        if (n == MAX_VARY_SEGS)
            die("%s: at most %d {n} in a request", what, MAX_VARY_SEGS);
        seg[n] = p;
        seg_len[n] = (size_t)(m - p);
        n++;
        p = m + 3;
    }
}

static int name_is(const char *p, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (c != name[i])
            return 0;
    }
    return 1;
}

/* Make the template from the request text: keep the start line, drop any
 * ID line (tged-bench writes its own right after the start line), find
 * the RQ value so answers can be checked against it. */
static void make_template(char *text, size_t len, const char *what)
{
    struct tmpl *t = &opt.t;
    char *nl = memchr(text, '\n', len);
    if (!nl)
        die("%s: the request has no line end after its start line", what);
    t->start = text;
    t->start_len = (size_t)(nl + 1 - text);
    t->eol = nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
    t->eol_len = strlen(t->eol);
    /* Copy the rest without ID lines; head lines end at the empty line. */
    char *rest = calloc(1, len + 1);
    if (!rest)
        die("out of memory");
    size_t rl = 0;
    const char *p = nl + 1, *end = text + len;
    int in_head = 1;
    const char *rq = NULL;
    size_t rqlen = 0;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *le = e ? e + 1 : end;
        const char *lend = e ? e : end;
        if (lend > p && lend[-1] == '\r')
            lend--;
        int drop = 0;
        if (in_head) {
            if (lend == p) {
                in_head = 0;
            } else {
                const char *colon = memchr(p, ':', (size_t)(lend - p));
                if (colon && name_is(p, (size_t)(colon - p), "ID"))
                    drop = 1;
                if (colon && name_is(p, (size_t)(colon - p), "RQ")) {
                    const char *v = colon + 1, *ve = lend;
                    while (v < ve && (*v == ' ' || *v == '\t'))
                        v++;
                    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                        ve--;
                    rq = rest + rl + (v - p);
                    rqlen = (size_t)(ve - v);
                }
            }
        }
        if (!drop) {
            memcpy(rest + rl, p, (size_t)(le - p));
            rl += (size_t)(le - p);
        }
        p = le;
    }
    t->nseg = split_vary(rest, rl, t->seg, t->seg_len, what);
    t->nrq = rq ? split_vary(rq, rqlen, t->rq_seg, t->rq_len, what) : 0;
    if ((t->nseg > 1 || t->nrq > 1) && !opt.vary)
        die("%s: the request holds {n}: give -v N", what);
    t->max_len =
        t->start_len + 4 + ID_LEN + t->eol_len + rl + (t->nseg - 1) * 20;
    if (t->max_len > MAX_REQUEST)
        die("%s: the request is longer than %d bytes", what, MAX_REQUEST);
}

static void template_from_args(int argc, char **argv)
{
    size_t cap = 64 + strlen(opt.type);
    for (int i = 0; i < argc; i++)
        cap += strlen(argv[i]) + 4;
    char *text = malloc(cap);
    if (!text)
        die("out of memory");
    size_t n = (size_t)snprintf(text, cap, "TGED DISCOVERY 1.0\r\nRQ: %s\r\n",
                                opt.type);
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i])
            die("'%s': a filter is written FIELD=VALUE", argv[i]);
        n += (size_t)snprintf(text + n, cap - n, "%.*s: %s\r\n",
                              (int)(eq - argv[i]), argv[i], eq + 1);
    }
    n += (size_t)snprintf(text + n, cap - n, "\r\n");
    make_template(text, n, "the request");
}

static void template_from_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("%s: %s", path, strerror(errno));
    char *buf = malloc(MAX_REQUEST + 1);
    if (!buf)
        die("out of memory");
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf + n, MAX_REQUEST + 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            die("%s: %s", path, strerror(errno));
        if (k == 0)
            break;
        n += (size_t)k;
        if (n > MAX_REQUEST)
            die("%s: longer than %d bytes, more than one datagram", path,
                MAX_REQUEST);
    }
    close(fd);
    make_template(buf, n, path);
}

static size_t put_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static const char hexd[] = "0123456789abcdef";

/* Write request seq of socket c, with k for {n}, into buf. */
static size_t build_request(const struct conn *c, char *buf, uint64_t seq,
                            uint32_t k)
{
    const struct tmpl *t = &opt.t;
    char *p = buf;
    memcpy(p, t->start, t->start_len);
    p += t->start_len;
    memcpy(p, "ID: ", 4);
    p += 4;
    memcpy(p, c->idpfx, 4);
    p += 4;
    for (int i = 11; i >= 0; i--)
        *p++ = hexd[(seq >> (i * 4)) & 15];
    memcpy(p, t->eol, t->eol_len);
    p += t->eol_len;
    for (unsigned i = 0; i < t->nseg; i++) {
        if (i)
            p += put_u64(p, k);
        memcpy(p, t->seg[i], t->seg_len[i]);
        p += t->seg_len[i];
    }
    return (size_t)(p - buf);
}

static void open_conn(struct conn *c, unsigned idx, uint64_t ring)
{
    c->idx = idx;
    snprintf(c->idpfx, sizeof(c->idpfx), "%04x", idx & 0xffffu);
    c->fd =
        socket(opt.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s", strerror(errno));
    /* Room for a whole window of answers (8 REPLYs each) at once. */
    int size = 8 << 20;
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
        setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    /* Connected: no address per datagram, and nothing but the responder's
     * answers come in. */
    if (connect(c->fd, (struct sockaddr *)&opt.ss, opt.sslen))
        die("connect %s: %s", opt.server, strerror(errno));
    c->ring = calloc(ring, sizeof(*c->ring));
    c->sbuf = malloc(BATCH * sizeof(*c->sbuf));
    c->rbuf = malloc(BATCH * sizeof(*c->rbuf));
    if (!c->ring || !c->sbuf || !c->rbuf)
        die("out of memory for %" PRIu64 " request slots", ring);
    c->mask = ring - 1;
    c->rng = 0x9e3779b97f4a7c15ULL * (idx + 1);
    for (unsigned i = 0; i < BATCH; i++) {
        c->siov[i].iov_base = c->sbuf[i];
        c->smsg[i].msg_hdr.msg_iov = &c->siov[i];
        c->smsg[i].msg_hdr.msg_iovlen = 1;
        c->riov[i].iov_base = c->rbuf[i];
        c->riov[i].iov_len = RECV_SIZE;
        c->rmsg[i].msg_hdr.msg_iov = &c->riov[i];
        c->rmsg[i].msg_hdr.msg_iovlen = 1;
    }
}

/* ------------------------------------------------------------------ */
/* Results                                                             */

static unsigned bucket_of(uint64_t v)
{
    if (v < (1u << SUB_BITS))
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - SUB_BITS;
    unsigned b =
        ((shift + 1) << SUB_BITS) + (unsigned)((v >> shift) - (1u << SUB_BITS));
    return b < NBUCKETS ? b : NBUCKETS - 1;
}

/* The middle of bucket b, in ns. */
static double bucket_value(unsigned b)
{
    if (b < (1u << SUB_BITS))
        return b;
    unsigned shift = (b >> SUB_BITS) - 1;
    uint64_t m = (b & ((1u << SUB_BITS) - 1)) + (1u << SUB_BITS);
    return ((double)(m << shift) + (double)((1ull << shift) - 1) / 2);
}

static void record_latency(struct stats *st, uint64_t ns)
{
    st->hist[bucket_of(ns)]++;
    if (!st->lat_min || ns < st->lat_min)
        st->lat_min = ns;
    if (ns > st->lat_max)
        st->lat_max = ns;
}

static double percentile(const struct stats *st, double p)
{
    uint64_t total = st->answered;
    if (!total)
        return 0;
    uint64_t want = (uint64_t)ceil(p * (double)total);
    if (want < 1)
        want = 1;
    uint64_t acc = 0;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        acc += st->hist[b];
        if (acc >= want) {
            double v = bucket_value(b);
            if (v > (double)st->lat_max)
                v = (double)st->lat_max;
            if (v < (double)st->lat_min)
                v = (double)st->lat_min;
            return v;
        }
    }
    return (double)st->lat_max;
}

/* ------------------------------------------------------------------ */
/* The load                                                            */

static inline uint64_t next_rand(struct conn *c)
{
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545f4914f6cdd1dULL;
}

/* Send up to n requests on c; t_due[i] (open loop) or now is each one's
 * time. Returns how many went out. */
static unsigned send_batch(struct thread *th, struct conn *c, unsigned n,
                           uint64_t now, const uint64_t *t_due)
{
    uint64_t room = c->mask + 1 - (c->head - c->tail);
    if (n > room)
        n = (unsigned)room;
    if (!n)
        return 0;
    uint32_t ks[BATCH];
    for (unsigned i = 0; i < n; i++) {
        ks[i] = opt.vary ? (uint32_t)(next_rand(c) % opt.vary) : 0;
        c->siov[i].iov_len = build_request(c, c->sbuf[i], c->head + i, ks[i]);
    }
    int k;
    do
        k = sendmmsg(c->fd, c->smsg, n, 0);
    while (k < 0 && errno == EINTR);
    if (k <= 0) {
        /* ECONNREFUSED: an ICMP error for an earlier request (nothing
         * listens): those requests will be counted lost. */
        if (errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED)
            die("send to %s: %s", opt.server, strerror(errno));
        th->st.send_errors++;
        return 0;
    }
    for (int i = 0; i < k; i++) {
        struct slot *s = &c->ring[(c->head + (unsigned)i) & c->mask];
        s->t = t_due ? t_due[i] : now;
        s->seq32 = (uint32_t)(c->head + (unsigned)i);
        s->k = ks[i];
        s->got = 0;
        s->state = S_WAITING;
        s->measured = s->t >= opt.tm && s->t < opt.te;
        if (s->measured)
            th->st.sent++;
    }
    c->head += (unsigned)k;
    c->inflight += (unsigned)k;
    return (unsigned)k;
}

static void finish(struct conn *c, struct slot *s)
{
    s->state = S_DONE;
    c->inflight--;
}

/* Time out the oldest requests; with force, every one still waiting. */
static void expire(struct thread *th, struct conn *c, uint64_t now, int force)
{
    while (c->tail < c->head) {
        struct slot *s = &c->ring[c->tail & c->mask];
        if (s->state == S_WAITING) {
            if (!force && now - s->t < opt.timeout_ns)
                break;
            s->state = S_EXPIRED;
            c->inflight--;
            if (s->measured) {
                if (s->got)
                    th->st.short_++;
                else
                    th->st.lost++;
            }
        }
        c->tail++;
    }
}

static inline int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static inline int lower_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

/* 1 when the answer's RQ is the type asked by a request with k. */
static int type_ok(const char *rq, size_t len, uint32_t k)
{
    const struct tmpl *t = &opt.t;
    if (!t->nrq)
        return 1;
    if (!rq)
        return 0;
    const char *p = rq, *end = rq + len;
    for (unsigned i = 0; i < t->nrq; i++) {
        if (i) {
            char num[24];
            size_t n = put_u64(num, k);
            if ((size_t)(end - p) < n || memcmp(p, num, n))
                return 0;
            p += n;
        }
        if ((size_t)(end - p) < t->rq_len[i] ||
            !lower_eq(p, t->rq_seg[i], t->rq_len[i]))
            return 0;
        p += t->rq_len[i];
    }
    return p == end;
}

enum { M_OTHER, M_REPLY, M_INVALID };

/* Check one answer that came in on c at time now. */
static void take_answer(struct thread *th, struct conn *c, const char *buf,
                        size_t len, uint64_t now)
{
    struct stats *st = &th->st;
    const char *p = buf, *end = buf + len;
    int method = M_OTHER;
    const char *rq = NULL, *id = NULL;
    size_t rqlen = 0, idlen = 0;

    if (len > 5 && !memcmp(p, "TGED", 4) && (p[4] == ' ' || p[4] == '\t')) {
        p += 5;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(end - p) > 5 && !memcmp(p, "REPLY", 5) &&
            (p[5] == ' ' || p[5] == '\t'))
            method = M_REPLY;
        else if ((size_t)(end - p) > 7 && !memcmp(p, "INVALID", 7) &&
                 (p[7] == ' ' || p[7] == '\t'))
            method = M_INVALID;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
        while (p < end && !(rq && id)) {
            const char *e = memchr(p, '\n', (size_t)(end - p));
            const char *lend = e ? e : end;
            if (lend > p && lend[-1] == '\r')
                lend--;
            if (lend == p)
                break;
            const char *colon = memchr(p, ':', (size_t)(lend - p));
            if (colon && colon - p == 2) {
                const char *v = colon + 1, *ve = lend;
                while (v < ve && (*v == ' ' || *v == '\t'))
                    v++;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                    ve--;
                char a = (char)(p[0] | 0x20), b = (char)(p[1] | 0x20);
                if (a == 'r' && b == 'q') {
                    rq = v;
                    rqlen = (size_t)(ve - v);
                } else if (a == 'i' && b == 'd') {
                    id = v;
                    idlen = (size_t)(ve - v);
                }
            }
            p = e ? e + 1 : end;
        }
    }
    /* Which request: the ID is this socket's 4 hex digits and a 48-bit
     * sequence number. */
    uint64_t seq = 0;
    int ok = id && idlen == ID_LEN && !memcmp(id, c->idpfx, 4);
    for (size_t i = 4; ok && i < ID_LEN; i++) {
        int v = hexval(id[i]);
        if (v < 0)
            ok = 0;
        seq = seq << 4 | (uint64_t)(v < 0 ? 0 : v);
    }
    if (!ok || seq >= c->head) {
        st->bad_id++;
        return;
    }
    if (c->head - seq > c->mask + 1) {
        st->late++;
        return;
    }
    struct slot *s = &c->ring[seq & c->mask];
    if (s->seq32 != (uint32_t)seq || s->state == S_EXPIRED) {
        st->late++;
        return;
    }
    int counted = s->measured;
    if (s->state == S_DONE) {
        if (counted)
            st->extra++;
        return;
    }
    int want = opt.expect ? M_REPLY : M_INVALID;
    if (method != want) {
        if (counted)
            st->bad_method++;
        finish(c, s);
        return;
    }
    if (!type_ok(rq, rqlen, s->k)) {
        if (counted)
            st->bad_type++;
        finish(c, s);
        return;
    }
    s->got++;
    if (counted && method == M_REPLY)
        st->replies++;
    if (s->got >= (opt.expect ? opt.expect : 1)) {
        finish(c, s);
        if (counted) {
            st->answered++;
            record_latency(st, now > s->t ? now - s->t : 0);
            st->last_done = now;
        }
    }
}

/* Read what waits on c; how many datagrams. With block (a blocking
 * socket), wait for the first one up to the socket's receive timeout: one
 * system call where epoll would take two. */
static unsigned drain(struct thread *th, struct conn *c, int block)
{
    unsigned total = 0;
    for (int round = 0; round < 16; round++) {
        for (unsigned i = 0; i < BATCH; i++)
            c->rmsg[i].msg_hdr.msg_flags = 0;
        int flags = block && !round ? MSG_WAITFORONE : MSG_DONTWAIT;
        int n = recvmmsg(c->fd, c->rmsg, BATCH, flags, NULL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR &&
                errno != ECONNREFUSED)
                die("receive from %s: %s", opt.server, strerror(errno));
            break;
        }
        uint64_t now = now_ns();
        for (int i = 0; i < n; i++) {
            size_t len = c->rmsg[i].msg_len;
            if (c->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
                th->st.truncated++;
                len = RECV_SIZE;
            }
            take_answer(th, c, c->rbuf[i], len, now);
        }
        total += (unsigned)n;
        if (n < BATCH)
            break;
    }
    return total;
}

static int all_idle(const struct thread *th)
{
    for (unsigned i = 0; i < th->nconns; i++)
        if (th->conns[i].inflight)
            return 0;
    return 1;
}

/* Wait up to ns for answers, and read the sockets that have some; how
 * many datagrams. */
static unsigned wait_and_drain(struct thread *th, uint64_t ns)
{
    struct epoll_event ev[64];
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    int n = epoll_pwait2(th->epfd, ev, 64, &ts, NULL);
    unsigned got = 0;
    for (int i = 0; i < n; i++)
        got += drain(th, ev[i].data.ptr, 0);
    return got;
}

static void *run_closed(struct thread *th)
{
    uint64_t measured_left = th->count;
    int sending = 1;
    uint64_t stop_at = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (sending && (interrupted || (!opt.count && now >= opt.te) ||
                        (opt.count && !measured_left && now >= opt.tm))) {
            sending = 0;
            stop_at = now;
        }
        if (!sending &&
            (all_idle(th) || now - stop_at > opt.timeout_ns || interrupted > 1))
            break;
        for (unsigned i = 0; sending && i < th->nconns; i++) {
            struct conn *c = &th->conns[i];
            while (c->inflight < c->window) {
                unsigned n = c->window - c->inflight;
                if (n > BATCH)
                    n = BATCH;
                int measuring = now >= opt.tm;
                if (opt.count && measuring && n > measured_left)
                    n = (unsigned)measured_left;
                if (!n)
                    break;
                unsigned k = send_batch(th, c, n, now, NULL);
                if (opt.count && measuring)
                    measured_left -= k;
                if (k < n)
                    break;
            }
        }
        if (th->nconns == 1)
            drain(th, &th->conns[0], 1);
        else
            wait_and_drain(th, 1000000);
        now = now_ns();
        for (unsigned i = 0; i < th->nconns; i++)
            expire(th, &th->conns[i], now, 0);
    }
    for (unsigned i = 0; i < th->nconns; i++)
        expire(th, &th->conns[i], now_ns(), 1);
    return NULL;
}

static void *run_open(struct thread *th)
{
    /* Requests are due every 1/rate s from t0; each thread takes every
     * threads-th one, so the whole schedule stays even. */
    double step = 1e9 / opt.rate;
    uint64_t offset = th->idx;
    unsigned rr = 0;
    uint64_t measured_left = th->count;
    int sending = 1;
    uint64_t stop_at = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (sending && (interrupted || (!opt.count && now >= opt.te) ||
                        (opt.count && !measured_left && now >= opt.tm))) {
            sending = 0;
            stop_at = now;
        }
        if (!sending &&
            (all_idle(th) || now - stop_at > opt.timeout_ns || interrupted > 1))
            break;
        uint64_t next_due = 0;
        while (sending) {
            uint64_t due[BATCH];
            unsigned n = 0;
            for (; n < BATCH; n++) {
                uint64_t j = th->sent_total + n;
                uint64_t t =
                    opt.t0 +
                    (uint64_t)((double)(j * opt.threads + offset) * step);
                if (t > now) {
                    next_due = t;
                    break;
                }
                if (opt.count && t >= opt.tm && n >= measured_left) {
                    next_due = 0;
                    break;
                }
                due[n] = t;
            }
            if (!n)
                break;
            struct conn *c = &th->conns[rr++ % th->nconns];
            unsigned k = send_batch(th, c, n, now, due);
            if (k < n && c->head - c->tail > c->mask) {
                /* The ring is full of requests still waiting: the
                 * generator cannot keep this rate; skip what is due. */
                for (unsigned i = k; i < n; i++)
                    if (due[i] >= opt.tm && due[i] < opt.te)
                        th->st.skipped++;
                k = n;
            }
            for (unsigned i = 0; i < k; i++)
                if (opt.count && due[i] >= opt.tm)
                    measured_left--;
            th->sent_total += k;
            if (k && now - due[0] > th->st.lag_max && due[0] >= opt.tm)
                th->st.lag_max = now - due[0];
            if (k < n)
                break; /* the socket is full: read, then retry */
        }
        now = now_ns();
        uint64_t wait = 1000000;
        if (sending && next_due)
            wait = next_due > now ? next_due - now : 0;
        wait_and_drain(th, wait);
        now = now_ns();
        for (unsigned i = 0; i < th->nconns; i++)
            expire(th, &th->conns[i], now, 0);
    }
    for (unsigned i = 0; i < th->nconns; i++)
        expire(th, &th->conns[i], now_ns(), 1);
    return NULL;
}

static void *thread_main(void *arg)
{
    struct thread *th = arg;
    /* Wake-ups as precise as the kernel allows: open loop sleeps between
     * requests due microseconds apart. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    return opt.rate > 0 ? run_open(th) : run_closed(th);
}

static double parse_num(const char *s, const char *what, double lo, double hi)
{
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (!*s || *e || errno || !(v >= lo && v <= hi))
        die("%s '%s': give a number from %g to %g", what, s, lo, hi);
    return v;
}

static uint64_t next_pow2(uint64_t v)
{
    uint64_t p = 1024;
    while (p < v)
        p <<= 1;
    return p;
}

int main(int argc, char **argv)
{
    enum { OPT_JSON = 256 };
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"sockets", required_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 'j'},
        {"window", required_argument, NULL, 'w'},
        {"rate", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'},
        {"count", required_argument, NULL, 'n'},
        {"warmup", required_argument, NULL, 'W'},
        {"timeout", required_argument, NULL, 'T'},
        {"type", required_argument, NULL, 't'},
        {"file", required_argument, NULL, 'f'},
        {"vary", required_argument, NULL, 'v'},
        {"expect", required_argument, NULL, 'e'},
        {"json", no_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    opt.server = "127.0.0.1:4745";
    opt.sockets = 1;
    opt.threads = 1;
    opt.window = 64;
    opt.duration = 5;
    opt.warmup = 1;
    opt.timeout_ns = 1000000000u;
    opt.expect = 1;
    opt.type = "SQL";
    int c, window_set = 0;
    while ((c = getopt_long(argc, argv, "s:c:j:w:r:d:n:W:T:t:f:v:e:qh",
                            longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            opt.server = optarg;
            break;
        case 'c':
            opt.sockets = (unsigned)parse_num(optarg, "-c", 1, MAX_SOCKETS);
            break;
        case 'j':
            opt.threads = (unsigned)parse_num(optarg, "-j", 1, 256);
            break;
        case 'w':
            opt.window = (unsigned)parse_num(optarg, "-w", 1, 1 << 20);
            window_set = 1;
            break;
        case 'r':
            opt.rate = parse_num(optarg, "-r", 1, 1e8);
            break;
        case 'd':
            opt.duration = parse_num(optarg, "-d", 0.001, 86400);
            break;
        case 'n':
            opt.count = (uint64_t)parse_num(optarg, "-n", 1, 1e12);
            break;
        case 'W':
            opt.warmup = parse_num(optarg, "-W", 0, 3600);
            break;
        case 'T':
            opt.timeout_ns =
                (uint64_t)(parse_num(optarg, "-T", 1, 3600000) * 1e6);
            break;
        case 't':
            opt.type = optarg;
            break;
        case 'f':
            opt.file = optarg;
            break;
        case 'v':
            opt.vary = (uint64_t)parse_num(optarg, "-v", 1, 4294967295.0);
            break;
        case 'e':
            opt.expect = (int)parse_num(optarg, "-e", 0, 65535);
            break;
        case OPT_JSON:
            opt.json = 1;
            break;
        case 'q':
            opt.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'tged-bench -h' for help.\n");
            return 2;
        }
    }
    if (opt.rate > 0 && window_set) {
        fprintf(stderr, "tged-bench: -w (closed loop) and -r (open loop) "
                        "exclude each other\n");
        return 2;
    }
    if (opt.file && (optind < argc || strcmp(opt.type, "SQL"))) {
        fprintf(stderr, "tged-bench: -f takes the whole request from the "
                        "file: no -t or FIELD=VALUE with it\n");
        return 2;
    }
    if (opt.threads > opt.sockets)
        opt.threads = opt.sockets;
    if (opt.rate <= 0 && opt.window < opt.sockets)
        opt.window = opt.sockets;
    parse_server(opt.server);
    if (opt.file)
        template_from_file(opt.file);
    else
        template_from_args(argc - optind, argv + optind);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* Enough slots that a request is only reused after its timeout, even
     * while one lost request holds the oldest place. */
    double per_sock_rate = opt.rate > 0 ? opt.rate / opt.sockets : 500000.0;
    double need = per_sock_rate * ((double)opt.timeout_ns / 1e9) * 1.5;
    if (need > (double)(1u << 22))
        need = (double)(1u << 22);
    uint64_t ring = next_pow2((uint64_t)need);
    if (ring < 4ull * opt.window)
        ring = next_pow2(4ull * opt.window);

    struct conn *conns = calloc(opt.sockets, sizeof(*conns));
    struct thread *ths = calloc(opt.threads, sizeof(*ths));
    if (!conns || !ths)
        die("out of memory");
    for (unsigned i = 0; i < opt.sockets; i++) {
        open_conn(&conns[i], i, ring);
        conns[i].window =
            opt.window / opt.sockets + (i < opt.window % opt.sockets);
    }
    /* Sockets are shared out in contiguous runs so each thread owns its
     * own. */
    for (unsigned t = 0, at = 0; t < opt.threads; t++) {
        unsigned n =
            opt.sockets / opt.threads + (t < opt.sockets % opt.threads);
        ths[t].idx = t;
        ths[t].conns = &conns[at];
        ths[t].nconns = n;
        at += n;
        ths[t].epfd = epoll_create1(EPOLL_CLOEXEC);
        if (ths[t].epfd < 0)
            die("epoll: %s", strerror(errno));
        if (n == 1 && opt.rate <= 0) {
            /* Blocking, so that a receive can wait; the timeout bounds the
             * wait so that lost requests still expire on time. */
            int fd = ths[t].conns[0].fd;
            struct timeval tv = {.tv_sec = 0, .tv_usec = 1000};
            if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) ||
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
                die("socket options: %s", strerror(errno));
        }
        for (unsigned i = 0; i < n; i++) {
            struct epoll_event ev = {.events = EPOLLIN,
                                     .data.ptr = &ths[t].conns[i]};
            if (epoll_ctl(ths[t].epfd, EPOLL_CTL_ADD, ths[t].conns[i].fd, &ev))
                die("epoll: %s", strerror(errno));
        }
        if (opt.rate > 0)
            ths[t].rate = opt.rate / opt.threads;
        if (opt.count)
            ths[t].count =
                opt.count / opt.threads + (t < opt.count % opt.threads);
    }
    opt.t0 = now_ns() + 1000000; /* all threads start together */
    opt.tm = opt.t0 + (uint64_t)(opt.warmup * 1e9);
    opt.te = opt.count ? UINT64_MAX : opt.tm + (uint64_t)(opt.duration * 1e9);
    for (unsigned t = 0; t < opt.threads; t++)
        if (pthread_create(&ths[t].th, NULL, thread_main, &ths[t]))
            die("cannot start a thread");
    for (unsigned t = 0; t < opt.threads; t++)
        pthread_join(ths[t].th, NULL);
    uint64_t t_end = now_ns();

    struct stats all;
    memset(&all, 0, sizeof(all));
    for (unsigned t = 0; t < opt.threads; t++) {
        const struct stats *s = &ths[t].st;
        uint64_t *a = (uint64_t *)&all;
        const uint64_t *b = (const uint64_t *)s;
        for (size_t i = 0; i < sizeof(all) / sizeof(uint64_t); i++)
            a[i] += b[i];
    }
    /* Sums are wrong for the extremes: take them again. */
    all.lat_min = all.lat_max = all.lag_max = all.last_done = 0;
    for (unsigned t = 0; t < opt.threads; t++) {
        const struct stats *s = &ths[t].st;
        if (s->lat_min && (!all.lat_min || s->lat_min < all.lat_min))
            all.lat_min = s->lat_min;
        if (s->lat_max > all.lat_max)
            all.lat_max = s->lat_max;
        if (s->lag_max > all.lag_max)
            all.lag_max = s->lag_max;
        if (s->last_done > all.last_done)
            all.last_done = s->last_done;
    }
    double secs;
    if (opt.count)
        secs =
            all.last_done > opt.tm ? (double)(all.last_done - opt.tm) / 1e9 : 0;
    else if (interrupted)
        secs = t_end > opt.tm ? (double)(t_end - opt.tm) / 1e9 : 0;
    else
        secs = opt.duration;
    if (interrupted && secs > opt.duration && !opt.count)
        secs = opt.duration;
    double rps = secs > 0 ? (double)all.answered / secs : 0;
    uint64_t wrong =
        all.bad_method + all.bad_type + all.bad_id + all.extra + all.short_;
    double p50 = percentile(&all, 0.50) / 1e3,
           p90 = percentile(&all, 0.90) / 1e3,
           p99 = percentile(&all, 0.99) / 1e3,
           p999 = percentile(&all, 0.999) / 1e3;
    double lmin = (double)all.lat_min / 1e3, lmax = (double)all.lat_max / 1e3;
    char mode[64];
    if (opt.rate > 0)
        snprintf(mode, sizeof(mode), "open loop %.0f/s", opt.rate);
    else
        snprintf(mode, sizeof(mode), "closed loop window %u", opt.window);

    if (opt.json) {
        printf("{\"server\": \"%s\", \"sockets\": %u, \"threads\": %u, "
               "\"mode\": \"%s\", \"window\": %u, \"rate\": %.0f, "
               "\"expect\": %d, \"seconds\": %.3f, \"warmup\": %.3f, "
               "\"rps\": %.0f, \"sent\": %" PRIu64 ", \"answered\": %" PRIu64
               ", \"replies\": %" PRIu64 ", \"lost\": %" PRIu64
               ", \"wrong\": %" PRIu64 ", \"wrong_method\": %" PRIu64
               ", \"wrong_type\": %" PRIu64 ", \"wrong_id\": %" PRIu64
               ", \"extra\": %" PRIu64 ", \"short\": %" PRIu64
               ", \"late\": %" PRIu64 ", \"skipped\": %" PRIu64
               ", \"send_errors\": %" PRIu64 ", \"truncated\": %" PRIu64
               ", \"latency_us\": {\"min\": %.1f, \"p50\": %.1f, \"p90\": "
               "%.1f, \"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f}, "
               "\"lag_max_us\": %.1f, \"interrupted\": %s}\n",
               opt.server, opt.sockets, opt.threads,
               opt.rate > 0 ? "open" : "closed", opt.rate > 0 ? 0 : opt.window,
               opt.rate, opt.expect, secs, opt.warmup, rps, all.sent,
               all.answered, all.replies, all.lost, wrong, all.bad_method,
               all.bad_type, all.bad_id, all.extra, all.short_, all.late,
               all.skipped, all.send_errors, all.truncated, lmin, p50, p90, p99,
               p999, lmax, (double)all.lag_max / 1e3,
               interrupted ? "true" : "false");
        goto out;
    }
    if (!opt.quiet) {
        printf("tged-bench: %s, %u socket%s, %u thread%s, %s, %.2f s after "
               "%.2f s warm-up%s\n",
               opt.server, opt.sockets, opt.sockets == 1 ? "" : "s",
               opt.threads, opt.threads == 1 ? "" : "s", mode, secs, opt.warmup,
               interrupted ? " (interrupted)" : "");
        printf("  %-22s %12" PRIu64 "\n", "requests sent", all.sent);
        printf("  %-22s %12" PRIu64 "   %.0f requests/s\n", "answered in full",
               all.answered, rps);
        printf("  %-22s %12" PRIu64 "   (%d per request expected)\n",
               opt.expect ? "REPLYs" : "INVALIDs",
               opt.expect ? all.replies : all.answered, opt.expect);
        printf("  %-22s %12" PRIu64 "   no answer within %.0f ms\n", "lost",
               all.lost, (double)opt.timeout_ns / 1e6);
        printf("  %-22s %12" PRIu64 "   method %" PRIu64 ", type %" PRIu64
               ", ID %" PRIu64 ", extra %" PRIu64 ", short %" PRIu64 "\n",
               "wrong", wrong, all.bad_method, all.bad_type, all.bad_id,
               all.extra, all.short_);
        printf("  %-22s %12" PRIu64 "\n", "late answers", all.late);
        if (all.skipped || all.send_errors || all.truncated)
            printf("  %-22s %12" PRIu64 "   send errors %" PRIu64
                   ", truncated answers %" PRIu64 "\n",
                   "skipped (ring full)", all.skipped, all.send_errors,
                   all.truncated);
        printf("  latency (us)           min %.1f  p50 %.1f  p90 %.1f  p99 "
               "%.1f  p99.9 %.1f  max %.1f\n",
               lmin, p50, p90, p99, p999, lmax);
        if (opt.rate > 0)
            printf("  generator lag (us)     max %.1f behind schedule\n",
                   (double)all.lag_max / 1e3);
    }
    printf("tged-bench: rps=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
           "sent=%" PRIu64 " answered=%" PRIu64 " lost=%" PRIu64
           " wrong=%" PRIu64 " max_us=%.1f replies=%" PRIu64 " late=%" PRIu64
           " skipped=%" PRIu64 " lag_max_us=%.1f\n",
           rps, p50, p99, p999, all.sent, all.answered, all.lost, wrong, lmax,
           all.replies, all.late, all.skipped, (double)all.lag_max / 1e3);
out:
    for (unsigned i = 0; i < opt.sockets; i++) {
        close(conns[i].fd);
        free(conns[i].ring);
        free(conns[i].sbuf);
        free(conns[i].rbuf);
    }
    for (unsigned t = 0; t < opt.threads; t++)
        close(ths[t].epfd);
    free(conns);
    free(ths);
    free(opt.t.start);
    free((char *)opt.t.seg[0]); /* the copy make_template() made */
    return fflush(stdout) == 0 ? 0 : 1;
}
