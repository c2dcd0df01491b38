/* tests/fuzz/fuzz_dhcp.h - what the dhcp readers' fuzz targets share: a
 * reader's output checked, settled, merged and formatted as the plugin
 * serves it.
 * SPDX-License-Identifier: MIT */
#ifndef TGED_FUZZ_DHCP_H
#define TGED_FUZZ_DHCP_H

#include "dhcp.h"

/* A diag whose messages are checked (bounded, no control bytes from the
 * file) and dropped. */
void fuzz_dhcp_diag(struct dhcp_diag *d);

/* Read data with reader into a fresh list; checks the list against what
 * dhcp.h promises, and returns the reader's code. */
int fuzz_dhcp_read(int (*reader)(struct dhcp_diag *, const char *, const char *,
                                 size_t, struct dhcp_list *),
                   const uint8_t *data, size_t size, struct dhcp_list *out);

/* Settle the leases (when not NULL), merge them with the reservations
 * (when not NULL) at a fixed time, and format every record. */
void fuzz_dhcp_serve(struct dhcp_list *leases, struct dhcp_list *hosts);

#endif /* TGED_FUZZ_DHCP_H */
