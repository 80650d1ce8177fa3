// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * include/veer_select.h: the subset choice the data plane makes, checked
 * exactly where it is exact (bucket arithmetic) and statistically where it
 * is statistical (the hash).
 */
#include <arpa/inet.h>
#include <string.h>
#include "veer_select.h"
#include "unit.h"

/* One full cycle of buckets, VEER_WEIGHT_TOTAL hashes per bucket. */
#define HASH_SPAN 10000
#define HASHES_PER_BUCKET (HASH_SPAN / VEER_WEIGHT_TOTAL)
#define RANDOM_FLOWS 100000
/* See test_split_statistics for why half a point. */
#define SPLIT_TOLERANCE 0.005
#define BACKEND_TOLERANCE 0.01
#define TEST_SEED 0x5eed1234U
/* Source ports tried when checking the hash depends on the port. */
#define PORT_SAMPLES 1000

static void make_service(struct veer_service *svc, const unsigned int *w,
			 unsigned int n)
{
	unsigned int i;

	memset(svc, 0, sizeof(*svc));
	svc->subset_count = (__u8)n;
	for (i = 0; i < n; i++)
		svc->subsets[i].weight = (__u8)w[i];
}

static void check_exact(const unsigned int *w, unsigned int n)
{
	unsigned int counts[VEER_MAX_SUBSETS + 1] = {0};
	struct veer_service svc;
	unsigned int i, none = 0;
	__u32 h;

	make_service(&svc, w, n);
	for (h = 0; h < HASH_SPAN; h++) {
		__u8 s = veer_select_subset(&svc, h);

		if (s == VEER_SELECT_NONE)
			none++;
		else if (s < n)
			counts[s]++;
		else
			counts[VEER_MAX_SUBSETS]++; /* out of range */
	}
	for (i = 0; i < n; i++)
		UNIT_CHECK(counts[i] == w[i] * HASHES_PER_BUCKET,
			   "subset %u of %u (weight %u): %u hashes", i, n, w[i],
			   counts[i]);
	CU_ASSERT_EQUAL(counts[VEER_MAX_SUBSETS], 0);
	CU_ASSERT_EQUAL(none, 0);
}

static void test_exact_buckets(void)
{
	static const unsigned int w100_0[] = {100, 0};
	static const unsigned int w0_100[] = {0, 100};
	static const unsigned int w90_10[] = {90, 10};
	static const unsigned int w80_20[] = {80, 20};
	static const unsigned int w50_50[] = {50, 50};
	static const unsigned int w33[] = {33, 33, 34};
	static const unsigned int w0_50[] = {0, 50, 0, 50};
	static const unsigned int w8[] = {1, 2, 3, 4, 10, 20, 30, 30};
	static const unsigned int w1_99[] = {1, 0, 0, 99};
	static const unsigned int w_all[] = {100};

	check_exact(w100_0, ARRAY_SIZE(w100_0));
	check_exact(w0_100, ARRAY_SIZE(w0_100));
	check_exact(w90_10, ARRAY_SIZE(w90_10));
	check_exact(w80_20, ARRAY_SIZE(w80_20));
	check_exact(w50_50, ARRAY_SIZE(w50_50));
	check_exact(w33, ARRAY_SIZE(w33));
	check_exact(w0_50, ARRAY_SIZE(w0_50));
	check_exact(w8, ARRAY_SIZE(w8));
	check_exact(w1_99, ARRAY_SIZE(w1_99));
	check_exact(w_all, ARRAY_SIZE(w_all));
}

/* Which subset owns which bucket, not just how many. */
static void test_bucket_ranges(void)
{
	static const unsigned int w[] = {0, 50, 0, 50};
	struct veer_service svc;
	__u32 h;

	make_service(&svc, w, ARRAY_SIZE(w));
	for (h = 0; h < VEER_WEIGHT_TOTAL; h++)
		UNIT_CHECK(veer_select_subset(&svc, h) == (h < 50 ? 1 : 3),
			   "bucket %u", h);
	/* Only hash % 100 matters, up to the top of the range. */
	CU_ASSERT_EQUAL(veer_select_subset(&svc, 0xffffffffU),
			0xffffffffU % 100 < 50 ? 1 : 3);
}

/* Bad values (the validator prevents them) still stay in range. */
static void test_degenerate(void)
{
	static const unsigned int half[] = {50};
	static const unsigned int all_zero[] = {0, 0};
	struct veer_service svc;
	unsigned int none = 0;
	__u32 h;

	make_service(&svc, half, 1);
	for (h = 0; h < HASH_SPAN; h++)
		none += veer_select_subset(&svc, h) == VEER_SELECT_NONE;
	CU_ASSERT_EQUAL(none, HASH_SPAN / 2);

	make_service(&svc, all_zero, 2);
	CU_ASSERT_EQUAL(veer_select_subset(&svc, 0), VEER_SELECT_NONE);
	make_service(&svc, NULL, 0);
	CU_ASSERT_EQUAL(veer_select_subset(&svc, 7), VEER_SELECT_NONE);
	/* A count past the array must not read past it. */
	svc.subset_count = 200;
	svc.subsets[VEER_MAX_SUBSETS - 1].weight = 100;
	CU_ASSERT_EQUAL(veer_select_subset(&svc, 99), VEER_MAX_SUBSETS - 1);
}

/* Deterministic generator (Numerical Recipes LCG); take the high bits. */
static __u32 lcg(__u32 *state)
{
	*state = *state * 1664525U + 1013904223U;
	return *state;
}

static void v4(union veer_addr *a, __u32 host_order)
{
	memset(a, 0, sizeof(*a));
	a->v4 = htonl(host_order);
}

static void test_hash_inputs(void)
{
	union veer_addr client, vip, vip2;
	__u32 base, h, seen[PORT_SAMPLES];
	unsigned int i, j, dup = 0;

	v4(&client, 0x0a000001);
	v4(&vip, 0x0a60000a);
	v4(&vip2, 0x0a60000b);

	/* Affinity: only the client address counts. */
	base = veer_flow_hash(&client, &vip, htons(40000), htons(80),
			      VEER_SVC_F_HASH_SRC_IP, TEST_SEED);
	for (i = 0; i < PORT_SAMPLES; i++) {
		h = veer_flow_hash(&client, i & 1 ? &vip : &vip2,
				   htons(1024 + i), htons(80 + i),
				   VEER_SVC_F_HASH_SRC_IP, TEST_SEED);
		UNIT_CHECK(h == base, "affinity hash moved at %u", i);
	}
	/* ...but a different client usually lands elsewhere. */
	client.v4 = htonl(0x0a000002);
	CU_ASSERT_NOT_EQUAL(veer_flow_hash(&client, &vip, htons(40000),
					   htons(80), VEER_SVC_F_HASH_SRC_IP,
					   TEST_SEED),
			    base);
	client.v4 = htonl(0x0a000001);

	/* Without affinity the source port counts: all distinct here. */
	for (i = 0; i < PORT_SAMPLES; i++)
		seen[i] = veer_flow_hash(&client, &vip, htons(1024 + i),
					 htons(80), 0, TEST_SEED);
	for (i = 0; i < PORT_SAMPLES; i++)
		for (j = 0; j < i; j++)
			dup += seen[i] == seen[j];
	CU_ASSERT_EQUAL(dup, 0);
	/* As do the destination and the seed. */
	CU_ASSERT_NOT_EQUAL(veer_flow_hash(&client, &vip2, htons(1024),
					   htons(80), 0, TEST_SEED),
			    seen[0]);
	CU_ASSERT_NOT_EQUAL(veer_flow_hash(&client, &vip, htons(1024),
					   htons(80), 0, TEST_SEED + 1),
			    seen[0]);
	/* And it is a pure function. */
	CU_ASSERT_EQUAL(veer_flow_hash(&client, &vip, htons(1024), htons(80), 0,
				       TEST_SEED),
			seen[0]);
}

/*
 * 80/20 over RANDOM_FLOWS pseudo-random client tuples. If the hash is
 * uniform on buckets, the count of subset 0 is Binomial(n, p) with
 * n = 1e5, p = 0.8, so the observed share has standard deviation
 * sqrt(p (1 - p) / n) = sqrt(0.16 / 1e5) = 0.00126 (0.126 points). A
 * tolerance of 0.5 points is 0.005 / 0.00126 = 3.95 sigma: a fair hash
 * fails with probability ~8e-5, while a bias of one bucket in a hundred
 * (1 point) is caught. The seed is fixed, so the run is deterministic
 * anyway; the margin only says the expectation is honest.
 *
 * The backend hash is checked the same way among the subset-0 flows
 * (~8e4 of them, 3 backends): sigma = sqrt((1/3)(2/3) / 8e4) = 0.00167,
 * and 1 point is ~6 sigma. That also shows the backend choice does not
 * depend on the subset bucket.
 */
static void test_split_statistics(void)
{
	static const unsigned int w[] = {80, 20};
	unsigned int counts[2] = {0}, backends[3] = {0};
	struct veer_service svc;
	union veer_addr client, vip;
	__u32 state = 12345;
	unsigned int i;
	double share;

	make_service(&svc, w, ARRAY_SIZE(w));
	v4(&vip, 0x0a60000a);
	for (i = 0; i < RANDOM_FLOWS; i++) {
		__u32 h, sport;
		__u8 s;

		v4(&client, 0x0a000000 | (lcg(&state) >> 8));
		sport = 1024 + (lcg(&state) >> 16) % (65536 - 1024);
		h = veer_flow_hash(&client, &vip, htons((__u16)sport),
				   htons(80), 0, TEST_SEED);
		s = veer_select_subset(&svc, h);
		CU_ASSERT_FATAL(s < 2);
		counts[s]++;
		if (s == 0)
			backends[veer_backend_hash(h, TEST_SEED) % 3]++;
	}
	share = (double)counts[0] / RANDOM_FLOWS;
	UNIT_CHECK(share > 0.80 - SPLIT_TOLERANCE &&
			   share < 0.80 + SPLIT_TOLERANCE,
		   "subset 0 got %.4f", share);
	for (i = 0; i < 3; i++) {
		share = (double)backends[i] / counts[0];
		UNIT_CHECK(share > 1.0 / 3 - BACKEND_TOLERANCE &&
				   share < 1.0 / 3 + BACKEND_TOLERANCE,
			   "backend %u got %.4f", i, share);
	}
}

/* Buckets still stable, counted over [lo, hi). */
static unsigned int stable_in(const struct veer_service *svc, unsigned int lo,
			      unsigned int hi)
{
	unsigned int b, n = 0;

	for (b = lo; b < hi; b++)
		n += (unsigned int)veer_bucket_stable(svc, b);
	return n;
}

/*
 * Placement history: a new service is stable everywhere; a weight change
 * makes exactly the buckets that changed subset unstable, for good (a
 * change back does not restore them); a backend change makes that
 * subset unstable; a change of hash input makes everything unstable.
 */
static void test_history(void)
{
	static const unsigned int w50[] = {50, 50}, w80[] = {80, 20},
				  w100[] = {100, 0};
	struct veer_service a, b, c, d;
	unsigned int bucket;

	make_service(&a, w50, 2);
	veer_history_update(NULL, &a, 0);
	CU_ASSERT_EQUAL(stable_in(&a, 0, VEER_WEIGHT_TOTAL), VEER_WEIGHT_TOTAL);
	CU_ASSERT_EQUAL(a.stable_backends, 0xff);
	/* Buckets past 100 never count (the words hold 128 bits). */
	CU_ASSERT_EQUAL(a.stable_buckets[3] >> (VEER_WEIGHT_TOTAL - 96), 0);

	make_service(&b, w80, 2); /* buckets 50..79 move from v2 to v1 */
	veer_history_update(&a, &b, 0);
	CU_ASSERT_EQUAL(stable_in(&b, 0, 50), 50);
	CU_ASSERT_EQUAL(stable_in(&b, 50, 80), 0);
	CU_ASSERT_EQUAL(stable_in(&b, 80, 100), 20);
	for (bucket = 0; bucket < VEER_WEIGHT_TOTAL; bucket++)
		CU_ASSERT_EQUAL(
			veer_placement_stable(&b, bucket,
					      veer_select_subset(&b, bucket)),
			bucket < 50 || bucket >= 80);

	make_service(&c, w50, 2); /* back to 50/50: still unstable */
	veer_history_update(&b, &c, 0);
	CU_ASSERT_EQUAL(stable_in(&c, 50, 80), 0);
	CU_ASSERT_EQUAL(stable_in(&c, 0, VEER_WEIGHT_TOTAL), 70);

	make_service(&d, w100, 2); /* and v1's backends change */
	veer_history_update(&c, &d, 1U << 0);
	CU_ASSERT_EQUAL(stable_in(&d, 0, 50), 50);
	CU_ASSERT_EQUAL(stable_in(&d, 80, 100), 0);
	CU_ASSERT_EQUAL(d.stable_backends, 0xfe);
	CU_ASSERT_FALSE(veer_placement_stable(&d, 10, 0));
	CU_ASSERT_FALSE(veer_placement_stable(&d, 10, VEER_SELECT_NONE));

	c.flags = VEER_SVC_F_HASH_SRC_IP; /* another hash input */
	veer_history_update(&a, &c, 0);
	CU_ASSERT_EQUAL(stable_in(&c, 0, VEER_WEIGHT_TOTAL), 0);
	CU_ASSERT_EQUAL(c.stable_backends, 0);
}

int unit_select_suite(void)
{
	static const struct unit_test tests[] = {
		{"exact counts over 10000 consecutive hashes",
		 test_exact_buckets},
		{"bucket ranges", test_bucket_ranges},
		{"degenerate services", test_degenerate},
		{"flow hash inputs", test_hash_inputs},
		{"80/20 over 1e5 random flows", test_split_statistics},
		{"placement history", test_history},
	};

	return unit_add_suite("select", NULL, NULL, tests, ARRAY_SIZE(tests));
}
