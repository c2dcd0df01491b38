/* core/daemon/acl.h - who may ask: address prefixes, and sources on a
 * subnet of the interface a request came in on. */
#ifndef TGEDD_ACL_H
#define TGEDD_ACL_H

#include <libconfig.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct prefix {
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t len;    /* prefix length in bits */
    uint8_t addr[16];
};

/* "192.168.0.0/24", "10.0.0.1", "fe80::/10", "::1": 0 or -EINVAL. */
int prefix_parse(const char *text, struct prefix *out);
int prefix_match(const struct prefix *p, int family, const uint8_t *addr);

struct acl {
    struct prefix *allow, *deny;
    size_t nallow, ndeny;
    int have_allow; /* an allow list was given (maybe empty: nobody) */
    int on_link;    /* without allow: only sources on a local subnet */
};

/* Read `allow`, `deny` and `on_link_only` of a group (responder or
 * route). what names the group in errors. 0, or -1 after logging. */
int acl_read(struct acl *acl, const config_setting_t *group, const char *what,
             int on_link_default);
void acl_free(struct acl *acl);

/* The address bytes of a socket address (4 or 16) and its family. */
const uint8_t *sockaddr_bytes(const struct sockaddr *sa, int *family);

enum acl_verdict {
    ACL_PASS = 0,
    ACL_DENIED,   /* on the deny list, or not on the allow list */
    ACL_OFF_LINK, /* not on a subnet of the arrival interface */
};

/* May this source, arrived on interface ifindex, be answered? */
int acl_check(const struct acl *acl, int family, const uint8_t *addr,
              int ifindex);

#endif
