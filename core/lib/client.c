/* core/lib/client.c - send a DISCOVERY, collect and filter the answers.
 * SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <tged/client.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_SERVER "255.255.255.255"
/* Resend schedule: 0, 250, 750, 1750, 2750 ms... The first gap is short
 * because a lost request is the common failure on a busy LAN; the cap keeps
 * a long wait from going quiet for seconds. */
#define RESEND_FIRST_MS 250
#define RESEND_MAX_MS 1000
/* A random ID of 8 bytes, as hex. */
#define RANDOM_ID_BYTES 8
/* With opts->all, how many distinct answers are remembered to drop
 * duplicates. Past it further answers are dropped too: memory stays
 * bounded even if something floods the client until the timeout. */
#define MAX_SEEN 1024
/* Any UDP payload over IPv4. A longer one (IPv6 allows it) is seen by its
 * length thanks to MSG_TRUNC and dropped, never parsed cut short. */
#define RECV_BUF TGED_MAX_DATAGRAM
#define DRAIN_BATCH 64
/* Signed requests: the nonces of the last copies sent, whose answers are
 * taken. At one copy a second, answers to a copy sent over a minute ago
 * are dropped as stale. */
#define MAX_NONCES 64

struct dest {
    struct sockaddr_storage ss;
    socklen_t len;
    int unicast;
};

/* ------------------------------------------------------------------ */
/* Answers                                                             */

static void copy_field(char *dst, size_t cap, const struct tged_str *s)
{
    size_t n = s->len < cap - 1 ? s->len : cap - 1;

    if (n)
        memcpy(dst, s->ptr, n);
    dst[n] = '\0';
}

int tged_answer_parse(const char *buf, size_t len, const char *svr,
                      struct tged_answer *out)
{
    struct tged_message msg;

    out->invalid = 0;
    out->nfields = 0;
    snprintf(out->svr, sizeof(out->svr), "%s", svr ? svr : "");

    if (tged_parse(buf, len, 0, &msg) != TGED_PARSE_OK)
        return -EINVAL;
    if (msg.method != TGED_METHOD_REPLY && msg.method != TGED_METHOD_INVALID)
        return -EINVAL;

    out->invalid = msg.method == TGED_METHOD_INVALID;
    for (size_t i = 0; i < msg.nheaders && i < TGED_MSG_HEADERS; i++) {
        copy_field(out->fields[i].name, sizeof(out->fields[i].name),
                   &msg.headers[i].name);
        copy_field(out->fields[i].value, sizeof(out->fields[i].value),
                   &msg.headers[i].value);
        out->nfields++;
    }
    return 0;
}

const char *tged_answer_get(const struct tged_answer *answer, const char *name)
{
    size_t nlen = strlen(name);

    for (size_t i = 0; i < answer->nfields; i++) {
        const char *n = answer->fields[i].name;

        if (tged_name_eq(n, strlen(n), name, nlen))
            return answer->fields[i].value;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The request                                                         */

static int check_filters(const struct tged_kv *filters, size_t nfilters,
                         size_t reserved)
{
    /* RQ and ID (and AUTH) take header lines a responder accepts. */
    if (nfilters > TGED_MAX_REQUEST_HEADERS - reserved)
        return -EINVAL;
    for (size_t i = 0; i < nfilters; i++) {
        const char *n = filters[i].name, *v = filters[i].value;
        size_t nlen, vlen;

        if (!n || !v)
            return -EINVAL;
        nlen = strlen(n);
        vlen = strlen(v);
        /* tged_value_valid() also refuses white space at either end: the
         * responder would strip it, and ask for another value than given. */
        if (!tged_name_valid(n, nlen) || tged_name_reserved(n, nlen) ||
            !tged_value_valid(v, vlen))
            return -EINVAL;
        /* A repeated name makes the whole request malformed. */
        for (size_t j = 0; j < i; j++)
            if (tged_name_eq(filters[j].name, strlen(filters[j].name), n, nlen))
                return -EINVAL;
    }
    return 0;
}

/* 2 * RANDOM_ID_BYTES random hex digits, NUL-terminated when cap allows;
 * a nonce is one too (TGED_AUTH_NONCE_LEN == 2 * RANDOM_ID_BYTES). */
static int random_id(char *id, size_t cap)
{
    unsigned char raw[RANDOM_ID_BYTES];
    size_t got = 0;

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw) && 2 * i + 2 < cap; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* The request; with a key, its head only, without the empty line, for
 * sign() to complete at each copy. */
static int build_request(const char *type, const struct tged_kv *filters,
                         size_t nfilters, const char *id,
                         const struct tged_key *key, char *buf, size_t cap,
                         size_t *len)
{
    struct tged_writer w;

    tged_writer_start(&w, buf, cap, TGED_METHOD_DISCOVERY);
    tged_writer_header(&w, "RQ", 2, type, strlen(type));
    tged_writer_header(&w, "ID", 2, id, strlen(id));
    for (size_t i = 0; i < nfilters; i++)
        tged_writer_header(&w, filters[i].name, strlen(filters[i].name),
                           filters[i].value, strlen(filters[i].value));
    if (key) {
        /* The AUTH line must fit too, with a time of ten digits. */
        size_t auth = tged_auth_size(key, 9999999999LL);
        *len = w.overflow ? 0 : w.len;
        return *len && auth && auth <= cap - *len ? 0 : -EINVAL;
    }
    *len = tged_writer_finish(&w);
    /* Longer than a responder accepts: it would only earn a bad-request. */
    return *len ? 0 : -EINVAL;
}

/* ------------------------------------------------------------------ */
/* The destination                                                     */

static int parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;

    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > 65535)
            return -EINVAL;
    }
    if (v == 0)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

static int parse_scope(const char *ifname, unsigned *scope)
{
    char *end;
    unsigned long v;

    if (!*ifname)
        return -EINVAL;
    *scope = if_nametoindex(ifname);
    if (*scope)
        return 0;
    /* "fe80::1%2" names the interface by its index, as ping and ssh
     * accept. */
    errno = 0;
    v = strtoul(ifname, &end, 10);
    if (errno || *end || v == 0 || v > UINT32_MAX ||
        !(ifname[0] >= '0' && ifname[0] <= '9'))
        return -EINVAL;
    *scope = (unsigned)v;
    return 0;
}

/* The broadcast address of a local interface reaches every host of that
 * subnet, so several responders may answer: it is not unicast. When the
 * interfaces cannot be listed, the address is taken for a broadcast: the
 * client then waits the whole timeout, which is slower but never misses a
 * REPLY. */
static int is_local_broadcast(const struct in_addr *a)
{
    struct ifaddrs *ifs;
    int found = 0;

    if (getifaddrs(&ifs) < 0)
        return 1;
    for (const struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
        const struct sockaddr_in *b = (const void *)i->ifa_broadaddr;

        if (!(i->ifa_flags & IFF_BROADCAST) || !i->ifa_addr ||
            i->ifa_addr->sa_family != AF_INET || !b || b->sin_family != AF_INET)
            continue;
        found = b->sin_addr.s_addr == a->s_addr;
    }
    freeifaddrs(ifs);
    return found;
}

/*
 * Unicast means exactly one responder can hear the request, so that its
 * INVALID is final. It is unicast unless it is the limited broadcast
 * 255.255.255.255, an IPv4 or IPv6 multicast group, or the broadcast
 * address of one of our interfaces (a directed broadcast). A directed
 * broadcast of a remote subnet cannot be told from a unicast address here;
 * it is taken for unicast, so the first INVALID from there ends the wait.
 */
static int dest_is_unicast(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct in_addr *a = &((const struct sockaddr_in *)ss)->sin_addr;

        if (a->s_addr == htonl(INADDR_BROADCAST) ||
            IN_MULTICAST(ntohl(a->s_addr)))
            return 0;
        return !is_local_broadcast(a);
    }
    return !IN6_IS_ADDR_MULTICAST(
        &((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int parse_server(const char *server, struct dest *d)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    const char *start = server, *port_s = NULL, *colon;
    size_t hlen;
    int bracketed = 0;
    char *pct;
    unsigned scope = 0;
    uint16_t port = TGED_PORT;
    struct addrinfo hints, *res;

    if (!server)
        start = server = DEFAULT_SERVER;
    if (server[0] == '[') {
        const char *end = strchr(server, ']');

        if (!end)
            return -EINVAL;
        bracketed = 1;
        start = server + 1;
        hlen = (size_t)(end - start);
        if (end[1] == ':')
            port_s = end + 2;
        else if (end[1] != '\0')
            return -EINVAL;
    } else if ((colon = strchr(server, ':')) && !strchr(colon + 1, ':')) {
        hlen = (size_t)(colon - server);
        port_s = colon + 1;
    } else {
        /* No colon, or several: a bare IPv6 address, without port. */
        hlen = strlen(server);
    }
    if (hlen == 0 || hlen >= sizeof(host))
        return -EINVAL;
    memcpy(host, start, hlen);
    host[hlen] = '\0';
    if (port_s && parse_port(port_s, &port) < 0)
        return -EINVAL;

    pct = strchr(host, '%');
    if (pct) {
        *pct = '\0';
        if (parse_scope(pct + 1, &scope) < 0)
            return -EINVAL;
    }
    /* getaddrinfo() would also take "10.1" or "4745" for an IPv4 address
     * (inet_aton forms): only a dotted quad is meant as one here. */
    if (!strchr(host, ':')) {
        struct in_addr a4;

        if (bracketed || pct || inet_pton(AF_INET, host, &a4) != 1)
            return -EINVAL;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST; /* an address, never a DNS lookup */
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return -EINVAL;
    if (res->ai_addrlen > sizeof(d->ss) ||
        (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
        freeaddrinfo(res);
        return -EINVAL;
    }
    memset(d, 0, sizeof(*d));
    memcpy(&d->ss, res->ai_addr, res->ai_addrlen);
    d->len = res->ai_addrlen;
    freeaddrinfo(res);

    if (d->ss.ss_family == AF_INET) {
        ((struct sockaddr_in *)&d->ss)->sin_port = htons(port);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&d->ss;

        s6->sin6_port = htons(port);
        if (pct)
            s6->sin6_scope_id = scope;
    }
    d->unicast = dest_is_unicast(&d->ss);
    return 0;
}

static int open_socket(const struct dest *d)
{
    int fd, on = 1;

    fd = socket(d->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (d->ss.ss_family == AF_INET) {
        /* Linux refuses any broadcast destination without it, the limited
         * one as well as a directed subnet broadcast, and we cannot always
         * tell the latter from a unicast address. */
        if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on)) < 0)
            goto fail;
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&d->ss;

        if (IN6_IS_ADDR_MULTICAST(&s6->sin6_addr)) {
            unsigned ifindex = s6->sin6_scope_id;
            int hops = 1; /* responders are on the link, never beyond */

            if (ifindex && setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF,
                                      &ifindex, sizeof(ifindex)) < 0)
                goto fail;
            if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops,
                           sizeof(hops)) < 0)
                goto fail;
        }
    }
    return fd;
fail:
    on = -errno;
    close(fd);
    return on;
}

/* ------------------------------------------------------------------ */
/* The wait                                                            */

struct wait {
    const char *type;
    const char *id;
    const struct tged_key *key; /* NULL: unsigned */
    int64_t window;
    char nonces[MAX_NONCES][TGED_AUTH_NONCE_LEN]; /* a ring of the last */
    size_t nnonces;                               /* sent, ever */
    unsigned dropped;                             /* answers not signed */
    struct tged_message *msg;                     /* with a key */
    int unicast;
    int all;
    tged_answer_fn fn;
    void *arg;
    char *buf;                   /* RECV_BUF bytes */
    struct tged_answer *answer;  /* the one being looked at */
    struct tged_answer *invalid; /* the first INVALID, NULL until one */
    int got_reply;
    char **seen; /* keys of the answers handed, with opts->all */
    size_t *seen_len;
    size_t nseen;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "";

    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip,
                  sizeof(ip));
        snprintf(out, cap, "%s", ip);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        char ifname[IF_NAMESIZE];

        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        /* A link-local address means nothing without its interface. */
        if (!s6->sin6_scope_id)
            snprintf(out, cap, "%s", ip);
        else if (if_indextoname(s6->sin6_scope_id, ifname))
            snprintf(out, cap, "%s%%%s", ip, ifname);
        else
            snprintf(out, cap, "%s%%%u", ip, (unsigned)s6->sin6_scope_id);
    } else {
        snprintf(out, cap, "?");
    }
}

static int field_cmp(const void *a, const void *b, void *ctx)
{
    const struct tged_answer *ans = ctx;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcasecmp(ans->fields[i].name, ans->fields[j].name);

    return c ? c : strcmp(ans->fields[i].value, ans->fields[j].value);
}

/* What makes two answers the same: their source and their headers as a set
 * (names folded to upper case, order ignored). ID is left out: it is ours,
 * or absent. */
static char *answer_key(const struct tged_answer *a, size_t *klen)
{
    size_t idx[TGED_MSG_HEADERS], n = 0, len, pos;
    char *key;

    len = strlen(a->svr) + 1;
    for (size_t i = 0; i < a->nfields; i++) {
        const char *name = a->fields[i].name;

        if (tged_name_eq(name, strlen(name), "ID", 2))
            continue;
        idx[n++] = i;
        len += strlen(name) + strlen(a->fields[i].value) + 2;
    }
    qsort_r(idx, n, sizeof(idx[0]), field_cmp, (void *)a);

    key = malloc(len);
    if (!key)
        return NULL;
    pos = (size_t)sprintf(key, "%s", a->svr) + 1;
    for (size_t k = 0; k < n; k++) {
        const char *name = a->fields[idx[k]].name;
        const char *value = a->fields[idx[k]].value;
        size_t nl = strlen(name), vl = strlen(value);

        for (size_t c = 0; c < nl; c++) {
            char ch = name[c];

            key[pos + c] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
        }
        key[pos + nl] = '\0';
        pos += nl + 1;
        memcpy(key + pos, value, vl + 1);
        pos += vl + 1;
    }
    *klen = pos;
    return key;
}

/* 1 when the answer is new and now remembered, 0 when it is a duplicate or
 * cannot be remembered. */
static int remember(struct wait *w, const struct tged_answer *a)
{
    size_t klen;
    char *key, **seen;
    size_t *seen_len;

    if (w->nseen >= MAX_SEEN)
        return 0;
    key = answer_key(a, &klen);
    if (!key)
        return 0;
    for (size_t i = 0; i < w->nseen; i++) {
        if (w->seen_len[i] == klen && !memcmp(w->seen[i], key, klen)) {
            free(key);
            return 0;
        }
    }
    seen = realloc(w->seen, (w->nseen + 1) * sizeof(*seen));
    if (!seen)
        goto fail;
    w->seen = seen;
    seen_len = realloc(w->seen_len, (w->nseen + 1) * sizeof(*seen_len));
    if (!seen_len)
        goto fail;
    w->seen_len = seen_len;
    w->seen[w->nseen] = key;
    w->seen_len[w->nseen] = klen;
    w->nseen++;
    return 1;
fail:
    free(key);
    return 0;
}

/* Not a result and not an error: -1 would be -EPERM, which sendto() can
 * give when a firewall refuses the request. */
enum { KEEP_WAITING = TGED_CLIENT_TIMEOUT + 1 };

/* 1 when an answer is signed with our key, for a copy of our request (its
 * nonce), at a time within the window of our clock. */
static int signed_for_us(struct wait *w, const char *buf, size_t len)
{
    struct tged_auth a;
    int64_t now = (int64_t)time(NULL);
    size_t n = w->nnonces < MAX_NONCES ? w->nnonces : MAX_NONCES, i;

    if (tged_parse(buf, len, 0, w->msg) != TGED_PARSE_OK ||
        tged_auth_find(buf, len, w->msg, &a) != 0 || a.time < now - w->window ||
        a.time > now + w->window)
        return 0;
    for (i = 0; i < n; i++)
        if (!memcmp(w->nonces[i], a.nonce.ptr, TGED_AUTH_NONCE_LEN))
            break;
    return i < n && tged_auth_verify(w->key, buf, &a);
}

/* Sign the request of head_len bytes as a new copy; its length, or 0. */
static size_t sign(struct wait *w, char *req, size_t head_len, size_t cap)
{
    char nonce[TGED_AUTH_NONCE_LEN + 1];

    if (random_id(nonce, sizeof(nonce)) < 0)
        return 0;
    memcpy(w->nonces[w->nnonces++ % MAX_NONCES], nonce, TGED_AUTH_NONCE_LEN);
    return tged_auth_sign(w->key, req, head_len, cap, (int64_t)time(NULL),
                          nonce);
}

/* Look at one datagram: KEEP_WAITING, or the result that ends the wait. */
static int take(struct wait *w, const char *buf, size_t len,
                const struct sockaddr_storage *from)
{
    struct tged_answer *a = w->answer;
    char svr[sizeof(a->svr)];
    const char *v;

    addr_text(from, svr, sizeof(svr));
    if (tged_answer_parse(buf, len, svr, a) < 0)
        return KEEP_WAITING;
    if (w->key) {
        /* A forged answer from any host of the LAN stops here. */
        if (!signed_for_us(w, buf, len)) {
            w->dropped++;
            return KEEP_WAITING;
        }
        /* Checked: the AUTH line (the last header) is no field. */
        a->nfields--;
    }
    /* An answer to another client's request, or to one of ours that came
     * before. No ID at all is fine: the original server echoes none. */
    v = tged_answer_get(a, "ID");
    if (v && strcmp(v, w->id) != 0)
        return KEEP_WAITING;
    v = tged_answer_get(a, "RQ");
    if (v && !tged_name_eq(v, strlen(v), w->type, strlen(w->type)))
        return KEEP_WAITING;

    if (a->invalid) {
        if (w->got_reply)
            return KEEP_WAITING;
        if (!w->invalid) {
            w->invalid = malloc(sizeof(*w->invalid));
            if (!w->invalid)
                return KEEP_WAITING;
            *w->invalid = *a;
        }
        /* Only that one responder heard us: nothing better will come. */
        if (w->unicast) {
            if (w->fn)
                w->fn(w->invalid, w->arg);
            return TGED_CLIENT_INVALID;
        }
        return KEEP_WAITING;
    }

    if (!w->all) {
        w->got_reply = 1;
        if (w->fn)
            w->fn(a, w->arg);
        return TGED_CLIENT_REPLY;
    }
    if (!remember(w, a))
        return KEEP_WAITING;
    w->got_reply = 1;
    if (w->fn && w->fn(a, w->arg))
        return TGED_CLIENT_REPLY;
    return KEEP_WAITING;
}

/* Read the datagrams queued; KEEP_WAITING or the final result. A batch
 * has a bound so that a flood cannot keep the caller past its timeout: the
 * wait loop checks the clock between batches. */
static int drain(struct wait *w, int fd)
{
    for (int i = 0; i < DRAIN_BATCH; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n;
        int rc;

        n = recvfrom(fd, w->buf, RECV_BUF, MSG_DONTWAIT | MSG_TRUNC,
                     (struct sockaddr *)&from, &flen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* EAGAIN: all read. Anything else (an ICMP error reported on
             * the socket...) is about one datagram, not the wait. */
            return KEEP_WAITING;
        }
        if ((size_t)n > RECV_BUF)
            continue;
        rc = take(w, w->buf, (size_t)n, &from);
        if (rc != KEEP_WAITING)
            return rc;
    }
    return KEEP_WAITING;
}

static void wait_free(struct wait *w)
{
    for (size_t i = 0; i < w->nseen; i++)
        free(w->seen[i]);
    free(w->seen);
    free(w->seen_len);
    free(w->invalid);
    free(w->answer);
    free(w->buf);
    free(w->msg);
}

int tged_discover(const char *type, const struct tged_kv *filters,
                  size_t nfilters, const struct tged_client_options *opts,
                  tged_answer_fn fn, void *arg)
{
    static const struct tged_client_options defaults = {0};
    char req[TGED_MAX_REQUEST];
    char idbuf[2 * RANDOM_ID_BYTES + 1] = "";
    struct dest d;
    struct wait w = {0};
    size_t reqlen, head_len = 0;
    int64_t start, deadline, next_send, interval;
    int fd, rc;

    if (!opts)
        opts = &defaults;
    if (!type || !tged_type_valid(type, strlen(type)))
        return -EINVAL;
    if (nfilters && !filters)
        return -EINVAL;
    if (opts->key &&
        !tged_auth_key_id_valid(opts->key->id,
                                strnlen(opts->key->id, sizeof(opts->key->id))))
        return -EINVAL;
    rc = check_filters(filters, nfilters, opts->key ? 3 : 2);
    if (rc < 0)
        return rc;
    if (opts->id) {
        if (!tged_id_valid(opts->id, strlen(opts->id)))
            return -EINVAL;
        w.id = opts->id;
    } else {
        rc = random_id(idbuf, sizeof(idbuf));
        if (rc < 0)
            return rc;
        w.id = idbuf;
    }
    rc = build_request(type, filters, nfilters, w.id, opts->key, req,
                       sizeof(req), &reqlen);
    if (rc < 0)
        return rc;
    head_len = reqlen;
    rc = parse_server(opts->server, &d);
    if (rc < 0)
        return rc;

    w.type = type;
    w.unicast = d.unicast;
    w.all = opts->all;
    w.fn = fn;
    w.arg = arg;
    w.key = opts->key;
    w.window = opts->auth_window ? opts->auth_window : TGED_AUTH_WINDOW;
    w.buf = malloc(RECV_BUF);
    w.answer = malloc(sizeof(*w.answer));
    if (w.key)
        w.msg = malloc(sizeof(*w.msg));
    if (!w.buf || !w.answer || (w.key && !w.msg)) {
        wait_free(&w);
        return -ENOMEM;
    }
    fd = open_socket(&d);
    if (fd < 0) {
        wait_free(&w);
        return fd;
    }

    start = now_ms();
    deadline =
        start + (opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS);
    next_send = start;
    interval = RESEND_FIRST_MS;
    rc = KEEP_WAITING;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t now = now_ms(), until;
        int n;

        if (now >= deadline)
            break;
        if (now >= next_send) {
            /* Each copy of a signed request has a nonce of its own: a
             * responder refuses a nonce it has seen, as a replay. */
            if (w.key && !(reqlen = sign(&w, req, head_len, sizeof(req)))) {
                rc = -EIO;
                break;
            }
            if (sendto(fd, req, reqlen, 0, (const struct sockaddr *)&d.ss,
                       d.len) < 0 &&
                next_send == start) {
                /* The first send failing (no route, no such interface...)
                 * will not get better; a later one may be a passing
                 * shortage of buffers, and answers may still come. */
                rc = -errno;
                break;
            }
            next_send += interval;
            interval =
                interval * 2 > RESEND_MAX_MS ? RESEND_MAX_MS : interval * 2;
            continue;
        }
        until = next_send < deadline ? next_send : deadline;
        n = poll(&pfd, 1, (int)(until - now));
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (n > 0) {
            rc = drain(&w, fd);
            if (rc != KEEP_WAITING)
                break;
        }
    }
    close(fd);

    /* A failing poll() after REPLYs were handed still leaves the caller
     * with what it was given. */
    if (rc < 0 && w.got_reply)
        rc = TGED_CLIENT_REPLY;
    if (rc == KEEP_WAITING) {
        if (w.got_reply) {
            rc = TGED_CLIENT_REPLY;
        } else if (w.invalid) {
            if (fn)
                fn(w.invalid, arg);
            rc = TGED_CLIENT_INVALID;
        } else {
            rc = TGED_CLIENT_TIMEOUT;
        }
    }
    if (w.key && opts->auth_dropped)
        *opts->auth_dropped = w.dropped;
    wait_free(&w);
    return rc;
}

static int keep_first(const struct tged_answer *answer, void *arg)
{
    *(struct tged_answer *)arg = *answer;
    return 1;
}

int tged_discover_one(const char *type, const struct tged_kv *filters,
                      size_t nfilters, const struct tged_client_options *opts,
                      struct tged_answer *out)
{
    out->invalid = 0;
    out->svr[0] = '\0';
    out->nfields = 0;
    return tged_discover(type, filters, nfilters, opts, keep_first, out);
}
