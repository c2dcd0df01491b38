/* core/daemon/iftable.h - the subnets of each local interface, kept
 * current from the kernel's netlink notices and read without locks. */
#ifndef TGEDD_IFTABLE_H
#define TGEDD_IFTABLE_H

#include <stdint.h>

/* Open the netlink socket and read the table; the descriptor to poll, or
 * -errno (the table is then read once and never refreshed). */
int iftable_init(void);
/* Drain netlink notices; 1 when interfaces or addresses changed (the
 * table was rebuilt). */
int iftable_handle(void);
void iftable_shutdown(void);

/* Grows each time the table changes (for callers that cache verdicts). */
unsigned iftable_generation(void);

/* 1 when addr is on a subnet of interface ifindex (or link-local). For
 * workers: call while online (QSBR). */
int iftable_on_link(int family, const uint8_t *addr, int ifindex);

#endif
