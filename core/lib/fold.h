/* core/lib/fold.h - ASCII case-insensitive compare and hash, inline.
 *
 * Private to the project: the bodies of tged_name_eq() and tged_hash_ci(),
 * shared by libtged and the responder's request path, which would
 * otherwise pay a call into another library several times per request for
 * a few instructions of work.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_FOLD_H
#define TGED_FOLD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Word-at-a-time scanning; the byte order decides which end of a word is
 * the first byte, so other machines take the byte loops. */
#define TGED_SWAR 1
#endif

/* Folds the ASCII capitals of eight bytes at once: each byte below 0x80
 * gets bit 7 set by the adds exactly when it lies in 'A'..'Z', and that bit
 * shifted to 0x20 makes it lower case. No carry crosses a byte. */
static inline uint64_t fold8(uint64_t w)
{
    const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full, hi = 0x8080808080808080ull;
    uint64_t h = w & lo7;
    uint64_t ge_a = h + 0x3f3f3f3f3f3f3f3full; /* 0x80 - 'A' */
    uint64_t gt_z = h + 0x2525252525252525ull; /* 0x7f - 'Z' */
    uint64_t upper = (ge_a ^ gt_z) & ~w & hi;
    return w | (upper >> 2);
}

/* The n bytes at p (1 to 7) as the low bytes of a word, the rest zero, as
 * memcpy would place them on a little-endian machine. A memcpy of a
 * variable length is a library call, several times the cost of the rest
 * of a short compare or hash; two overlapping fixed-size loads are not. */
static inline uint64_t load_tail(const unsigned char *p, size_t n)
{
#ifdef TGED_SWAR
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        return (uint64_t)lo | (uint64_t)hi << 8 * (n - 4);
    }
#else
    if (n >= 4) {
        uint64_t w = 0;
        for (size_t i = 0; i < n; i++)
            w |= (uint64_t)p[i] << 8 * i;
        return w;
    }
#endif
    return (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 * (n / 2) |
           (uint64_t)p[n - 1] << 8 * (n - 1);
}

static inline int fold_name_eq(const char *a, size_t alen, const char *b,
                               size_t blen)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    uint64_t u, v;

    if (alen != blen)
        return 0;
    while (alen >= 8) {
        memcpy(&u, x, 8);
        memcpy(&v, y, 8);
        if (u != v && fold8(u) != fold8(v))
            return 0;
        x += 8;
        y += 8;
        alen -= 8;
    }
    if (alen == 0)
        return 1;
    return fold8(load_tail(x, alen)) == fold8(load_tail(y, alen));
}

/* The finalizer of MurmurHash3: every input bit reaches every output bit. */
static inline uint64_t fold_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* Eight folded bytes per step: xor in, multiply by an odd constant, xor the
 * high half down. Each step is a bijection of the state, so two strings of
 * one length that differ in a single word never collide; the length seeds
 * the state so that zero padding does not alias; the murmur3 finaliser
 * spreads the last word over all bits. */
static inline uint64_t fold_hash(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    const uint64_t k = 0xbf58476d1ce4e5b9ull;
    uint64_t h =
        0x9e3779b97f4a7c15ull ^ ((uint64_t)len * 0xff51afd7ed558ccdull);
    uint64_t w;

    while (len >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ fold8(w)) * k;
        h ^= h >> 31;
        p += 8;
        len -= 8;
    }
    if (len > 0) {
        h = (h ^ fold8(load_tail(p, len))) * k;
        h ^= h >> 31;
    }
    return fold_mix64(h);
}

#endif
