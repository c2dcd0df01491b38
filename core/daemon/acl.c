/* core/daemon/acl.c - who may ask.
 * SPDX-License-Identifier: MIT */
#include "acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "iftable.h"

int prefix_parse(const char *text, struct prefix *out)
{
    char buf[64];
    memset(out, 0, sizeof(*out));
    if (strlen(text) >= sizeof(buf))
        return -EINVAL;
    snprintf(buf, sizeof(buf), "%s", text);
    char *slash = strchr(buf, '/');
    long len = -1;
    if (slash) {
        char *end;
        *slash = '\0';
        len = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || len < 0)
            return -EINVAL;
    }
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        if (len > 32)
            return -EINVAL;
        out->len = (uint8_t)(len < 0 ? 32 : len);
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        if (len > 128)
            return -EINVAL;
        out->len = (uint8_t)(len < 0 ? 128 : len);
    } else {
        return -EINVAL;
    }
    /* Host bits set ("10.1.2.3/8") are almost always a typo. */
    for (unsigned bit = out->len; bit < (out->family == AF_INET ? 32u : 128u);
         bit++)
        if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
            return -EINVAL;
    return 0;
}

int prefix_match(const struct prefix *p, int family, const uint8_t *addr)
{
    if (p->family != family)
        return 0;
    if (family == AF_INET) {
        uint32_t a, b;
        memcpy(&a, p->addr, 4);
        memcpy(&b, addr, 4);
        uint32_t mask = p->len ? htonl(~0u << (32 - p->len)) : 0;
        return ((a ^ b) & mask) == 0;
    }
    unsigned full = p->len / 8, rest = p->len % 8;
    if (memcmp(p->addr, addr, full))
        return 0;
    if (!rest)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (p->addr[full] & mask) == (addr[full] & mask);
}

static int read_list(const config_setting_t *group, const char *name,
                     const char *what, struct prefix **out, size_t *n)
{
    const config_setting_t *l = config_setting_get_member(group, name);
    if (!l)
        return 0;
    unsigned len = (unsigned)config_setting_length(l);
    *out = calloc(len ? len : 1, sizeof(**out));
    if (!*out)
        return -1;
    int bad = 0;
    for (unsigned i = 0; i < len; i++) {
        const config_setting_t *e = config_setting_get_elem(l, i);
        const char *t = config_setting_get_string(e);
        if (!t || prefix_parse(t, &(*out)[*n]) != 0) {
            conf_err(e,
                     "%s.%s: '%s' is not an address or prefix (192.168.0.0/24, "
                     "10.0.0.1, fe80::/10; no bits set after the prefix)",
                     what, name, t ? t : "(not a string)");
            bad = 1;
            continue;
        }
        (*n)++;
    }
    return bad ? -1 : 0;
}

int acl_read(struct acl *acl, const config_setting_t *group, const char *what,
             int on_link_default)
{
    memset(acl, 0, sizeof(*acl));
    acl->on_link = on_link_default;
    if (!group)
        return 0;
    int bad = read_list(group, "allow", what, &acl->allow, &acl->nallow) |
              read_list(group, "deny", what, &acl->deny, &acl->ndeny);
    acl->have_allow = config_setting_get_member(group, "allow") != NULL;
    const config_setting_t *ol =
        config_setting_get_member(group, "on_link_only");
    if (ol)
        acl->on_link = config_setting_get_bool(ol);
    return bad ? -1 : 0;
}

void acl_free(struct acl *acl)
{
    free(acl->allow);
    free(acl->deny);
    memset(acl, 0, sizeof(*acl));
}

const uint8_t *sockaddr_bytes(const struct sockaddr *sa, int *family)
{
    *family = sa->sa_family;
    if (sa->sa_family == AF_INET6)
        return ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    return (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
}

int acl_check(const struct acl *acl, int family, const uint8_t *addr,
              int ifindex)
{
    for (size_t i = 0; i < acl->ndeny; i++)
        if (prefix_match(&acl->deny[i], family, addr))
            return ACL_DENIED;
    if (acl->have_allow) {
        for (size_t i = 0; i < acl->nallow; i++)
            if (prefix_match(&acl->allow[i], family, addr))
                return ACL_PASS;
        return ACL_DENIED;
    }
    if (acl->on_link && !iftable_on_link(family, addr, ifindex))
        return ACL_OFF_LINK;
    return ACL_PASS;
}
