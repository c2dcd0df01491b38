/* plugins/dhcp/text.c - addresses, numbers, names and dates as the lease
 * files write them, and as TGED serves them.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <time.h>

#include "dhcp.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dhcp_parse_ipv4(const char *s, size_t n, uint32_t *ip)
{
    uint32_t v = 0;
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part && (i >= n || s[i++] != '.'))
            return 0;
        unsigned octet = 0, digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4) {
            octet = octet * 10 + (unsigned)(s[i++] - '0');
            digits++;
        }
        if (!digits || digits > 3 || octet > 255)
            return 0;
        v = v << 8 | octet;
    }
    if (i != n)
        return 0;
    *ip = v;
    return 1;
}

int dhcp_parse_mac(const char *s, size_t n, uint8_t *mac, uint8_t *len)
{
    size_t i = 0;
    /* dnsmasq writes "06-aa:bb:..." for hardware other than Ethernet. */
    if (n > 3 && s[2] == '-' && hexval(s[0]) >= 0 && hexval(s[1]) >= 0)
        i = 3;
    uint8_t k = 0;
    for (;;) {
        if (i >= n || hexval(s[i]) < 0 || k == DHCP_MAC_MAX)
            return 0;
        int b = hexval(s[i++]);
        if (i < n && hexval(s[i]) >= 0)
            b = b << 4 | hexval(s[i++]);
        mac[k++] = (uint8_t)b;
        if (i == n)
            break;
        if (s[i++] != ':')
            return 0;
    }
    *len = k;
    return 1;
}

int dhcp_parse_int64(const char *s, size_t n, int64_t *v)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i == n || n - i > 18) /* 18 digits cannot overflow */
        return 0;
    int64_t r = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        r = r * 10 + (s[i] - '0');
    }
    *v = neg ? -r : r;
    return 1;
}

int dhcp_host_valid(const char *s, size_t n)
{
    if (n == 0 || n > DHCP_HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int space = c == ' ' || c == '\t';
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
        if (space && (i == 0 || i == n - 1))
            return 0;
    }
    return 1;
}

int64_t dhcp_utc_seconds(int year, int mon, int day, int h, int m, int s)
{
    static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
    if (year < 1970 || year > 9999 || mon < 1 || mon > 12 || day < 1 ||
        day > mdays[mon - 1] || h < 0 || h > 23 || m < 0 || m > 59 || s < 0 ||
        s > 60)
        return -1;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (mon == 2 && day == 29 && !leap)
        return -1;
    /* Days from the civil date (proleptic Gregorian), with March as the
     * first month so that the leap day ends the year. */
    int y = year - (mon <= 2);
    int era = y / 400;
    int yoe = y - era * 400;
    int mp = (mon + 9) % 12;
    int doy = (153 * mp + 2) / 5 + day - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    return days * 86400 + h * 3600 + m * 60 + s;
}

void dhcp_format_expiry(int64_t t, char *buf, size_t len)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t == DHCP_NEVER || t > 253402300799 /* 9999-12-31T23:59:59Z */ ||
        !gmtime_r(&tt, &tm)) {
        snprintf(buf, len, "never");
        return;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void dhcp_format_ipv4(uint32_t ip, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
             (ip >> 8) & 255, ip & 255);
}

void dhcp_format_mac(const uint8_t *mac, size_t n, char *buf, size_t len)
{
    size_t at = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < n && at + 4 <= len; i++)
        at +=
            (size_t)snprintf(buf + at, len - at, i ? ":%02x" : "%02x", mac[i]);
}

const char *dhcp_shown(const char *s, size_t n, char *buf, size_t len)
{
    /* Values quoted in log lines come from hostile files: no control
     * bytes, no partial UTF-8, a bounded length. */
    size_t k = 0, keep = len > 4 ? len - 4 : 0;
    for (size_t i = 0; i < n && k < keep; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (k < n && len >= 4) {
        buf[k++] = '.';
        buf[k++] = '.';
        buf[k++] = '.';
    }
    if (len)
        buf[k < len ? k : len - 1] = '\0';
    return buf;
}
