/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between the veer data plane (bpf/) and the veer command
 * (user/): every map key, map value and limit they share is defined here and
 * nowhere else. Layouts are explicit (no implicit padding) so BPF, userspace
 * and `bpftool map dump` agree byte for byte; changing one is an ABI change
 * and must bump VEER_ABI_VERSION.
 */
#ifndef VEER_ABI_H
#define VEER_ABI_H

#include "veer_types.h"

/*
 * 2: conntrack in three tables (half-open, established, closing) with
 * sequence tracking and no per-entry timer; placement history in the
 * service value; conntrack event counters.
 * 3: struct veer_stats counts translated ICMP errors (icmp_errors).
 */
/*
 * 4: veer_backend_vips, the services each backend endpoint serves, to
 * recover a connection whose reverse conntrack entry was evicted.
 */
/*
 * 5: HTTP routing by delayed binding: the conntrack entry's last 12 bytes
 * hold the handshake veer answered itself (local_isn, client_mss, window
 * scales, bind_state); veer_http_req holds requests waiting for their
 * backend; veer_http_stats counts per service.
 */
/*
 * 6: health signals: veer_health (per service x subset: failures,
 * response status classes, handshake and first-byte histograms); the
 * conntrack entry's last byte (health) and, while a pair is not closed,
 * its forward entry's closed_ns (time of the first request byte).
 */
#define VEER_ABI_VERSION 6
/*
 * The oldest ABI whose pinned maps this one reads and writes as they are,
 * so that `veer attach --upgrade` keeps their connections: 5 only added
 * maps and gave meaning to conntrack bytes 4 always left zero, and an
 * ABI 4 entry reads as an L4 pair; 6 only added a map and gave meaning to
 * a byte 5 left zero (an older pair is not TRACKED: no health signal
 * judges it). The upgrade records the new version.
 */
#define VEER_ABI_COMPAT_MIN 4

/* Limits. */
#define VEER_MAX_SUBSETS 8
#define VEER_MAX_BACKENDS_PER_SUBSET 256
#define VEER_WEIGHT_TOTAL 100
#define VEER_NAME_MAX 128 /* service name, NUL included */
#define VEER_SUBSET_NAME_MAX 32 /* subset name, NUL included */

/* Load-time defaults; `veer attach --max-services/--max-backends/--ct-size`. */
#define VEER_DEFAULT_MAX_SERVICES 1024
#define VEER_DEFAULT_MAX_BACKENDS 65536
#define VEER_DEFAULT_CT_FLOWS (1U << 20)
/* A connection holds a forward and a reverse conntrack entry. */
#define VEER_CT_ENTRIES_PER_FLOW 2
#define VEER_DEFAULT_CT_ENTRIES                                                \
	(VEER_DEFAULT_CT_FLOWS * VEER_CT_ENTRIES_PER_FLOW)
/*
 * The half-open and closing tables are sized from the established one:
 * one eighth of its connections each, at least VEER_CT_SIDE_MIN_FLOWS.
 * Half-open: room for a SYN flood of 128 k spoofed sources (default size)
 * before a legitimate handshake's entry is evicted, and even then only
 * half-open entries are. Closing: 128 k closes per grace period (12.8 k
 * closes/s at the default 10 s) before a closed connection's entry is
 * evicted early, which only costs late retransmissions their translation.
 */
#define VEER_CT_SIDE_SHIFT 3
#define VEER_CT_SIDE_MIN_FLOWS 1024
#define VEER_CT_SIDE_FLOWS(flows)                                              \
	((flows) >> VEER_CT_SIDE_SHIFT > VEER_CT_SIDE_MIN_FLOWS                \
		 ? (flows) >> VEER_CT_SIDE_SHIFT                               \
		 : VEER_CT_SIDE_MIN_FLOWS)

/*
 * Service ids index the stats map. Id 0 is never given to a service: its
 * rows count events that belong to no service.
 */
#define VEER_SVC_ID_NONE 0

/* One stats row per subset plus one for events with no subset (ct misses). */
#define VEER_STATS_ROWS_PER_SVC (VEER_MAX_SUBSETS + 1)
#define VEER_STATS_ROW_UNATTRIBUTED VEER_MAX_SUBSETS

#define VEER_ADDR_LEN 16

/* Address families as stored in maps (AF_INET / AF_INET6 values). */
#define VEER_AF_INET 2
#define VEER_AF_INET6 10

/*
 * An IPv4 address occupies the first 4 bytes, the other 12 are zero, so one
 * key layout serves both families and equal addresses compare equal bytewise.
 */
union veer_addr {
	__u8 bytes[VEER_ADDR_LEN];
	__be32 words[4];
	__be32 v4;
};

/*
 * ::ffff:a.b.c.d, how an IPv6 socket names an IPv4 address. Compared and
 * built bytewise, so BPF and userspace agree without byte-order helpers.
 */
#define VEER_V4MAPPED_PREFIX_LEN 12

static __always_inline int veer_addr_is_v4mapped(const union veer_addr *a)
{
	int i;

	for (i = 0; i < VEER_V4MAPPED_PREFIX_LEN - 2; i++)
		if (a->bytes[i])
			return 0;
	return a->bytes[10] == 0xff && a->bytes[11] == 0xff;
}

static __always_inline void veer_addr_v4mapped(union veer_addr *out, __be32 v4)
{
	int i;

	for (i = 0; i < VEER_V4MAPPED_PREFIX_LEN - 2; i++)
		out->bytes[i] = 0;
	out->bytes[10] = 0xff;
	out->bytes[11] = 0xff;
	out->words[3] = v4;
}

/* Key of veer_services: what clients dial. */
struct veer_svc_key {
	union veer_addr vip;
	__be16 port;
	__u8 proto; /* IPPROTO_TCP */
	__u8 family; /* VEER_AF_INET or VEER_AF_INET6 */
};

/* Where a subset's backends live in veer_backends: [base, base + count). */
struct veer_subset {
	__u32 backend_base;
	__u16 backend_count; /* 0 ..= VEER_MAX_BACKENDS_PER_SUBSET */
	__u8 weight; /* 0 ..= VEER_WEIGHT_TOTAL; 0 drains */
	__u8 reserved;
};

/* A power of two that covers VEER_WEIGHT_TOTAL bits. */
#define VEER_STABLE_BUCKET_WORDS 4
_Static_assert(VEER_STABLE_BUCKET_WORDS * 32 >= VEER_WEIGHT_TOTAL &&
		       (VEER_STABLE_BUCKET_WORDS &
			(VEER_STABLE_BUCKET_WORDS - 1)) == 0,
	       "stable_buckets must cover every bucket, in a power of two");

/* Hash only the client address: one client, one subset and backend. */
#define VEER_SVC_F_HASH_SRC_IP (1U << 0)
/*
 * HTTP/1.x by configuration (an Istio port whose protocol is HTTP, or a
 * service with rules): the first response of each connection has its
 * status line read and its time to first byte measured (veer_health).
 */
#define VEER_SVC_F_HTTP (1U << 1)
#define VEER_SVC_F_ALL (VEER_SVC_F_HASH_SRC_IP | VEER_SVC_F_HTTP)

/*
 * Value of veer_services. A configuration change writes new backends into
 * unused veer_backends slots and then replaces this whole value with one map
 * update, which the kernel publishes atomically: a packet sees the old
 * service or the new one, never a mix.
 */
struct veer_service {
	__u32 id; /* stable while the service exists; row in veer_stats */
	__u32 generation; /* bumped by every change, for observers */
	__u16 flags; /* VEER_SVC_F_* */
	__u8 subset_count;
	__u8 rule_count; /* match rules in veer_rules, tried before the weights
			  */
	__u32 rules_version; /* veer_rule_key.version of the live rule set */
	/* The default route: weights for connections no rule matches. */
	struct veer_subset subsets[VEER_MAX_SUBSETS];
	/*
	 * Placement history, for connections whose conntrack entry is lost
	 * (evicted under overload, or maps made anew): bit b of
	 * stable_buckets is set while hash bucket b (of VEER_WEIGHT_TOTAL)
	 * has chosen the same subset under every weight vector this service
	 * ever had, and bit s of stable_backends while subset s has had the
	 * same backend list throughout. Only a flow whose bucket and subset
	 * are both still stable can be placed again without knowing when it
	 * started; any other lost flow is dropped and counted. Bits are only
	 * ever cleared while the service exists (see veer_history_update).
	 */
	__u32 stable_buckets[VEER_STABLE_BUCKET_WORDS];
	__u8 stable_backends;
	__u8 reserved[3];
};

/*
 * Routing rules (Istio VirtualService http[] entries with match
 * conditions), in order, first match wins. Read by the TC HTTP path
 * (delayed binding) once per connection; the L4 paths (XDP, cgroup, and
 * kernels without the HTTP programs) use the service's default weights.
 * A rule set is written under a new version, then the service value that
 * names the version is published, then the old set is deleted: readers
 * never see a half-written set.
 */
#define VEER_MAX_RULES 16
#define VEER_MAX_MATCHES 4 /* match blocks per rule, ORed */
#define VEER_MAX_CONDITIONS 4 /* conditions per match block, ANDed */
#define VEER_MATCH_NAME_MAX 64 /* header name, NUL included */
#define VEER_MATCH_VALUE_MAX 128 /* header value or URI, NUL included */
#define VEER_DEFAULT_MAX_RULES 4096 /* all services together */

#define VEER_COND_HEADER 1 /* name: lower-case header name */
#define VEER_COND_URI 2 /* name: empty */
#define VEER_COND_EXACT 1
#define VEER_COND_PREFIX 2

struct veer_condition {
	__u8 field; /* VEER_COND_HEADER or VEER_COND_URI */
	__u8 op; /* VEER_COND_EXACT or VEER_COND_PREFIX */
	__u8 name_len;
	__u8 value_len;
	char name[VEER_MATCH_NAME_MAX];
	char value[VEER_MATCH_VALUE_MAX];
};

struct veer_match {
	__u8 condition_count;
	__u8 reserved[3];
	struct veer_condition conditions[VEER_MAX_CONDITIONS];
};

struct veer_rule {
	__u8 match_count; /* 1 ..= VEER_MAX_MATCHES */
	__u8 reserved[3];
	__u8 weights[VEER_MAX_SUBSETS]; /* per subset of the service; sum 100 */
	struct veer_match matches[VEER_MAX_MATCHES];
};

struct veer_rule_key {
	__u32 svc_id;
	__u32 version;
	__u32 index; /* 0 ..< rule_count, in evaluation order */
};

/* Value of veer_backends (array). */
struct veer_backend {
	union veer_addr addr;
	__be16 port;
	__u8 family;
	__u8 reserved;
};

/*
 * Value of veer_be_vips (hash keyed by struct veer_backend: an
 * endpoint, reserved 0): the service keys whose subsets include it. Only
 * read when a backend's segment finds no conntrack entry (its reverse
 * entry was evicted under overload): the VIP to restore is the one whose
 * forward entry, or whose placement, leads to this backend. Rebuilt by
 * every `veer apply`/`delete` that changes backends or VIPs; advisory
 * (a stale row can only make recovery fail, never translate wrongly:
 * every candidate is checked against conntrack or placement). More
 * services than VEER_BACKEND_VIPS_MAX on one endpoint: count 0, no
 * recovery.
 */
#define VEER_BACKEND_VIPS_MAX 8
struct veer_backend_vips {
	__u32 count;
	struct veer_svc_key vips[VEER_BACKEND_VIPS_MAX];
};

/*
 * Value of veer_svc_meta (array indexed by service id). Only userspace reads
 * it: the names `veer get` prints and the key needed to find the service
 * from its id.
 */
struct veer_svc_meta {
	char name[VEER_NAME_MAX];
	/* The Istio/Kubernetes host this entry serves; "" for native config. */
	char host[VEER_NAME_MAX];
	char subset_names[VEER_MAX_SUBSETS][VEER_SUBSET_NAME_MAX];
	struct veer_svc_key key;
};

/*
 * Conntrack. A connection has two entries: the forward one, keyed by the
 * tuple the client sends (client -> VIP), holding the backend; and the
 * reverse one, keyed by the tuple the backend sends (backend -> client),
 * holding the VIP to restore. Both carry the same state.
 *
 * The pair lives in one of three tables, by the connection's state, so
 * that no state can crowd out another: veer_ct_syn (half-open: from the
 * client's SYN until its ACK acknowledges the backend's SYN-ACK), then
 * veer_conntrack (established), then veer_ct_closing (closed: both FINs
 * and the last ACK, or an RST whose sequence number is exactly the
 * sender's next one) for the close grace period. All three are LRU maps:
 * a SYN flood evicts only half-open entries, a burst of closes only
 * closed ones, and established entries are evicted only by more
 * established connections than the table holds. No entry carries a timer:
 * a closed entry older than the grace period, or a half-open one older
 * than VEER_CT_SYN_TIMEOUT_NS, counts as absent and is deleted by the
 * next packet that finds it; the LRU reclaims the rest.
 */
struct veer_ct_key {
	union veer_addr saddr;
	union veer_addr daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 dir; /* VEER_CT_DIR_* */
	__u8 reserved;
};

#define VEER_CT_DIR_FORWARD 0
#define VEER_CT_DIR_REVERSE 1

/* A FIN was seen from that side (within the tracked window). */
#define VEER_CT_F_FIN_FORWARD (1U << 0)
#define VEER_CT_F_FIN_REVERSE (1U << 1)
/* Closed by an RST (exact sequence number). */
#define VEER_CT_F_RST (1U << 2)
/* Closed: the pair is in veer_ct_closing since closed_ns. */
#define VEER_CT_F_CLOSED (1U << 3)
/* Placed again for a mid-connection packet that found no entry. */
#define VEER_CT_F_RECOVERED (1U << 4)
/*
 * Bound late (HTTP routing): veer answered the client's handshake itself
 * and chose the backend from the request. The pair's sequence numbers
 * and windows are translated (see bind_state and below).
 */
#define VEER_CT_F_DELAYED (1U << 5)
/* The backend's SYN-ACK was seen: peer_isn is valid. */
#define VEER_CT_F_SYNACK (1U << 6)
/* This entry's own (not its sibling's): seq_next is valid. */
#define VEER_CT_F_SEQ_SEEN (1U << 7)

/* Default close grace period; `veer attach --ct-close-grace MS`. */
#define VEER_DEFAULT_CT_CLOSE_GRACE_MS 10000
/*
 * A half-open entry older than this is stale: Linux gives up a handshake
 * after 6 SYN retransmissions (127 s); a little more than that.
 */
#define VEER_CT_SYN_TIMEOUT_NS (130ULL * 1000000000ULL)
/*
 * How far from the tracked next sequence number a FIN (or an RST, to be
 * forwarded at all) may be. A blind attacker hits 2 x 1 MiB of the 4 GiB
 * sequence space: one spoofed packet in 2048. Only an RST carrying exactly
 * the sender's next sequence number closes the connection (RFC 5961 3.2),
 * which a blind attacker hits once in 2^32; an in-window one is passed on
 * for the endpoint to judge, and changes no state here.
 */
#define VEER_CT_SEQ_WINDOW (1U << 20)

struct veer_ct_entry {
	union veer_addr nat_addr; /* forward: backend; reverse: VIP */
	__be16 nat_port; /* forward: backend port; reverse: VIP port */
	__u8 subset;
	__u8 flags; /* VEER_CT_F_* */
	__u32 svc_id;
	__u64 created_ns; /* bpf_ktime_get_ns() at the SYN */
	__u64 closed_ns; /* when the pair entered veer_ct_closing */
	/*
	 * Sequence number of each side's FIN, to recognise the last ACK.
	 * A FIN writes its number on both entries of an established pair
	 * (the field is its direction's: written by nothing else), so
	 * either entry alone can close the pair when the LRU evicted the
	 * other; the FIN flag goes on its own direction's entry only.
	 * While an L4 pair is half-open, fin_seq_forward of its forward
	 * entry holds the acknowledgement number of the backend's last
	 * stale ACK (an older connection's state of the tuple answering the
	 * SYN), the sequence number of the client's RST to it; 0: none.
	 */
	__u32 fin_seq_forward;
	__u32 fin_seq_reverse;
	/*
	 * The client's initial sequence number. A SYN with another one on a
	 * closed tuple is a new connection reusing the port and is placed
	 * afresh; on a live tuple it is passed to the pinned backend, whose
	 * TCP stack answers it (RFC 5961 4.2), and changes nothing here.
	 */
	__u32 syn_seq;
	/* The backend's initial sequence number (VEER_CT_F_SYNACK). */
	__u32 peer_isn;
	/*
	 * The next sequence number this entry's direction will send (the
	 * highest seq + length + SYN/FIN seen), kept by packets of this
	 * direction only, to judge its RSTs and FINs.
	 */
	__u32 seq_next;
	/*
	 * Delayed binding (VEER_CT_F_DELAYED; zero otherwise). The client's
	 * handshake was with veer, whose ISN is local_isn; the backend's
	 * with the client's own ISN. So client -> backend sequence numbers
	 * are the same on both legs, and backend -> client ones differ by
	 * peer_isn - local_isn: a forward packet's ack gets that added, a
	 * reverse packet's seq gets it taken away.
	 */
	__u32 local_isn;
	__u16 client_mss; /* from the client's SYN (VEER_HTTP_MSS_DEFAULT) */
	/* From the client's SYN; VEER_WSCALE_NONE: it offered none. */
	__u8 client_wscale;
	__u8 bind_state; /* VEER_BIND_* */
	/*
	 * Window translation per direction: (from << 4) | to, the shift the
	 * sender scales its windows by and the one the receiver reads them
	 * with; equal nibbles translate nothing.
	 */
	__u8 wscale_forward;
	__u8 wscale_reverse;
	__u8 rule; /* the rule that bound it, VEER_RULE_DEFAULT: none */
	__u8 health; /* VEER_CT_H_* */
};

/*
 * Health bits (struct veer_ct_entry.health). A pair placed at its SYN by a
 * program that knows them is TRACKED; the signals that depend on what
 * the pair has seen so far (a failure before data, the first response)
 * are only judged on TRACKED pairs, never on pairs placed again after a
 * loss or carried over from an older ABI, whose history is unknown.
 */
#define VEER_CT_H_TRACKED (1U << 0)
/* The service is HTTP (VEER_SVC_F_HTTP or rules): parse the response. */
#define VEER_CT_H_HTTP (1U << 1)
/*
 * Forward entry: the client's first payload byte was forwarded at
 * closed_ns (which holds that time until the pair closes).
 */
#define VEER_CT_H_REQUEST (1U << 2)
/* Reverse entry: the backend's first payload byte was seen. */
#define VEER_CT_H_RESPONSE (1U << 3)
/* Forward entry: counted in syn_unanswered (once per pair). */
#define VEER_CT_H_UNANSWERED (1U << 4)

/*
 * A client SYN retransmitted on a half-open pair this long after its first
 * SYN, with no SYN-ACK seen, counts as unanswered: Linux retransmits a SYN
 * after its initial RTO of 1 s (RFC 6298); 900 ms leaves room for timer
 * slack, and is longer than any duplicate the network makes.
 */
#define VEER_HEALTH_SYN_BOUND_NS (900ULL * 1000000ULL)

/* Counters, per service x subset row, per CPU; veer_stats is indexed by
 * svc_id * VEER_STATS_ROWS_PER_SVC + subset (or VEER_STATS_ROW_UNATTRIBUTED).
 */
struct veer_stats {
	__u64 new_conns;
	__u64 packets_forward; /* client -> backend */
	__u64 bytes_forward;
	__u64 packets_reverse; /* backend -> client */
	__u64 bytes_reverse;
	__u64 resets; /* RSTs seen either way */
	__u64 ct_misses; /* mid-connection packets with no conntrack entry */
	__u64 no_backend; /* new connections dropped: chosen subset empty */
	/*
	 * Of ct_misses: placed again (the flow's bucket and subset never
	 * changed placement), or dropped (they did: placing by today's
	 * weights could pick another backend than the flow's).
	 */
	__u64 ct_miss_placed;
	__u64 ct_miss_dropped;
	/* Handshakes completed: half-open pairs promoted to established. */
	__u64 ct_established;
	/* Pairs closed (moved to veer_ct_closing). */
	__u64 ct_closed;
	/* Half-open pairs ended by an RST or a SYN with a new ISN. */
	__u64 ct_aborted;
	/* RSTs dropped: sequence number outside the tracked window. */
	__u64 rst_invalid;
	/* SYNs with a new ISN on a live tuple: passed on, not re-placed. */
	__u64 syn_on_live;
	/* Conntrack updates the kernel refused (table full, no memory). */
	__u64 ct_insert_failed;
	/* ICMP/ICMPv6 errors about the pair's packets translated (icmp.h). */
	__u64 icmp_errors;
	/*
	 * Of ct_misses: an entry evicted alone, restored from the other
	 * direction's (ct_miss_placed counts whole pairs placed again).
	 */
	__u64 ct_restored;
};

/*
 * Health signals, per service x subset row (the index of veer_stats), in
 * veer_health: one shared array (not per CPU) updated with atomic adds,
 * since every event is at most a few per connection, never per packet.
 *
 * Histograms count log2 buckets of microseconds: bucket b < last holds
 * durations under 2^b us (bucket 0: under 1 us, 22: under 4.19 s), the
 * last one everything longer. The sums are in nanoseconds.
 */
#define VEER_HIST_BUCKETS 24
struct veer_health {
	/* The backend answered the forwarded SYN with an RST (L4 pairs) or
	 * veer's SYN (bound late). */
	__u64 refused;
	/*
	 * An RST from the backend that closed a pair before the backend had
	 * sent any payload byte (after its SYN-ACK, or once established).
	 */
	__u64 reset_before_data;
	/*
	 * Pairs whose SYN went unanswered: no SYN-ACK seen when the client
	 * retransmitted its SYN at least VEER_HEALTH_SYN_BOUND_NS after the
	 * first, or when the client gave up (a new ISN on the tuple) or the
	 * half-open pair was found expired. Once per pair.
	 */
	__u64 syn_unanswered;
	/* First responses of HTTP pairs, by the status line's class. */
	__u64 responses_1xx;
	__u64 responses_2xx;
	__u64 responses_3xx;
	__u64 responses_4xx;
	__u64 responses_5xx;
	/* The first response segment does not start "HTTP/1.x DDD". */
	__u64 responses_not_http;
	/*
	 * It starts like a status line but ends before the status code
	 * (a status line cut across segments): not read further.
	 */
	__u64 responses_unparsed;
	/* Backend handshake: veer forwarded the SYN -> saw the SYN-ACK. */
	__u64 handshake_sum_ns;
	__u64 handshake[VEER_HIST_BUCKETS];
	/* HTTP pairs: first request byte forwarded -> first response byte. */
	__u64 ttfb_sum_ns;
	__u64 ttfb[VEER_HIST_BUCKETS];
};
#define VEER_HEALTH_COUNTERS 10

/*
 * HTTP routing by delayed binding (TC ingress/egress, kernel 5.17+ for
 * bpf_loop). For a service with rules, veer answers the client's SYN
 * itself, reads the request from the client's first data segment,
 * chooses rule, subset and backend, opens the backend connection with
 * the client's own ISN, and replays the request when the backend
 * answers.
 */
#define VEER_BIND_NONE 0 /* an L4 pair */
#define VEER_BIND_ANSWERED 1 /* veer sent the SYN-ACK; no backend yet */
#define VEER_BIND_CONNECTING 2 /* request held; backend SYN sent */
#define VEER_BIND_BOUND 3 /* backend answered; request replayed */
#define VEER_BIND_ACKED 4 /* the backend acknowledged it: nothing held */

#define VEER_WSCALE_NONE 0xff
/*
 * Slots of the TC object's tail-call table (veer_http_progs, not pinned):
 * the HTTP programs, which the loader fills only on kernels that can load
 * them. An empty slot makes the L4 program place by the default route.
 */
#define VEER_TAIL_HTTP_INGRESS 0
#define VEER_TAIL_HTTP_EGRESS 1
#define VEER_TAIL_SLOTS 2

/* The window scale veer announces to clients (Linux's usual one). */
#define VEER_HTTP_WSCALE 7
#define VEER_TCP_WSCALE_MAX 14
/* RFC 9293: the MSS a peer that sends none can take. */
#define VEER_HTTP_MSS_DEFAULT 536
#define VEER_RULE_DEFAULT 0xff

/*
 * The largest segment veer holds for replay, and the largest MSS it
 * announces to clients, a power of two (the parser masks offsets with
 * it). veer announces a window of two segments: Linux never sends a
 * segment larger than half the largest window its peer announced, so
 * one segment's window would cut the request head at half an MSS.
 */
#define VEER_HTTP_SEGMENT_MAX 2048
_Static_assert((VEER_HTTP_SEGMENT_MAX & (VEER_HTTP_SEGMENT_MAX - 1)) == 0,
	       "VEER_HTTP_SEGMENT_MAX must be a power of two");
#define VEER_HTTP_WINDOW_SEGMENTS 2
/* Room for both segments of the client's first flight. */
#define VEER_HTTP_REQ_MAX (VEER_HTTP_WINDOW_SEGMENTS * VEER_HTTP_SEGMENT_MAX)
/* Requests waiting for their backend, all services together (LRU). */
#define VEER_DEFAULT_HTTP_PENDING 4096

/*
 * Value of veer_http_req (LRU hash keyed by the forward struct
 * veer_ct_key): the client's first flight (its first data segment, and
 * the second one the two-segment window let it send before the backend
 * answered), held from its arrival until the backend acknowledges it, so
 * that it can be replayed to the backend (again, if the replay is lost).
 * The second segment starts at data[VEER_HTTP_SEGMENT_MAX]; each is
 * followed by zeros up to a multiple of 4 bytes (checksums sum words).
 */
struct veer_http_request {
	__u32 len; /* bytes of the first segment, at data[0] */
	__u16 window; /* the client's window field on the request */
	__u8 tcp_flags; /* the request's (PSH; FIN, also a later one) */
	__u8 reserved;
	/* Bytes of the second segment, at data[VEER_HTTP_SEGMENT_MAX]; 0:
	 * none (yet). */
	__u32 len2;
	__u32 reserved2;
	__u8 data[VEER_HTTP_REQ_MAX];
};

/* Per service (veer_http_stats, per-CPU array indexed by service id). */
struct veer_http_stats {
	/* Connections bound by rule i (first match wins). */
	__u64 rule_requests[VEER_MAX_RULES];
	/* HTTP/1.x requests that matched no rule: the default route. */
	__u64 default_requests;
	/* Default route: the header section did not end in the first
	 * segment (or VEER_HTTP_REQ_MAX bytes). */
	__u64 headers_incomplete;
	/* Default route: the first bytes were not an HTTP/1.x request. */
	__u64 not_http;
	/* Client SYNs veer answered itself (retransmissions included). */
	__u64 syn_answered;
	/* Backend SYNs sent for a request (retransmissions included). */
	__u64 backend_syns;
	/* Connections bound: the backend answered, the request replayed. */
	__u64 bound;
	/* Requests replayed (more than bound: a replay was repeated). */
	__u64 replays;
	/* Ended before binding: client RST or FIN, backend RST, timeout. */
	__u64 aborted;
	/* Requests dropped because veer_http_req refused them (the
	 * client retransmits). */
	__u64 pending_full;
	/*
	 * Connections placed by the default route with no request seen:
	 * node-local clients (cgroup connect(), before any byte) and
	 * kernels without the HTTP programs (tail call missing).
	 */
	__u64 unseen_default;
	/*
	 * Requests whose half-open entry was gone (evicted by a SYN flood)
	 * and came back from veer's ISN, a SYN cookie.
	 */
	__u64 cookie_restored;
	/*
	 * Backends that answered veer's SYN with a bare ACK (they still
	 * held the tuple, in TIME_WAIT): reset as the client would have,
	 * so that the request's retransmission opens a new connection.
	 */
	__u64 stale_backend_resets;
};
#define VEER_HTTP_STATS_COUNTERS (VEER_MAX_RULES + 12)

/*
 * Value of veer_runtime (array, one entry): what every program of every
 * attach point must agree on. Written once, when the maps are created;
 * later loads (another attach point, an upgrade) find it and keep it, so
 * placement stays the same across reloads.
 */
struct veer_runtime {
	__u32 hash_seed;
	__u32 abi_version; /* 0: not written yet */
	__u64 ct_close_grace_ns;
};

/*
 * Socket-level load balancing (cgroup connect4/6). The address a socket
 * dialled, kept in socket storage so getpeername() reports it back.
 */
struct veer_sock_origin {
	union veer_addr vip;
	__be16 port;
	__u8 family;
	__u8 subset;
	__u32 svc_id;
};

/*
 * One connect() as the socket library sees it: the input the cgroup
 * programs read from struct bpf_sock_addr, and the decision they apply.
 * Also the context of the test entry that runs the same function under
 * BPF_PROG_TEST_RUN (cgroup programs cannot be test-run).
 */
struct veer_sock_req {
	union veer_addr addr; /* in: dialled; out: the backend */
	__be16 port; /* in: dialled; out: the backend's */
	__u8 family;
	__u8 verdict; /* out: VEER_SOCK_* */
	__u32 reserved0; /* explicit: cookie is 8-byte aligned */
	__u64 cookie; /* in: socket cookie (the per-connection hash input) */
	__u64 netns_cookie; /* in: hash input under source-IP affinity */
	__u32 svc_id; /* out */
	__u8 subset; /* out */
	__u8 reserved[3];
};

#define VEER_SOCK_PASS 0 /* not a service: connect unchanged */
#define VEER_SOCK_REWRITTEN 1 /* addr/port now the chosen backend */
#define VEER_SOCK_NO_BACKEND 2 /* a service, but nothing to connect to */

/* Pinned object names, relative to the pin root. */
#define VEER_PIN_ROOT_DEFAULT "/sys/fs/bpf/veer"
#define VEER_PIN_ROOT_ENV "VEER_PIN_ROOT"
#define VEER_PIN_PROG_TC_INGRESS "prog_tc_ingress"
#define VEER_PIN_PROG_TC_EGRESS "prog_tc_egress"
#define VEER_PIN_PROG_XDP_INGRESS "prog_xdp_ingress"
#define VEER_PIN_PROG_CONNECT4 "prog_connect4"
#define VEER_PIN_PROG_CONNECT6 "prog_connect6"
#define VEER_PIN_PROG_GETPEERNAME4 "prog_getpeername4"
#define VEER_PIN_PROG_GETPEERNAME6 "prog_getpeername6"

/* Map names (also their pin names). BPF limits names to 15 characters. */
#define VEER_MAP_SERVICES "veer_services"
#define VEER_MAP_BACKENDS "veer_backends"
#define VEER_MAP_SVC_META "veer_svc_meta"
#define VEER_MAP_CT "veer_conntrack"
#define VEER_MAP_CT_SYN "veer_ct_syn"
#define VEER_MAP_CT_CLOSING "veer_ct_closing"
#define VEER_MAP_BACKEND_VIPS "veer_be_vips"
#define VEER_MAP_STATS "veer_stats"
#define VEER_MAP_RULES "veer_rules"
#define VEER_MAP_RUNTIME "veer_runtime"
#define VEER_MAP_HTTP_PENDING "veer_http_req"
#define VEER_MAP_HTTP_STATS "veer_http_stats"
#define VEER_MAP_HEALTH "veer_health"

/* tc filter identity, so `veer detach` removes only what veer attached. */
#define VEER_TC_HANDLE 0x7665 /* "ve" */
#define VEER_TC_PRIORITY 0x7665

/*
 * The layouts above have no implicit padding: every byte is a named
 * field, so BPF, userspace and bpftool agree. A size that moves here means
 * a hole or a layout change (bump VEER_ABI_VERSION).
 */
_Static_assert(sizeof(struct veer_svc_key) == 20, "veer_svc_key layout");
_Static_assert(sizeof(struct veer_subset) == 8, "veer_subset layout");
_Static_assert(sizeof(struct veer_service) == 100, "veer_service layout");
_Static_assert(sizeof(struct veer_backend) == 20, "veer_backend layout");
_Static_assert(sizeof(struct veer_backend_vips) == 164,
	       "veer_backend_vips layout");
_Static_assert(sizeof(struct veer_ct_key) == 40, "veer_ct_key layout");
_Static_assert(sizeof(struct veer_ct_entry) == 72, "veer_ct_entry layout");
/* struct veer_stats is nothing but __u64 counters, summed as an array. */
#define VEER_STATS_COUNTERS 18
_Static_assert(sizeof(struct veer_stats) == VEER_STATS_COUNTERS * 8,
	       "veer_stats layout");
_Static_assert(sizeof(struct veer_health) ==
		       (VEER_HEALTH_COUNTERS + 2 + 2 * VEER_HIST_BUCKETS) * 8,
	       "veer_health layout");
_Static_assert(sizeof(struct veer_runtime) == 16, "veer_runtime layout");
_Static_assert(sizeof(struct veer_http_request) == 16 + VEER_HTTP_REQ_MAX,
	       "veer_http_request layout");
_Static_assert(sizeof(struct veer_http_stats) == VEER_HTTP_STATS_COUNTERS * 8,
	       "veer_http_stats layout");
_Static_assert(sizeof(struct veer_sock_origin) == 24,
	       "veer_sock_origin layout");
_Static_assert(sizeof(struct veer_sock_req) == 48, "veer_sock_req layout");

#endif /* VEER_ABI_H */
