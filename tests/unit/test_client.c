/* tests/unit/test_client.c - the client against a scripted loopback responder.
 * SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <tged/client.h>

#include <check.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* A scripted responder                                                */

#define MAX_REQS 16
#define MAX_SCRIPT 4

/* Answers one request the way a script says: each answer is sent as
 * written, with "{ID}" replaced by the request's ID. It binds an ephemeral
 * port on loopback only, so the tests never reach another host. */
struct fake {
    int fd;
    char server[64]; /* what the client is pointed at */
    pthread_t thread;
    atomic_int stop;

    /* The script, set before fake_start(). */
    int drop; /* requests left unanswered first, as if lost */
    const char *answers[MAX_SCRIPT];
    size_t nanswers;

    /* What came, under lock. */
    pthread_mutex_t lock;
    int nreqs;
    char reqs[MAX_REQS][TGED_MAX_REQUEST + 1];
    size_t reqlen[MAX_REQS];
};

/* The ID of a request as our client writes it, "" when absent. */
static void request_id(const char *req, size_t len, char *id, size_t cap)
{
    const char *p = memmem(req, len, "\r\nID: ", 6), *end;

    id[0] = '\0';
    if (!p)
        return;
    p += 6;
    end = memmem(p, len - (size_t)(p - req), "\r\n", 2);
    if (!end || (size_t)(end - p) >= cap)
        return;
    memcpy(id, p, (size_t)(end - p));
    id[end - p] = '\0';
}

static size_t expand(const char *tmpl, const char *id, char *out, size_t cap)
{
    size_t len = 0;

    for (const char *p = tmpl; *p && len + 1 < cap;) {
        if (!strncmp(p, "{ID}", 4)) {
            size_t n = strlen(id);

            if (len + n >= cap)
                break;
            memcpy(out + len, id, n);
            len += n;
            p += 4;
        } else {
            out[len++] = *p++;
        }
    }
    return len;
}

static void *fake_run(void *arg)
{
    struct fake *f = arg;
    char buf[4096], id[TGED_MAX_ID + 1];
    static char out[TGED_MAX_DATAGRAM];
    int seen = 0;

    while (!atomic_load(&f->stop)) {
        struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n;

        if (poll(&pfd, 1, 20) <= 0)
            continue;
        n = recvfrom(f->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
                     &flen);
        if (n < 0)
            continue;
        pthread_mutex_lock(&f->lock);
        if (f->nreqs < MAX_REQS) {
            size_t keep =
                (size_t)n < TGED_MAX_REQUEST ? (size_t)n : TGED_MAX_REQUEST;

            memcpy(f->reqs[f->nreqs], buf, keep);
            f->reqs[f->nreqs][keep] = '\0';
            f->reqlen[f->nreqs] = (size_t)n;
            f->nreqs++;
        }
        pthread_mutex_unlock(&f->lock);

        if (++seen <= f->drop)
            continue;
        request_id(buf, (size_t)n, id, sizeof(id));
        for (size_t i = 0; i < f->nanswers; i++) {
            size_t len = expand(f->answers[i], id, out, sizeof(out));

            sendto(f->fd, out, len, 0, (struct sockaddr *)&from, flen);
        }
    }
    return NULL;
}

/* 0, or -1 when the address family is not available here. */
static int fake_start(struct fake *f, int family)
{
    struct sockaddr_storage ss;
    socklen_t len;

    f->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (f->fd < 0)
        return -1;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        len = sizeof(*s6);
    }
    if (bind(f->fd, (struct sockaddr *)&ss, len) < 0 ||
        getsockname(f->fd, (struct sockaddr *)&ss, &len) < 0) {
        close(f->fd);
        return -1;
    }
    if (family == AF_INET)
        snprintf(f->server, sizeof(f->server), "127.0.0.1:%u",
                 ntohs(((struct sockaddr_in *)&ss)->sin_port));
    else
        snprintf(f->server, sizeof(f->server), "[::1]:%u",
                 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
    pthread_mutex_init(&f->lock, NULL);
    atomic_store(&f->stop, 0);
    ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_run, f), 0);
    return 0;
}

static void fake_stop(struct fake *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->fd);
    pthread_mutex_destroy(&f->lock);
}

static struct fake *fake_new(void)
{
    struct fake *f = calloc(1, sizeof(*f));

    ck_assert_ptr_nonnull(f);
    return f;
}

/* ------------------------------------------------------------------ */
/* What the client hands over                                          */

#define MAX_GOT 8

struct got {
    int calls;
    int stop; /* what the callback returns */
    struct tged_answer a[MAX_GOT];
};

static int collect(const struct tged_answer *answer, void *arg)
{
    struct got *g = arg;

    if (g->calls < MAX_GOT)
        g->a[g->calls] = *answer;
    g->calls++;
    return g->stop;
}

static struct got *got_new(void)
{
    struct got *g = calloc(1, sizeof(*g));

    ck_assert_ptr_nonnull(g);
    return g;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define REPLY_SQL                                                              \
    "TGED REPLY 1.0\r\nRQ: SQL\r\nID: {ID}\r\nHOST: test\r\nPORT: "            \
    "3306\r\n\r\n"

/* Ask the fake for SQL with the given options. */
static int ask(struct fake *f, struct tged_client_options *o, struct got *g)
{
    o->server = f->server;
    return tged_discover("SQL", NULL, 0, o, collect, g);
}

/* ------------------------------------------------------------------ */
/* The request                                                         */

START_TEST(test_request_bytes)
{
    static const char want[] = "TGED DISCOVERY 1.0\r\n"
                               "RQ: LEASE\r\n"
                               "ID: abc-123\r\n"
                               "HOST: mypc\r\n"
                               "Site-Name: lab 2\r\n"
                               "\r\n";
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_kv kv[] = {{"HOST", "mypc"}, {"Site-Name", "lab 2"}};
    struct tged_client_options o = {.timeout_ms = 500, .id = "abc-123"};
    int rc;

    f->answers[0] = "TGED REPLY 1.0\r\nRQ: LEASE\r\nID: {ID}\r\nHOST: mypc\r\n"
                    "\r\n";
    f->nanswers = 1;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    o.server = f->server;
    rc = tged_discover("LEASE", kv, 2, &o, collect, g);
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_int_ge(f->nreqs, 1);
    ck_assert_uint_eq(f->reqlen[0], strlen(want));
    ck_assert_str_eq(f->reqs[0], want);
    ck_assert_int_eq(g->calls, 1);
    free(g);
    free(f);
}
END_TEST

START_TEST(test_random_id)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 500};
    char id[TGED_MAX_ID + 1];
    int rc;

    f->answers[0] = REPLY_SQL;
    f->nanswers = 1;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    rc = ask(f, &o, g);
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    request_id(f->reqs[0], f->reqlen[0], id, sizeof(id));
    ck_assert_uint_eq(strlen(id), 16);
    ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 16);
    ck_assert_str_eq(tged_answer_get(&g->a[0], "ID"), id);
    free(g);
    free(f);
}
END_TEST

START_TEST(test_resend_same_id)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 1000};
    int64_t t0;
    int rc;

    f->drop = 1; /* the first request is "lost" */
    f->answers[0] = REPLY_SQL;
    f->nanswers = 1;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    t0 = now_ms();
    rc = ask(f, &o, g);
    t0 = now_ms() - t0;
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_int_eq(g->calls, 1);
    ck_assert_int_ge(f->nreqs, 2);
    ck_assert_uint_eq(f->reqlen[0], f->reqlen[1]);
    ck_assert_str_eq(f->reqs[0], f->reqs[1]);
    /* The repetition is not sent at once, and well before the timeout. */
    ck_assert_int_ge(t0, 150);
    ck_assert_int_lt(t0, 900);
    free(g);
    free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Answers                                                             */

START_TEST(test_lf_and_lower_case)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 500};
    int rc;

    f->answers[0] = "TGED REPLY 1.0\nrq: sql\nid: {ID}\nhost: test\n"
                    "Port:   3306  \nx-extra: what\n\n";
    f->nanswers = 1;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    rc = ask(f, &o, g);
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_int_eq(g->calls, 1);
    ck_assert_int_eq(g->a[0].invalid, 0);
    ck_assert_str_eq(tged_answer_get(&g->a[0], "HOST"), "test");
    ck_assert_str_eq(tged_answer_get(&g->a[0], "PORT"), "3306");
    ck_assert_str_eq(tged_answer_get(&g->a[0], "X-Extra"), "what");
    ck_assert_str_eq(g->a[0].svr, "127.0.0.1");
    free(g);
    free(f);
}
END_TEST

START_TEST(test_foreign_id_ignored)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 500};
    int rc;

    f->answers[0] = "TGED REPLY 1.0\r\nRQ: SQL\r\nID: someone-else\r\n"
                    "HOST: wrong\r\n\r\n";
    f->answers[1] = "TGED REPLY 1.0\r\nRQ: SQL\r\nID: {ID}\r\nHOST: right\r\n"
                    "\r\n";
    f->nanswers = 2;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    rc = ask(f, &o, g);
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_int_eq(g->calls, 1);
    ck_assert_str_eq(tged_answer_get(&g->a[0], "HOST"), "right");
    free(g);
    free(f);
}
END_TEST

START_TEST(test_foreign_only_times_out)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 300};
    int rc;

    f->answers[0] = "TGED REPLY 1.0\r\nRQ: SQL\r\nID: someone-else\r\n"
                    "HOST: wrong\r\n\r\n";
    /* Another type than asked: an answer to some other request. */
    f->answers[1] = "TGED REPLY 1.0\r\nRQ: LDAP\r\nHOST: wrong\r\n\r\n";
    f->nanswers = 2;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    rc = ask(f, &o, g);
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_TIMEOUT);
    ck_assert_int_eq(g->calls, 0);
    free(g);
    free(f);
}
END_TEST

START_TEST(test_no_id_accepted)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 500};
    int rc;

    /* What the original Python server sends: no RQ, no ID. */
    f->answers[0] = "TGED REPLY 1.0\r\nHOST: test\r\nFQDN: test.example.com\r\n"
                    "IP: 192.168.0.34\r\nPORT: 3306\r\nUSER: john\r\n\r\n";
    f->nanswers = 1;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    rc = ask(f, &o, g);
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_int_eq(g->calls, 1);
    ck_assert_str_eq(tged_answer_get(&g->a[0], "USER"), "john");
    ck_assert_ptr_null(tged_answer_get(&g->a[0], "ID"));
    free(g);
    free(f);
}
END_TEST

START_TEST(test_garbage_ignored)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 500};
    int rc;

    f->answers[0] = "hello";
    /* A request is not an answer (another client's, bounced). */
    f->answers[1] = "TGED DISCOVERY 1.0\r\nRQ: SQL\r\nID: {ID}\r\n\r\n";
    f->answers[2] = "TGED REPLY 1.0\r\nRQ: SQL\r\nID: {ID}\r\nHOST: fine\r\n"
                    "\r\n";
    f->nanswers = 3;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    rc = ask(f, &o, g);
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_int_eq(g->calls, 1);
    ck_assert_str_eq(tged_answer_get(&g->a[0], "HOST"), "fine");
    free(g);
    free(f);
}
END_TEST

START_TEST(test_large_answer)
{
    static char big[8192];
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 500};
    char value[201];
    size_t len;
    int rc;

    /* Above the default 1024 bytes, as a responder may be configured. */
    memset(value, 'v', 200);
    value[200] = '\0';
    len = (size_t)snprintf(big, sizeof(big),
                           "TGED REPLY 1.0\r\nRQ: SQL\r\nID: {ID}\r\n");
    for (int i = 0; i < 20; i++)
        len += (size_t)snprintf(big + len, sizeof(big) - len, "F%02d: %s\r\n",
                                i, value);
    snprintf(big + len, sizeof(big) - len, "LAST: end\r\n\r\n");
    f->answers[0] = big;
    f->nanswers = 1;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    rc = ask(f, &o, g);
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_uint_eq(g->a[0].nfields, 23);
    ck_assert_str_eq(tged_answer_get(&g->a[0], "F19"), value);
    ck_assert_str_eq(tged_answer_get(&g->a[0], "LAST"), "end");
    free(g);
    free(f);
}
END_TEST

START_TEST(test_invalid_unicast_ends_wait)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 1000};
    int64_t t0;
    int rc;

    f->answers[0] = "TGED INVALID 1.0\r\nRP: INVALID\r\nRQ: SQL\r\nID: {ID}\r\n"
                    "REASON: no-match\r\n\r\n";
    f->nanswers = 1;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    t0 = now_ms();
    rc = ask(f, &o, g);
    t0 = now_ms() - t0;
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_INVALID);
    ck_assert_int_lt(t0, 500);
    ck_assert_int_eq(g->calls, 1);
    ck_assert_int_eq(g->a[0].invalid, 1);
    ck_assert_str_eq(tged_answer_get(&g->a[0], "REASON"), "no-match");
    ck_assert_str_eq(tged_answer_get(&g->a[0], "rp"), "INVALID");
    free(g);
    free(f);
}
END_TEST

START_TEST(test_all_drops_duplicates)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 600, .all = 1};
    int64_t t0;
    int rc;

    f->answers[0] = "TGED REPLY 1.0\r\nRQ: SQL\r\nID: {ID}\r\nHOST: a\r\n"
                    "PORT: 1\r\n\r\n";
    f->answers[1] = "TGED REPLY 1.0\r\nRQ: SQL\r\nID: {ID}\r\nHOST: b\r\n"
                    "PORT: 1\r\n\r\n";
    /* The first again, spelled otherwise: the same answer. */
    f->answers[2] = "TGED REPLY 1.0\nport: 1\nhost: a\nrq: SQL\n\n";
    f->nanswers = 3;
    /* Every repetition of the request is answered too: more duplicates. */
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    t0 = now_ms();
    rc = ask(f, &o, g);
    t0 = now_ms() - t0;
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_int_ge(f->nreqs, 2);
    ck_assert_int_eq(g->calls, 2);
    ck_assert_str_eq(tged_answer_get(&g->a[0], "HOST"), "a");
    ck_assert_str_eq(tged_answer_get(&g->a[1], "HOST"), "b");
    /* It waited for the timeout, not just the first answer. */
    ck_assert_int_ge(t0, 500);
    free(g);
    free(f);
}
END_TEST

START_TEST(test_callback_stops)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 1000, .all = 1};
    int64_t t0;
    int rc;

    f->answers[0] = REPLY_SQL;
    f->nanswers = 1;
    g->stop = 1;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    t0 = now_ms();
    rc = ask(f, &o, g);
    t0 = now_ms() - t0;
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_int_eq(g->calls, 1);
    ck_assert_int_lt(t0, 500);
    free(g);
    free(f);
}
END_TEST

START_TEST(test_timeout)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 300};
    int64_t t0;
    int rc;

    ck_assert_int_eq(fake_start(f, AF_INET), 0); /* says nothing */
    t0 = now_ms();
    rc = ask(f, &o, g);
    t0 = now_ms() - t0;
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_TIMEOUT);
    ck_assert_int_eq(g->calls, 0);
    ck_assert_int_ge(t0, 280);
    ck_assert_int_ge(f->nreqs, 2); /* at 0 and 250 ms */
    free(g);
    free(f);
}
END_TEST

START_TEST(test_ipv6_loopback)
{
    struct fake *f = fake_new();
    struct got *g = got_new();
    struct tged_client_options o = {.timeout_ms = 500};
    int rc;

    f->answers[0] = REPLY_SQL;
    f->nanswers = 1;
    if (fake_start(f, AF_INET6) < 0) {
        fprintf(stderr, "test_ipv6_loopback: no ::1 here, not tested\n");
        free(g);
        free(f);
        return;
    }
    rc = ask(f, &o, g);
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_str_eq(g->a[0].svr, "::1");
    ck_assert_str_eq(tged_answer_get(&g->a[0], "PORT"), "3306");
    free(g);
    free(f);
}
END_TEST

START_TEST(test_discover_one)
{
    struct fake *f = fake_new();
    struct tged_answer *a = malloc(sizeof(*a));
    struct tged_client_options o = {.timeout_ms = 500};
    int rc;

    ck_assert_ptr_nonnull(a);
    f->answers[0] = REPLY_SQL;
    f->nanswers = 1;
    ck_assert_int_eq(fake_start(f, AF_INET), 0);
    o.server = f->server;
    rc = tged_discover_one("sql", NULL, 0, &o, a);
    fake_stop(f);

    ck_assert_int_eq(rc, TGED_CLIENT_REPLY);
    ck_assert_int_eq(a->invalid, 0);
    ck_assert_str_eq(a->svr, "127.0.0.1");
    ck_assert_str_eq(tged_answer_get(a, "host"), "test");
    free(a);
    free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Refused before anything is sent                                     */

START_TEST(test_einval)
{
    static const char *const bad_servers[] = {
        "",
        "nonsense",
        "db.example.com",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:",
        "127.0.0.1:x",
        "127.1",
        "4745",
        "[::1",
        "[::1]x",
        "[::1]:",
        "[127.0.0.1]:4745",
        "127.0.0.1%lo",
        "::1%no-such-if0",
        "fe80::1%",
    };
    struct tged_client_options o = {.timeout_ms = 100};
    struct tged_kv reserved[] = {{"ID", "x"}},
                   reserved2[] = {{"x-tged-a", "1"}};
    struct tged_kv badname[] = {{"HO ST", "x"}},
                   badvalue[] = {{"HOST", "a\r\nb"}};
    struct tged_kv twice[] = {{"HOST", "a"}, {"host", "b"}};
    struct tged_kv padded[] = {{"HOST", " a"}};
    struct tged_kv many[31];

    o.server = "127.0.0.1:9";
    ck_assert_int_eq(tged_discover("", NULL, 0, &o, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tged_discover("S Q L", NULL, 0, &o, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tged_discover(NULL, NULL, 0, &o, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tged_discover("SQL", reserved, 1, &o, NULL, NULL),
                     -EINVAL);
    ck_assert_int_eq(tged_discover("SQL", reserved2, 1, &o, NULL, NULL),
                     -EINVAL);
    ck_assert_int_eq(tged_discover("SQL", badname, 1, &o, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tged_discover("SQL", badvalue, 1, &o, NULL, NULL),
                     -EINVAL);
    ck_assert_int_eq(tged_discover("SQL", twice, 2, &o, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tged_discover("SQL", padded, 1, &o, NULL, NULL), -EINVAL);
    for (size_t i = 0; i < 31; i++) {
        static char names[31][8];

        snprintf(names[i], sizeof(names[i]), "F%zu", i);
        many[i].name = names[i];
        many[i].value = "x";
    }
    ck_assert_int_eq(tged_discover("SQL", many, 31, &o, NULL, NULL), -EINVAL);

    o.id = "has space";
    ck_assert_int_eq(tged_discover("SQL", NULL, 0, &o, NULL, NULL), -EINVAL);
    o.id = NULL;

    for (size_t i = 0; i < sizeof(bad_servers) / sizeof(bad_servers[0]); i++) {
        o.server = bad_servers[i];
        ck_assert_msg(tged_discover("SQL", NULL, 0, &o, NULL, NULL) == -EINVAL,
                      "server \"%s\" accepted", bad_servers[i]);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* tged_answer_parse() and tged_answer_get()                           */

static int parse(const char *text, const char *svr, struct tged_answer *a)
{
    return tged_answer_parse(text, strlen(text), svr, a);
}

START_TEST(test_answer_parse)
{
    struct tged_answer *a = malloc(sizeof(*a));
    char longsvr[100];

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(
        parse("TGED REPLY 1.0\r\nRQ: SQL\r\nHOST: test\r\n\r\n", "10.0.0.1", a),
        0);
    ck_assert_int_eq(a->invalid, 0);
    ck_assert_uint_eq(a->nfields, 2);
    ck_assert_str_eq(a->fields[0].name, "RQ");
    ck_assert_str_eq(a->fields[1].name, "HOST");
    ck_assert_str_eq(a->fields[1].value, "test");
    ck_assert_str_eq(a->svr, "10.0.0.1");

    /* No empty line at the end, white space around values. */
    ck_assert_int_eq(parse("TGED REPLY 1.0\nhost:\t spaced out \t", "x", a), 0);
    ck_assert_str_eq(tged_answer_get(a, "HOST"), "spaced out");

    ck_assert_int_eq(parse("TGED INVALID 1.0\r\nRP: INVALID\r\n\r\n", NULL, a),
                     0);
    ck_assert_int_eq(a->invalid, 1);
    ck_assert_str_eq(a->svr, "");

    memset(longsvr, 'a', sizeof(longsvr) - 1);
    longsvr[sizeof(longsvr) - 1] = '\0';
    ck_assert_int_eq(parse("TGED REPLY 1.0\r\n\r\n", longsvr, a), 0);
    ck_assert_uint_eq(strlen(a->svr), sizeof(a->svr) - 1);
    ck_assert_uint_eq(a->nfields, 0);

    ck_assert_int_eq(parse("TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n", "x", a),
                     -EINVAL);
    ck_assert_int_eq(parse("TGED PING 1.0\r\n\r\n", "x", a), -EINVAL);
    ck_assert_int_eq(parse("TGED reply 1.0\r\n\r\n", "x", a), -EINVAL);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\n\r\n", "x", a), -EINVAL);
    ck_assert_int_eq(parse("TGED REPLY 1.0\r\nHOST :x\r\n\r\n", "x", a),
                     -EINVAL);
    ck_assert_int_eq(parse("", "x", a), -EINVAL);
    ck_assert_int_eq(tged_answer_parse("TGED REPLY 1.0\r\nA: b\r\n", 9, "x", a),
                     -EINVAL); /* "TGED REPL" */
    free(a);
}
END_TEST

START_TEST(test_answer_get)
{
    struct tged_answer *a = malloc(sizeof(*a));

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(parse("TGED REPLY 1.0\r\nRQ: SQL\r\nHost-Name: db\r\n"
                           "EMPTY:\r\n\r\n",
                           "10.0.0.1", a),
                     0);
    ck_assert_str_eq(tged_answer_get(a, "host-name"), "db");
    ck_assert_str_eq(tged_answer_get(a, "HOST-NAME"), "db");
    ck_assert_str_eq(tged_answer_get(a, "rq"), "SQL");
    ck_assert_str_eq(tged_answer_get(a, "EMPTY"), "");
    ck_assert_ptr_null(tged_answer_get(a, "HOST"));
    ck_assert_ptr_null(tged_answer_get(a, "Host-Name-2"));
    free(a);
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *wire = tcase_create("wire");
    TCase *local = tcase_create("local");

    /* Each test waits at most about one second. */
    tcase_set_timeout(wire, 10);
    tcase_add_test(wire, test_request_bytes);
    tcase_add_test(wire, test_random_id);
    tcase_add_test(wire, test_resend_same_id);
    tcase_add_test(wire, test_lf_and_lower_case);
    tcase_add_test(wire, test_foreign_id_ignored);
    tcase_add_test(wire, test_foreign_only_times_out);
    tcase_add_test(wire, test_no_id_accepted);
    tcase_add_test(wire, test_garbage_ignored);
    tcase_add_test(wire, test_large_answer);
    tcase_add_test(wire, test_invalid_unicast_ends_wait);
    tcase_add_test(wire, test_all_drops_duplicates);
    tcase_add_test(wire, test_callback_stops);
    tcase_add_test(wire, test_timeout);
    tcase_add_test(wire, test_ipv6_loopback);
    tcase_add_test(wire, test_discover_one);
    suite_add_tcase(s, wire);

    tcase_add_test(local, test_einval);
    tcase_add_test(local, test_answer_parse);
    tcase_add_test(local, test_answer_get);
    suite_add_tcase(s, local);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(client_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
