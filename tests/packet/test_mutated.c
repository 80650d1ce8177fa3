// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Random mutations of service packets: only NAT fields ever change. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#include "test_mutated.h"

#define MUTATION_RUNS 30000
#define MUTATION_SEED 0x5eed1234abcdULL

/* xorshift64*: deterministic, so a failure reproduces from the seed. */
static uint64_t prng_next(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

#define RUN_REFUSED (-1)

/* One test run, the program's verdict or RUN_REFUSED, without a message:
 * refused input is expected here. */
static int run_quiet(int prog, const uint8_t *in, size_t len, uint8_t *out,
		     size_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = out,
		    .data_size_out = PKT_MAX);

	if (bpf_prog_test_run_opts(prog, &opts))
		return RUN_REFUSED;
	*out_len = opts.data_size_out;
	return (int)opts.retval;
}

/*
 * Whether byte i may differ after translation: the addresses, the IPv4
 * header checksum, the TCP ports and the TCP checksum. Anything else a
 * program changes is a bug.
 */
static bool may_change(const uint8_t *in, size_t len, size_t i)
{
	uint8_t proto;
	size_t l3 = ETH_HLEN_, l4 = pkt_l4_off(in, len, &proto);

	/* IPv4: header checksum (10-11), then the addresses (12-19). */
	if (in[12] == 0x08 && i >= l3 + 10 && i < l3 + 20)
		return true;
	if (in[12] == 0x86 && i >= l3 + 8 && i < l3 + 40)
		return true;
	return l4 && ((i >= l4 && i < l4 + 4) || (i >= l4 + 16 && i < l4 + 18));
}

/*
 * 30,000 packets through TC ingress, TC egress and XDP, each a real
 * service packet (IPv4 and IPv6, SYN and data, forward and reply, with
 * and without IPv6 options) with 1-4 random byte changes, bit flips or
 * (1 in 8) a truncation, 7 in 8 of them in the first 94 bytes. Whatever the
 * program makes of them: the verdict is pass or drop, the length never changes,
 * only address, port and checksum bytes change, and a TCP checksum that was
 * right stays right (and a wrong one stays wrong: incremental updates keep the
 * error).
 */
static void test_mutated_packets(void)
{
	static const struct ipv6_ext hop = {0, 8, 0};
	struct flow f4 = {AF_INET, "10.10.1.50", "10.96.0.10", 43000, 80};
	struct flow b4 = {AF_INET, "10.10.1.50", "10.10.2.2", 43000, 8080};
	struct flow f6 = {AF_INET6, "fd10:1::50", "fd00:96::10", 43000, 80};
	struct flow b6 = {AF_INET6, "fd10:1::50", "fd10:2::2", 43000, 8080};
	uint8_t base[8][PKT_MAX], in[PKT_MAX], out[PKT_MAX];
	size_t base_len[8], len, out_len, i, b, at;
	unsigned long changed = 0, bad_verdict = 0, bad_len = 0, bad_bytes = 0,
		      bad_csum = 0, refused = 0, runs;
	uint64_t rng = MUTATION_SEED;
	struct pkt_view vin, vout;
	int prog, verdict, m, n;
	bool reply;

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(set_web6(100, 0), 0);
	/* The connections exist, so replies are reverse-translated. */
	CU_ASSERT_EQUAL_FATAL(send_pkt(&f4, false, F_SYN, 1, 0, NULL, NULL),
			      TC_OK);
	CU_ASSERT_EQUAL_FATAL(send_pkt(&f6, false, F_SYN, 1, 0, NULL, NULL),
			      TC_OK);
	base_len[0] = build(&f4, false, F_SYN, 1, 0, NULL, base[0]);
	base_len[1] = build(&f4, false, F_ACK | F_PSH, 2, 9, "GET /", base[1]);
	base_len[2] = build(&b4, true, F_ACK | F_PSH, 9, 7, "HTTP/1", base[2]);
	base_len[3] = build(&f6, false, F_SYN, 1, 0, NULL, base[3]);
	base_len[4] = build(&f6, false, F_ACK | F_PSH, 2, 9, "GET /", base[4]);
	base_len[5] = build(&b6, true, F_ACK | F_PSH, 9, 7, "HTTP/1", base[5]);
	use_ipv6_ext(&hop, 1);
	base_len[6] = build(&f6, false, F_ACK, 2, 9, "x", base[6]);
	base_len[7] = build(&b6, true, F_ACK, 9, 7, "y", base[7]);
	use_ipv6_ext(NULL, 0);

	for (runs = 0; runs < MUTATION_RUNS; runs++) {
		b = prng_next(&rng) % 8;
		reply = b == 2 || b == 5 || b == 7;
		len = base_len[b];
		memcpy(in, base[b], len);
		n = 1 + (int)(prng_next(&rng) % 4);
		for (m = 0; m < n; m++) {
			uint64_t r = prng_next(&rng);

			/* Headers are where parsing decides: 7 in 8 there. */
			at = (r >> 8) % 8 ? (r >> 16) % (ETH_HLEN_ + 80)
					  : (r >> 16) % len;
			if (at >= len)
				at = len - 1;
			switch (r % 8) {
			case 0:
			case 1:
			case 2:
				in[at] = (uint8_t)(r >> 40);
				break;
			case 3:
			case 4:
			case 5:
			case 6:
				in[at] ^= (uint8_t)(1u << ((r >> 32) % 8));
				break;
			default:
				len = (r >> 24) % (len + 1);
				if (len < ETH_HLEN_)
					len = ETH_HLEN_;
				break;
			}
		}
		prog = reply		     ? prog_egress
		       : prng_next(&rng) % 2 ? prog_xdp
					     : prog_ingress;
		verdict = run_quiet(prog, in, len, out, &out_len);
		if (prog == prog_xdp && verdict != RUN_REFUSED)
			verdict = verdict == XDP_PASS_	 ? TC_OK
				  : verdict == XDP_DROP_ ? TC_SHOT
							 : -1;
		if (verdict == RUN_REFUSED) {
			/* BPF_PROG_TEST_RUN itself refuses TC input shorter
			 * than its IP header: the program never ran. */
			refused++;
			if (prog == prog_xdp || len >= ETH_HLEN_ + IPV6_HLEN)
				bad_verdict++;
			continue;
		}
		if (verdict != TC_OK && verdict != TC_SHOT) {
			bad_verdict++;
			continue;
		}
		if (out_len != len) {
			bad_len++;
			continue;
		}
		if (!memcmp(in, out, len))
			continue;
		changed++;
		for (i = 0; i < len; i++)
			if (in[i] != out[i] && !may_change(in, len, i)) {
				if (!bad_bytes)
					fprintf(stderr,
						"\n    run %lu: byte %zu "
						"changed "
						"(%02x -> %02x)",
						runs, i, in[i], out[i]);
				bad_bytes++;
				break;
			}
		if (!view(in, len, &vin) && !view(out, out_len, &vout) &&
		    vin.tcp_csum_ok != vout.tcp_csum_ok) {
			if (!bad_csum)
				fprintf(stderr,
					"\n    run %lu: TCP checksum %s -> %s",
					runs, vin.tcp_csum_ok ? "ok" : "bad",
					vout.tcp_csum_ok ? "ok" : "bad");
			bad_csum++;
		}
	}
	printf("\n    %lu mutated packets, %lu translated, %lu too short for "
	       "the test runner ",
	       runs, changed, refused);
	CU_ASSERT_EQUAL(bad_verdict, 0);
	CU_ASSERT_EQUAL(bad_len, 0);
	CU_ASSERT_EQUAL(bad_bytes, 0);
	CU_ASSERT_EQUAL(bad_csum, 0);
	/* The mutations must leave many packets translatable, or the checks
	 * above would hold vacuously. */
	CU_ASSERT_TRUE(changed > MUTATION_RUNS / 10);
}

int add_mutated_tests(CU_pSuite suite)
{
	return !CU_add_test(suite, "mutated packets: only NAT fields change",
			    test_mutated_packets);
}
