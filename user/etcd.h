/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A small etcd v3 client over etcd's JSON gRPC gateway (http://HOST:PORT/v3/
 * ..., etcd 3.4 and later), with libcurl for HTTP and json-c for JSON:
 * range, txn (compares on mod_revision, puts and deletes: an atomic
 * multi-key write with optimistic concurrency), put with a lease, lease
 * grant and keepalive, and watch from a revision on a prefix.
 *
 * Keys and values are bytes: the gateway carries them base64-encoded; the
 * functions here take and give them plain. int64 fields (revisions, lease
 * ids) travel as JSON strings, as proto3's JSON mapping writes them.
 *
 * A client holds a list of endpoints (the cluster's members). A request
 * that cannot reach one (connection refused, timed out, the member says
 * it is unavailable) goes to the next, so one dead member does not matter;
 * the one that answered is tried first next time. Every error is one line
 * that says which endpoint and what failed.
 */
#ifndef VEER_ETCD_H
#define VEER_ETCD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_MAX_ENDPOINTS 16
/* Bounded waits: a member that does not accept a connection in this time
 * is passed over; a unary request that takes longer fails on it. */
#define ETCD_CONNECT_TIMEOUT_MS 1000
#define ETCD_REQUEST_TIMEOUT_MS 5000
/* When every member answered "unavailable" (no leader yet after one was
 * lost), the request is tried once more after an election's time. */
#define ETCD_ELECTION_WAIT_MS 1500
/* A watch stream that ended is resumed (on the next member) after this. */
#define ETCD_WATCH_RESUME_MS 100
/* A reply (a range of the whole configuration) is read into memory. */
#define ETCD_REPLY_MAX_BYTES (256 * 1024 * 1024)

struct etcd_client {
	char *endpoints[ETCD_MAX_ENDPOINTS]; /* "http://host:port", no '/' */
	size_t count;
	size_t preferred; /* the one that answered last */
	long connect_timeout_ms;
	long request_timeout_ms;
	void *curl; /* one handle, reused: connections stay open */
};

/*
 * urls: comma-separated http:// URLs, as etcdctl's --endpoints. 0, or -1
 * with err (a bad list, out of memory).
 */
int etcd_client_init(struct etcd_client *c, const char *urls, char *err,
		     size_t errlen);
void etcd_client_free(struct etcd_client *c);

struct etcd_kv {
	char *key; /* NUL-terminated after key_len bytes */
	size_t key_len;
	char *value; /* likewise; "" for a deletion event */
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

struct etcd_kvs {
	struct etcd_kv *kvs;
	size_t count;
	int64_t total; /* keys in the range (more than count with a limit) */
	int64_t revision; /* the store's revision the answer is from */
};

void etcd_kvs_free(struct etcd_kvs *kvs);

/*
 * The key, or with prefix every key that starts with it, sorted by key,
 * as of revision at_revision (0: the latest). 0, or -1 with err (a
 * compacted revision is an error that says so).
 */
int etcd_range(struct etcd_client *c, const char *key, bool prefix,
	       int64_t at_revision, struct etcd_kvs *out, char *err,
	       size_t errlen);

/*
 * How many keys start with prefix (*total) and the highest mod_revision
 * among them (*newest, 0 when none), at the store's revision *revision:
 * one small request (keys only, the newest key alone). 0, or -1 with err.
 */
int etcd_range_newest(struct etcd_client *c, const char *prefix, int64_t *total,
		      int64_t *newest, int64_t *revision, char *err,
		      size_t errlen);

/* A compare of a txn: the key's mod_revision equals this (0: absent). */
struct etcd_compare {
	const char *key;
	int64_t mod_revision;
};

enum etcd_op_kind { ETCD_OP_PUT, ETCD_OP_DELETE };

/* An operation of a txn. */
struct etcd_op {
	enum etcd_op_kind kind;
	const char *key;
	const char *value; /* PUT */
	size_t value_len;
	int64_t lease; /* PUT: 0 none */
};

/*
 * Atomically: if every compare holds, every op, in one revision
 * (*revision, when succeeded). *succeeded false: a compare failed and
 * nothing was written. etcd bounds a txn (--max-txn-ops, default 128, for
 * compares and ops each; --max-request-bytes, 1.5 MiB): a larger one is
 * refused with etcd's words. 0, or -1 with err.
 */
int etcd_txn(struct etcd_client *c, const struct etcd_compare *compares,
	     size_t ncompares, const struct etcd_op *ops, size_t nops,
	     bool *succeeded, int64_t *revision, char *err, size_t errlen);

/* One put (lease 0: none). 0, or -1 with err (a lease gone: etcd's words). */
int etcd_put(struct etcd_client *c, const char *key, const char *value,
	     size_t len, int64_t lease, int64_t *revision, char *err,
	     size_t errlen);

/* A lease of ttl seconds: its id. 0, or -1 with err. */
int etcd_lease_grant(struct etcd_client *c, int64_t ttl, int64_t *id, char *err,
		     size_t errlen);

/*
 * Renews a lease once: *ttl is what it has left, 0 when it expired (then
 * grant a new one). 0, or -1 with err.
 */
int etcd_lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ttl,
			 char *err, size_t errlen);

/* One change a watch saw. */
struct etcd_event {
	bool deleted;
	struct etcd_kv kv; /* a deletion has the key and mod_revision */
};

/* The events of one revision: one txn, whole. */
struct etcd_watch_batch {
	int64_t revision;
	const struct etcd_event *events;
	size_t count;
};

/* Called per batch: 0 goes on watching, anything else stops the watch. */
typedef int (*etcd_watch_fn)(void *ctx, const struct etcd_watch_batch *b);

/*
 * Watches every key under prefix from start_revision on, calling fn once
 * per revision that changed one, in order. A member that goes away is
 * left for the next one, resuming after the last revision seen. Returns
 * 0 when fn asked to stop or *stop (may be NULL) was set; 1 when
 * start_revision was compacted: *compact_revision is the oldest revision
 * still there, and the caller must read everything anew (a full resync)
 * and watch from that read's revision + 1; -1 with err.
 */
int etcd_watch(struct etcd_client *c, const char *prefix,
	       int64_t start_revision, etcd_watch_fn fn, void *ctx,
	       volatile sig_atomic_t *stop, int64_t *compact_revision,
	       char *err, size_t errlen);

/* ---- the JSON of the gateway, exposed for the unit tests ---- */

/* Base64 (RFC 4648, padded). Both malloc; decode NUL-terminates. */
char *etcd_base64_encode(const char *data, size_t len);
/* NULL on bad input or out of memory. */
char *etcd_base64_decode(const char *text, size_t len, size_t *out_len);

/* The range_end that makes [prefix, end) every key starting with prefix:
 * the prefix with its last byte below 0xff incremented; "\0" (every key)
 * when all are 0xff. malloc'd; *len is its length. */
char *etcd_prefix_end(const char *prefix, size_t *len);

/* Request bodies (malloc'd JSON text; NULL when out of memory). */
char *etcd_json_range_request(const char *key, bool prefix,
			      int64_t at_revision);
char *etcd_json_newest_request(const char *prefix);
char *etcd_json_txn_request(const struct etcd_compare *compares,
			    size_t ncompares, const struct etcd_op *ops,
			    size_t nops);
char *etcd_json_watch_request(const char *prefix, int64_t start_revision);

/* A range reply into *out. 0, or -1 with err. */
int etcd_json_parse_range(const char *body, size_t len, struct etcd_kvs *out,
			  char *err, size_t errlen);
/* A txn reply. 0, or -1 with err. */
int etcd_json_parse_txn(const char *body, size_t len, bool *succeeded,
			int64_t *revision, char *err, size_t errlen);

/* One message of a watch stream, decoded. */
struct etcd_watch_message {
	bool created;
	bool canceled;
	int64_t compact_revision; /* set with canceled: compacted */
	int64_t revision; /* the header's */
	char cancel_reason[256];
	struct etcd_event *events;
	size_t count;
};

void etcd_watch_message_free(struct etcd_watch_message *m);
/* One line of the watch stream. 0, or -1 with err (an error message in
 * the stream is an error, with its words). */
int etcd_json_parse_watch(const char *line, size_t len,
			  struct etcd_watch_message *m, char *err,
			  size_t errlen);

/* etcd's words in an error reply ("etcdserver: ..."), or NULL. */
const char *etcd_json_error_text(const char *body, size_t len, char *buf,
				 size_t buflen);

#endif /* VEER_ETCD_H */
