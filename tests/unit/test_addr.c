// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* user/addr.c: text <-> address, strict in what it accepts. */
#include <arpa/inet.h>
#include <string.h>
#include "addr.h"
#include "unit.h"

/* Text that parses, and how veer_addr_format writes it back. */
struct addr_case {
	const char *text;
	const char *canonical;
	uint8_t family;
	__u8 bytes[VEER_ADDR_LEN];
};

static const struct addr_case good_addrs[] = {
	{"10.0.0.1", "10.0.0.1", VEER_AF_INET, {10, 0, 0, 1}},
	{"0.0.0.0", "0.0.0.0", VEER_AF_INET, {0}},
	{"255.255.255.255",
	 "255.255.255.255",
	 VEER_AF_INET,
	 {255, 255, 255, 255}},
	{"fd00::1",
	 "fd00::1",
	 VEER_AF_INET6,
	 {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
	{"::1", "::1", VEER_AF_INET6, {[15] = 1}},
	{"2001:0DB8:0000:0000:0000:ff00:0042:8329",
	 "2001:db8::ff00:42:8329",
	 VEER_AF_INET6,
	 {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0x00, 0x42,
	  0x83, 0x29}},
	{"fd10:3::2", "fd10:3::2", VEER_AF_INET6, {0xfd, 0x10, 0, 3, [15] = 2}},
};

static const char *const bad_addrs[] = {
	"",
	" 10.0.0.1",
	"10.0.0.1 ",
	"10.0.0",
	"10.0.0.256",
	"010.0.0.1",
	"0x0a.0.0.1",
	"1.2.3.4.5",
	"10.0.0.1:80",
	"fe80::1%eth0",
	"[fd00::1]",
	"fd00::g",
	"fd00:::1",
	"1:2:3:4:5:6:7:8:9",
	"localhost",
	"10.0.0.1\n",
};

static void test_addr_parse_format(void)
{
	char buf[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good_addrs); i++) {
		const struct addr_case *t = &good_addrs[i];
		union veer_addr addr, again;
		uint8_t family = 0, family2 = 0;

		memset(&addr, 0xaa, sizeof(addr));
		UNIT_CHECK(veer_addr_parse(t->text, &addr, &family) == 0,
			   "\"%s\"", t->text);
		UNIT_CHECK(family == t->family, "\"%s\"", t->text);
		/* Also checks that IPv4 zeroes the 12 bytes after it. */
		UNIT_CHECK(!memcmp(addr.bytes, t->bytes, VEER_ADDR_LEN),
			   "\"%s\"", t->text);
		veer_addr_format(&addr, family, buf, sizeof(buf));
		UNIT_CHECK(!strcmp(buf, t->canonical), "\"%s\" -> \"%s\"",
			   t->text, buf);
		UNIT_CHECK(veer_addr_parse(buf, &again, &family2) == 0 &&
				   family2 == family &&
				   !memcmp(&again, &addr, sizeof(addr)),
			   "round trip of \"%s\"", buf);
	}
}

static void test_addr_parse_bad(void)
{
	union veer_addr addr, before;
	uint8_t family = 77;
	size_t i;

	memset(&before, 0x5a, sizeof(before));
	for (i = 0; i < ARRAY_SIZE(bad_addrs); i++) {
		addr = before;
		UNIT_CHECK(veer_addr_parse(bad_addrs[i], &addr, &family) == -1,
			   "\"%s\" accepted", bad_addrs[i]);
		/* Nothing written on failure. */
		UNIT_CHECK(!memcmp(&addr, &before, sizeof(addr)) &&
				   family == 77,
			   "\"%s\" wrote output", bad_addrs[i]);
	}
	CU_ASSERT(veer_addr_parse(NULL, &addr, &family) == -1);
}

static void test_port_parse(void)
{
	static const char *const bad[] = {
		"",   "0",    "65536", "99999", "-1",	  "+1",	       " 1",
		"1 ", "0x50", "080",   "8o",	"123456", "4294967377"};
	uint16_t port = 0;
	size_t i;

	CU_ASSERT(veer_port_parse("1", &port) == 0 && port == 1);
	CU_ASSERT(veer_port_parse("80", &port) == 0 && port == 80);
	CU_ASSERT(veer_port_parse("65535", &port) == 0 && port == 65535);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		port = 4242;
		UNIT_CHECK(veer_port_parse(bad[i], &port) == -1 && port == 4242,
			   "\"%s\"", bad[i]);
	}
}

static void test_endpoint_round_trip(void)
{
	static const struct {
		const char *text;
		uint8_t family;
		uint16_t port;
	} good[] = {
		{"10.0.0.1:8080", VEER_AF_INET, 8080},
		{"255.255.255.255:1", VEER_AF_INET, 1},
		{"[fd00::1]:65535", VEER_AF_INET6, 65535},
		{"[fd10:3::2]:8080", VEER_AF_INET6, 8080},
		{"[::1]:80", VEER_AF_INET6, 80},
	};
	char buf[VEER_ENDPOINT_STRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		union veer_addr addr, expect;
		uint8_t family = 0, f2;
		uint16_t port_be = 0;

		UNIT_CHECK(veer_endpoint_parse(good[i].text, &addr, &family,
					       &port_be) == 0,
			   "\"%s\"", good[i].text);
		UNIT_CHECK(family == good[i].family, "\"%s\"", good[i].text);
		/* Network order, as the maps want it. */
		UNIT_CHECK(port_be == htons(good[i].port), "\"%s\": %u",
			   good[i].text, port_be);
		veer_endpoint_format(&addr, family, port_be, buf, sizeof(buf));
		UNIT_CHECK(!strcmp(buf, good[i].text), "\"%s\" -> \"%s\"",
			   good[i].text, buf);
		UNIT_CHECK(veer_addr_format(&addr, family, buf, sizeof(buf)) ==
				   buf,
			   "returns buf");
		UNIT_CHECK(veer_addr_parse(buf, &expect, &f2) == 0 &&
				   !memcmp(&expect, &addr, sizeof(addr)),
			   "\"%s\"", buf);
	}
}

static void test_endpoint_bad(void)
{
	static const char *const bad[] = {
		"",
		"10.0.0.1",
		"10.0.0.1:",
		"10.0.0.1:0",
		"10.0.0.1:65536",
		"10.0.0.1:+80",
		"10.0.0.1:-1",
		"10.0.0.1:8o",
		"10.0.0.1:080",
		"10.0.0.1: 80",
		"10.0.0.1:80 ",
		" 10.0.0.1:80",
		"10.0.0.1 :80",
		"10.0.0.1:99999999999999999999",
		"[10.0.0.1]:80", /* brackets are for IPv6 only */
		"fd00::1:80", /* IPv6 needs brackets */
		"fd00::1",
		"[fd00::1]80",
		"[fd00::1]:",
		"[fd00::1]",
		"[fd00::1%eth0]:80",
		"[fe80::1%25eth0]:80",
		"[fd00::1",
		"fd00::1]:80",
		"[[fd00::1]]:80",
		":80",
		"[]:80",
		"host.example:80",
		"10.0.0.1:80:80",
	};
	union veer_addr addr;
	uint16_t port;
	uint8_t family;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		UNIT_CHECK(veer_endpoint_parse(bad[i], &addr, &family, &port) ==
				   -1,
			   "\"%s\" accepted", bad[i]);
}

static void test_format_edges(void)
{
	union veer_addr addr;
	char small[8], big[VEER_ENDPOINT_STRLEN];
	uint8_t family;
	uint16_t port;

	/* The longest endpoint text fits VEER_ENDPOINT_STRLEN. */
	CU_ASSERT_FATAL(veer_endpoint_parse("[1111:2222:3333:4444:5555:6666:"
					    "7777:8888]:65535",
					    &addr, &family, &port) == 0);
	veer_endpoint_format(&addr, family, port, big, sizeof(big));
	CU_ASSERT_STRING_EQUAL(
		big, "[1111:2222:3333:4444:5555:6666:7777:8888]:65535");
	/* Too small a buffer: truncated, terminated, never overrun. */
	memset(small, 'x', sizeof(small));
	veer_endpoint_format(&addr, family, port, small, sizeof(small));
	CU_ASSERT(memchr(small, '\0', sizeof(small)) != NULL);
	memset(small, 'x', sizeof(small));
	veer_addr_format(&addr, family, small, sizeof(small));
	CU_ASSERT(memchr(small, '\0', sizeof(small)) != NULL);
	/* Unknown family. */
	veer_addr_format(&addr, 99, big, sizeof(big));
	CU_ASSERT_STRING_EQUAL(big, "?");
}

int unit_addr_suite(void)
{
	static const struct unit_test tests[] = {
		{"addr parse/format round trips", test_addr_parse_format},
		{"addr parse rejects bad input", test_addr_parse_bad},
		{"port parse", test_port_parse},
		{"endpoint round trips", test_endpoint_round_trip},
		{"endpoint parse rejects bad input", test_endpoint_bad},
		{"format edge cases", test_format_edges},
	};

	return unit_add_suite("addr", NULL, NULL, tests, ARRAY_SIZE(tests));
}
