/* tests/unit/test_auth.c - the AUTH header, key files, the replay cache,
 * the responder's check of signed requests and its signed answers.
 * SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <tged/auth.h>
#include <tged/protocol.h>

#include <check.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"
#include "sink.h"

static const char SECRET_HEX[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static struct tged_key office(void)
{
    struct tged_key k;
    memset(&k, 0, sizeof(k));
    strcpy(k.id, "office");
    for (int i = 0; i < 32; i++)
        k.secret[i] = (unsigned char)i;
    return k;
}

static struct tged_message parsed;

/* Parse buf as a message and find its AUTH header. */
static int find(const char *buf, size_t len, struct tged_auth *a)
{
    if (tged_parse(buf, len, 0, &parsed) != TGED_PARSE_OK)
        return -100;
    return tged_auth_find(buf, len, &parsed, a);
}

#define HEAD "TGED DISCOVERY 1.0\r\nRQ: SQL\r\nID: a1\r\n"
#define NONCE "0011223344556677"
/* Computed with Python's hmac module over HEAD + the AUTH line up to the
 * space before the MAC: an answer independent of this library. */
#define KNOWN_MAC                                                              \
    "0eb153368860206dc82d965d99cab7fdf34cad7c042171bf406f2181b3159e27"
#define SIGNED HEAD "AUTH: v1 office 1700000000 " NONCE " " KNOWN_MAC "\r\n\r\n"

START_TEST(sign_matches_an_independent_hmac)
{
    struct tged_key k = office();
    char buf[512] = HEAD;
    size_t len =
        tged_auth_sign(&k, buf, strlen(HEAD), sizeof(buf), 1700000000, NONCE);
    ck_assert_uint_eq(len, strlen(SIGNED));
    ck_assert_uint_eq(len - strlen(HEAD), tged_auth_size(&k, 1700000000));
    ck_assert_mem_eq(buf, SIGNED, len);
}
END_TEST

START_TEST(find_and_verify)
{
    struct tged_key k = office(), other = office();
    struct tged_auth a;
    const char *s = SIGNED;
    ck_assert_int_eq(find(s, strlen(s), &a), 0);
    ck_assert_uint_eq(a.key_id.len, 6);
    ck_assert_mem_eq(a.key_id.ptr, "office", 6);
    ck_assert_int_eq(a.time, 1700000000);
    ck_assert_mem_eq(a.nonce.ptr, NONCE, 16);
    ck_assert_uint_eq(a.signed_len, strlen(s) - 64 - 4);
    ck_assert_int_eq(tged_auth_verify(&k, s, &a), 1);
    other.secret[31] ^= 1;
    ck_assert_int_eq(tged_auth_verify(&other, s, &a), 0);
    strcpy(other.id, "lab");
    other.secret[31] ^= 1;
    ck_assert_int_eq(tged_auth_verify(&other, s, &a), 0);
}
END_TEST

/* Every byte of a signed message is covered: changing any one makes it
 * unreadable or wrong. */
START_TEST(any_altered_byte_is_refused)
{
    struct tged_key k = office();
    const char *s = SIGNED;
    size_t len = strlen(s);
    char buf[512];
    struct tged_auth a;
    for (size_t i = 0; i < len; i++) {
        memcpy(buf, s, len);
        buf[i] = buf[i] == 'x' ? 'y' : 'x';
        int ok = find(buf, len, &a) == 0 && tged_auth_verify(&k, buf, &a);
        ck_assert_msg(!ok, "byte %zu altered and still accepted", i);
    }
    /* A body added after the empty line is refused too. */
    memcpy(buf, s, len);
    memcpy(buf + len, "x", 1);
    ck_assert_int_eq(find(buf, len + 1, &a), -EINVAL);
}
END_TEST

START_TEST(find_refuses_malformed_values)
{
    static const char *const bad[] = {
        HEAD "AUTH: v2 office 1700000000 " NONCE " " KNOWN_MAC "\r\n\r\n",
        HEAD "AUTH: v1  office 1700000000 " NONCE " " KNOWN_MAC "\r\n\r\n",
        HEAD "AUTH: v1 office 17000000000 " NONCE " " KNOWN_MAC "\r\n\r\n",
        HEAD "AUTH: v1 office  1700000000 " NONCE " " KNOWN_MAC "\r\n\r\n",
        HEAD "AUTH: v1 office 1700000000 00112233445566 " KNOWN_MAC "\r\n\r\n",
        HEAD "AUTH: v1 office 1700000000 00112233445566AA " KNOWN_MAC
             "\r\n\r\n",
        HEAD "AUTH: v1 office 1700000000 " NONCE " " KNOWN_MAC "0\r\n\r\n",
        HEAD "AUTH: v1 office 1700000000 " NONCE
             " 0EB153368860206dc82d965d99cab7fdf34cad7c042171bf406f2181b315"
             "9e27\r\n\r\n",
        HEAD "AUTH: v1 of/ice 1700000000 " NONCE " " KNOWN_MAC "\r\n\r\n",
        HEAD "AUTH: v1 "
             "abcdefghijabcdefghijabcdefghijabc 1700000000 " NONCE " " KNOWN_MAC
             "\r\n\r\n",
        HEAD "AUTH: v1 office -1 " NONCE " " KNOWN_MAC "\r\n\r\n",
        HEAD "AUTH: v1 office 1700000000 " NONCE "\r\n\r\n",
        HEAD "AUTH: v1\r\n\r\n",
        HEAD "AUTH: \r\n\r\n",
        /* not the last header */
        "TGED DISCOVERY 1.0\r\nRQ: SQL\r\nAUTH: v1 office 1700000000 " NONCE
        " " KNOWN_MAC "\r\nID: a1\r\n\r\n",
        /* no empty line, bare LF, white space after the MAC */
        HEAD "AUTH: v1 office 1700000000 " NONCE " " KNOWN_MAC "\r\n",
        HEAD "AUTH: v1 office 1700000000 " NONCE " " KNOWN_MAC "\n\n",
        HEAD "AUTH: v1 office 1700000000 " NONCE " " KNOWN_MAC " \r\n\r\n",
    };
    struct tged_auth a;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(find(bad[i], strlen(bad[i]), &a) == -EINVAL,
                      "case %zu accepted", i);
    const char *none = HEAD "\r\n";
    ck_assert_int_eq(find(none, strlen(none), &a), -ENOENT);
    /* Any case of the name is the same header. */
    const char *lower =
        HEAD "auth: v1 office 1700000000 " NONCE " " KNOWN_MAC "\r\n\r\n";
    ck_assert_int_eq(find(lower, strlen(lower), &a), 0);
}
END_TEST

START_TEST(sign_refuses_what_it_cannot_write)
{
    struct tged_key k = office();
    char buf[256] = HEAD;
    size_t len = strlen(HEAD);
    size_t need = len + tged_auth_size(&k, 5);
    ck_assert_uint_eq(tged_auth_sign(&k, buf, len, need - 1, 5, NONCE), 0);
    ck_assert_uint_eq(tged_auth_sign(&k, buf, len, need, 5, NONCE), need);
    ck_assert_uint_eq(
        tged_auth_sign(&k, buf, len, sizeof(buf), 5, "0011223344556677" + 1),
        0);
    ck_assert_uint_eq(
        tged_auth_sign(&k, buf, len, sizeof(buf), 5, "001122334455667G"), 0);
    ck_assert_uint_eq(tged_auth_sign(&k, buf, len, sizeof(buf), -1, NONCE), 0);
    ck_assert_uint_eq(
        tged_auth_sign(&k, buf, len, sizeof(buf), 10000000000LL, NONCE), 0);
    strcpy(k.id, "bad id");
    ck_assert_uint_eq(tged_auth_sign(&k, buf, len, sizeof(buf), 5, NONCE), 0);
    ck_assert_uint_eq(tged_auth_size(&k, 5), 0);
    /* The longest line is what the header says. */
    memset(k.id, 'k', TGED_AUTH_MAX_KEY_ID);
    k.id[TGED_AUTH_MAX_KEY_ID] = '\0';
    ck_assert_uint_eq(tged_auth_size(&k, 9999999999LL), TGED_AUTH_MAX_LINE + 2);
}
END_TEST

START_TEST(key_ids)
{
    ck_assert_int_eq(tged_auth_key_id_valid("a", 1), 1);
    ck_assert_int_eq(tged_auth_key_id_valid("Office-2.lab_x", 14), 1);
    ck_assert_int_eq(tged_auth_key_id_valid("", 0), 0);
    ck_assert_int_eq(tged_auth_key_id_valid("a b", 3), 0);
    ck_assert_int_eq(
        tged_auth_key_id_valid("abcdefghijabcdefghijabcdefghijab", 32), 1);
    ck_assert_int_eq(
        tged_auth_key_id_valid("abcdefghijabcdefghijabcdefghijabc", 33), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Key files                                                           */

static char dir[64];

static void files_setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/tged-auth-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void files_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *keyfile(const char *text, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/keys.conf", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

START_TEST(key_file_good)
{
    char text[512], msg[512];
    snprintf(
        text, sizeof(text),
        "# office and lab\nkeys = (\n { id = \"office\"; secret = "
        "\"%s\"; },\n { id = \"lab\"; secret = \"%s\"; }\n);\n",
        SECRET_HEX,
        "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100");
    const char *p = keyfile(text, 0600);
    struct tged_key *keys;
    size_t n;
    ck_assert_int_eq(tged_keys_load(p, &keys, &n, msg, sizeof(msg)), 0);
    ck_assert_str_eq(msg, "");
    ck_assert_uint_eq(n, 2);
    struct tged_key k = office();
    ck_assert_str_eq(keys[0].id, "office");
    ck_assert_mem_eq(keys[0].secret, k.secret, 32);
    ck_assert_str_eq(keys[1].id, "lab");
    ck_assert_uint_eq(keys[1].secret[0], 0xff);
    tged_keys_free(keys, n);

    struct tged_key one;
    ck_assert_int_eq(tged_key_load(p, NULL, &one, msg, sizeof(msg)), 0);
    ck_assert_str_eq(one.id, "office");
    ck_assert_int_eq(tged_key_load(p, "lab", &one, msg, sizeof(msg)), 0);
    ck_assert_str_eq(one.id, "lab");
    ck_assert_int_eq(tged_key_load(p, "Lab", &one, msg, sizeof(msg)), -ESRCH);
    ck_assert_ptr_nonnull(strstr(msg, "no key 'Lab' (the file has 'office', "
                                      "'lab')"));
    tged_key_wipe(&one);
    ck_assert_str_eq(one.id, "");

    /* Readable by others: loaded, with a warning. */
    p = keyfile(text, 0644);
    ck_assert_int_eq(tged_keys_load(p, &keys, &n, msg, sizeof(msg)), 0);
    ck_assert_ptr_nonnull(strstr(msg, "readable by others (mode 0644)"));
    tged_keys_free(keys, n);
    p = keyfile(text, 0660);
    ck_assert_int_eq(tged_keys_load(p, &keys, &n, msg, sizeof(msg)), 0);
    ck_assert_ptr_nonnull(strstr(msg, "writable by group or others"));
    tged_keys_free(keys, n);
    p = keyfile(text, 0640);
    ck_assert_int_eq(tged_keys_load(p, &keys, &n, msg, sizeof(msg)), 0);
    ck_assert_str_eq(msg, "");
    tged_keys_free(keys, n);
}
END_TEST

START_TEST(key_file_errors)
{
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"keys = ( { id = \"a\"; secret = \"0011\"; } );",
         ":1: key 'a': secret must be 64 hex digits (32 bytes, e.g. from "
         "`openssl rand -hex 32`), not 4 characters"},
        {"keys = ( { id = \"a\"; secret = "
         "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\";"
         " } );",
         "not 64 characters with a non-hex digit"},
        {"keys = (\n { id = \"a\"; secret = \"" /* line 2 */
         "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
         "\"; },\n { id = \"a\"; secret = \""
         "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
         "\"; } );",
         ":3: key 'a': the id is used by another key (line 2)"},
        {"keys = ( { id = \"a b\"; secret = \"00\"; } );",
         ":1: key: id 'a b' is not valid (1 to 32 of A-Z a-z 0-9 . _ -)"},
        {"keys = ( { id = \"a\"; } );",
         ":1: key: 'id' and 'secret' (strings) are required"},
        {"keys = ( { id = \"a\"; secret = 5; } );",
         ":1: key: setting 'secret' must be a string"},
        {"keys = ( { id = \"a\"; secrets = \"x\"; } );",
         ":1: key: unknown setting 'secrets' (a key takes id, secret)"},
        {"keys = ( \"a\" );", ":1: keys: each key must be a group"},
        {"keys = ( );", ":1: keys: the list holds no key"},
        {"keys = { };", ":1: keys must be a list"},
        {"\nkey = ( );", ":2: unknown setting 'key' (a key file holds keys"},
        {"# nothing\n", ": no 'keys' setting"},
        {"keys = ( { id = \"a\"; secret = ; } );", ":1: syntax error"},
    };
    char msg[512];
    struct tged_key *keys = (void *)1;
    size_t n = 7;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p = keyfile(cases[i].text, 0600);
        ck_assert_int_eq(tged_keys_load(p, &keys, &n, msg, sizeof(msg)),
                         -EINVAL);
        ck_assert_msg(strstr(msg, cases[i].expect) != NULL,
                      "case %zu: '%s' does not say '%s'", i, msg,
                      cases[i].expect);
        ck_assert_msg(strncmp(msg, dir, strlen(dir)) == 0,
                      "case %zu: '%s' does not name the file", i, msg);
        ck_assert_ptr_null(keys);
        ck_assert_uint_eq(n, 0);
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/none.conf", dir);
    ck_assert_int_eq(tged_keys_load(path, &keys, &n, msg, sizeof(msg)),
                     -ENOENT);
    ck_assert_ptr_nonnull(strstr(msg, "cannot read the key file"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* The replay cache                                                    */

START_TEST(replay_cache)
{
    replay_reset();
    ck_assert_int_eq(replay_remember(1, 42, 1000, 1000, 30), 0);
    ck_assert_int_eq(replay_remember(1, 42, 1000, 1001, 30), AUTH_REPLAY);
    /* Another key's nonce of the same value is another nonce. */
    ck_assert_int_eq(replay_remember(2, 42, 1000, 1001, 30), 0);
    ck_assert_int_eq(replay_remember(1, 43, 1000, 1001, 30), 0);

    /* Fill the table with live nonces: some request finds no room. */
    int full = 0, stored = 0;
    for (uint64_t i = 0; i < 20000 && !full; i++) {
        int r = replay_remember(1, 1000 + i, 2000, 2000, 30);
        ck_assert(r == 0 || r == AUTH_CACHE_FULL);
        full = r == AUTH_CACHE_FULL;
        stored += r == 0;
    }
    ck_assert(full);
    ck_assert_int_le(stored, 16384);
    /* Once they are out of the window their slots are taken again (the
     * table is nearly full, so a thousand new nonces take some), and a
     * request as old as one forgotten is refused, even under a wider
     * window (a reload that widened auth_window). */
    for (uint64_t i = 0; i < 1000; i++)
        ck_assert_int_eq(replay_remember(1, 100000 + i, 2040, 2040, 30), 0);
    ck_assert_int_eq(replay_remember(1, 99998, 2000, 2040, 300), AUTH_REPLAY);
    ck_assert_int_eq(replay_remember(1, 99997, 2001, 2040, 300), 0);
    replay_reset();
    ck_assert_int_eq(replay_remember(1, 42, 1000, 1000, 30), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The responder's check and its answers                               */

static struct keyring ring;
static struct tged_key ring_keys[2];

static void ring_setup(void)
{
    ring_keys[0] = office();
    ring_keys[1] = office();
    strcpy(ring_keys[1].id, "lab");
    ring_keys[1].secret[0] = 0xaa;
    ring.keys = ring_keys;
    ring.n = 2;
    ring.window = 30;
    replay_reset();
}

/* A request signed with key k at time t, nonce n, into buf. */
static size_t request(char *buf, size_t cap, const struct tged_key *k,
                      int64_t t, const char *n)
{
    strcpy(buf, HEAD);
    return tged_auth_sign(k, buf, strlen(HEAD), cap, t, n);
}

static int check(const char *buf, size_t len, struct auth_reply *out)
{
    const char *why = NULL;
    ck_assert_int_eq(tged_parse(buf, len, TGED_PARSE_REQUEST, &parsed),
                     TGED_PARSE_OK);
    int r = auth_check_request(&ring, buf, len, &parsed, out, &why);
    ck_assert(r == AUTH_OK ? why == NULL : why != NULL);
    return r;
}

START_TEST(responder_checks_requests)
{
    char buf[512];
    struct auth_reply ar;
    int64_t now = (int64_t)time(NULL);
    size_t len = request(buf, sizeof(buf), &ring_keys[1], now, NONCE);
    uint64_t before = auth_stats.verified;
    ck_assert_int_eq(check(buf, len, &ar), AUTH_OK);
    ck_assert_ptr_eq(ar.key, &ring_keys[1]);
    ck_assert_mem_eq(ar.nonce, NONCE, 16);
    ck_assert_uint_eq(ar.extra, tged_auth_size(&ring_keys[1], ar.now) - 2);
    ck_assert_uint_eq(auth_stats.verified, before + 1);
    /* The same datagram again is a replay. */
    ck_assert_int_eq(check(buf, len, &ar), AUTH_REPLAY);

    len =
        request(buf, sizeof(buf), &ring_keys[0], now - 31, "1111111111111111");
    ck_assert_int_eq(check(buf, len, &ar), AUTH_TIME);
    len =
        request(buf, sizeof(buf), &ring_keys[0], now + 31, "1111111111111111");
    ck_assert_int_eq(check(buf, len, &ar), AUTH_TIME);
    len =
        request(buf, sizeof(buf), &ring_keys[0], now - 25, "1111111111111111");
    ck_assert_int_eq(check(buf, len, &ar), AUTH_OK);

    struct tged_key stranger = office();
    strcpy(stranger.id, "home");
    len = request(buf, sizeof(buf), &stranger, now, "2222222222222222");
    ck_assert_int_eq(check(buf, len, &ar), AUTH_UNKNOWN_KEY);
    /* Known id, other secret. */
    stranger = ring_keys[1];
    stranger.secret[5] ^= 0x10;
    len = request(buf, sizeof(buf), &stranger, now, "3333333333333333");
    ck_assert_int_eq(check(buf, len, &ar), AUTH_MAC);
    /* A bad MAC does not burn the nonce: the right one is served. */
    len = request(buf, sizeof(buf), &ring_keys[1], now, "3333333333333333");
    ck_assert_int_eq(check(buf, len, &ar), AUTH_OK);

    const char *junk = HEAD "AUTH: x\r\n\r\n";
    ck_assert_int_eq(check(junk, strlen(junk), &ar), AUTH_BAD);
    ck_assert_int_eq(auth_line_present(junk, strlen(junk)), 1);
    const char *broken = HEAD "\r\vAUTH : v1\r\n";
    ck_assert_int_eq(auth_line_present(broken, strlen(broken)), 1);
    const char *others = HEAD "AUTHOR: x\r\nX-AUTH: y\r\nTAUTH: z\r\n";
    ck_assert_int_eq(auth_line_present(others, strlen(others)), 0);
    ck_assert_str_eq(auth_refusal_name(AUTH_MAC), "mac");
}
END_TEST

static struct outq q;

static void sink_setup(void)
{
    ring_setup();
    ck_assert_int_eq(outq_init(&q, 8, 1024), 0);
}

static void sink_teardown(void)
{
    outq_free(&q);
}

START_TEST(signed_answers)
{
    char req[512];
    struct auth_reply ar;
    int64_t now = (int64_t)time(NULL);
    size_t rlen = request(req, sizeof(req), &ring_keys[0], now, NONCE);
    ck_assert_int_eq(check(req, rlen, &ar), AUTH_OK);

    struct tged_sink s;
    sink_init(&s, &q, "a1", 2, 8, 1024);
    s.auth = &ar;
    const char *block = "HOST: db\r\nPORT: 3306\r\n";
    ck_assert_int_eq(sink_add_block(&s, "SQL", 3, block, strlen(block)), 0);
    sink_invalid_auth(&q, "SQL", 3, "a1", 2, TGED_REASON_NO_MATCH, &ar);
    ck_assert_uint_eq(q.n, 2);

    const char *prefix[] = {
        "TGED REPLY 1.0\r\nRQ: SQL\r\nID: a1\r\nHOST: db\r\nPORT: 3306\r\n"
        "AUTH: v1 office ",
        "TGED INVALID 1.0\r\nRP: INVALID\r\nRQ: SQL\r\nID: a1\r\n"
        "REASON: no-match\r\nAUTH: v1 office ",
    };
    for (int i = 0; i < 2; i++) {
        const char *b = q.slots[i].buf;
        size_t len = q.slots[i].len;
        struct tged_auth a;
        ck_assert_mem_eq(b, prefix[i], strlen(prefix[i]));
        ck_assert_int_eq(find(b, len, &a), 0);
        ck_assert_int_eq(a.time, ar.now);
        ck_assert_mem_eq(a.nonce.ptr, NONCE, 16);
        ck_assert_int_eq(tged_auth_verify(&ring_keys[0], b, &a), 1);
        ck_assert_int_eq(tged_auth_verify(&ring_keys[1], b, &a), 0);
    }

    /* A record that fits unsigned but not with its AUTH line is skipped
     * from a signed answer (and counted), not cut. */
    char big[1024];
    size_t fixed = strlen("TGED REPLY 1.0\r\nRQ: SQL\r\nID: a1\r\n\r\n");
    size_t blen = 1024 - fixed - 10;
    memset(big, 'v', blen);
    memcpy(big, "A: ", 3);
    memcpy(big + blen - 2, "\r\n", 2);
    uint64_t skipped = auth_stats.skipped;
    ck_assert_int_eq(sink_add_block(&s, "SQL", 3, big, blen), -E2BIG);
    ck_assert_uint_eq(auth_stats.skipped, skipped + 1);
    ck_assert_uint_eq(q.n, 2);
    s.auth = NULL;
    ck_assert_int_eq(sink_add_block(&s, "SQL", 3, big, blen), 0);
    ck_assert_uint_eq(q.slots[2].len, 1014);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("header");
    tcase_add_test(tc, sign_matches_an_independent_hmac);
    tcase_add_test(tc, find_and_verify);
    tcase_add_test(tc, any_altered_byte_is_refused);
    tcase_add_test(tc, find_refuses_malformed_values);
    tcase_add_test(tc, sign_refuses_what_it_cannot_write);
    tcase_add_test(tc, key_ids);
    suite_add_tcase(s, tc);

    tc = tcase_create("key files");
    tcase_add_checked_fixture(tc, files_setup, files_teardown);
    tcase_add_test(tc, key_file_good);
    tcase_add_test(tc, key_file_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("responder");
    tcase_add_checked_fixture(tc, sink_setup, sink_teardown);
    tcase_add_test(tc, replay_cache);
    tcase_add_test(tc, responder_checks_requests);
    tcase_add_test(tc, signed_answers);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
