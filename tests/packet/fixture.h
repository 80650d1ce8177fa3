/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet tests' fixture: the real programs and maps, loaded and
 * configured through the same code as `veer attach` and `veer apply`, and
 * the helpers every packet test file shares.
 */
#ifndef VEER_TEST_FIXTURE_H
#define VEER_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maps.h"
#include "pkt.h"
#include "veer_abi.h"

/* Short, so tests can watch closed entries expire. */
#define TEST_CLOSE_GRACE_MS 200
/* Bound on waiting for that; generous for a loaded 2-core machine. */
#define TEST_FREE_DEADLINE_MS 10000
#define POLL_STEP_US 10000
/*
 * The conntrack size the fixture loads with: small enough that tests can
 * fill the side tables (VEER_CT_SIDE_FLOWS: 1024 connections each).
 */
#define TEST_CT_FLOWS 8192

#define XDP_DROP_ 1
#define XDP_PASS_ 2

extern char pin_root[128];
extern int prog_ingress, prog_egress, prog_xdp;
/* Forward packets go through XDP instead of TC ingress when set. */
extern bool forward_via_xdp;
extern struct veer_maps maps;

/* Sends one packet through ingress (forward) or egress (reply). */
int send_pkt(const struct flow *f, bool reply, uint8_t flags, uint32_t seq,
	     uint32_t ack, const char *payload, struct pkt_view *out);

bool addr_is(const union veer_addr *a, int family, const char *text);

struct subset_spec {
	const char *name;
	unsigned int weight;
	const char *backends[4];
};

/* Creates or updates one service through the real apply path. */
int configure(const char *name, const char *vip, uint16_t port,
	      const struct subset_spec *subsets, unsigned int count);

/*
 * The same with HTTP match rules (weights index subsets), given to the
 * model as the Istio loader gives them (veer_service_add_rule) and
 * written to veer_rules by the same apply as `veer apply`.
 */
int configure_rules(const char *name, const char *vip, uint16_t port,
		    const struct subset_spec *subsets, unsigned int count,
		    const struct veer_rule *rules, unsigned int rule_count);
/* Either of the above with service flags (VEER_SVC_F_*). */
int configure_flags(const char *name, const char *vip, uint16_t port,
		    uint16_t flags, const struct subset_spec *subsets,
		    unsigned int count, const struct veer_rule *rules,
		    unsigned int rule_count);
/* Removes a service through the same code as `veer delete`. */
int delete_service(const char *name);
int set_web(unsigned int w1, unsigned int w2);
int set_web6(unsigned int w1, unsigned int w2);

/* The conntrack tables, as ct_pair_in() takes them. */
enum ct_table { CT_ESTABLISHED, CT_HALF_OPEN, CT_CLOSING, CT_TABLES };
int ct_table_fd(enum ct_table table);

/*
 * Reads the pair of flow f (forward key: f as sent; reverse key: the
 * backend fwd_out says, to the client) from one table: true if both
 * entries are there.
 */
bool ct_pair_in(enum ct_table table, const struct flow *f,
		const struct pkt_view *fwd_out, struct veer_ct_entry *fwd,
		struct veer_ct_entry *rev);

/* The forward and reverse keys of f's pair (ct_pair_in's). */
void ct_keys(const struct flow *f, const struct pkt_view *fwd_out,
	     struct veer_ct_key *fk, struct veer_ct_key *rk);

/* Entries of f's forward or reverse key in any table (0, 1 or 2...). */
int ct_entries_of(const struct flow *f, const struct pkt_view *fwd_out);

/* Entries in one table. */
long ct_count(enum ct_table table);

/*
 * The reply flow of a connection whose SYN came out as fwd_out: the
 * backend's address (as text, in buf) to the client.
 */
struct flow reply_flow(const struct flow *fwd, const struct pkt_view *fwd_out,
		       char *buf, size_t len);

/*
 * A full handshake through the programs: the client's SYN (isn), the
 * backend's SYN-ACK (peer_isn), the client's ACK. *syn_out gets the SYN
 * as translated. 0 if every packet passed and the pair is established.
 */
int handshake(const struct flow *fwd, uint32_t isn, uint32_t peer_isn,
	      struct pkt_view *syn_out);

/* A service's stats row, summed over CPUs. */
struct veer_stats service_stats(const char *name, unsigned int row);

/* A service's id (0 if there is no such service). */
uint32_t service_id(const char *name);

/* A service's health signals, summed over its rows. */
struct veer_health service_health(const char *name);

/* A service's HTTP routing counters, summed over CPUs. */
struct veer_http_stats service_http_stats(const char *name);

/* Sets the IPv6 extension headers build() inserts (0 of them: none). */
void use_ipv6_ext(const struct ipv6_ext *ext, unsigned int n);

/* Flows of a weights' distribution test (TC and socket paths alike). */
#define DIST_FLOWS 100000
/* The bound: each subset's share within 0.5 percentage points. */
#define DIST_TOLERANCE_PP 0.5

int suite_init(void);
int suite_clean(void);

#endif /* VEER_TEST_FIXTURE_H */
