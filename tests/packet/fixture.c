// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The packet tests' fixture (fixture.h). */
#include "fixture.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "health.h"
#include "loader.h"
#include "model.h"

char pin_root[128];
int prog_ingress = -1, prog_egress = -1, prog_xdp = -1;
bool forward_via_xdp;
struct veer_maps maps;

int send_pkt(const struct flow *f, bool reply, uint8_t flags, uint32_t seq,
	     uint32_t ack, const char *payload, struct pkt_view *out)
{
	uint8_t in[PKT_MAX], res[PKT_MAX];
	size_t len = build(f, reply, flags, seq, ack, payload, in), out_len;
	int verdict;

	if (!reply && forward_via_xdp) {
		/* XDP verdicts in TC terms, so one test body serves both. */
		verdict = run(prog_xdp, in, len, res, &out_len);
		verdict = verdict == XDP_PASS_	 ? TC_OK
			  : verdict == XDP_DROP_ ? TC_SHOT
						 : -1;
	} else {
		verdict = run(reply ? prog_egress : prog_ingress, in, len, res,
			      &out_len);
	}
	if (out && view(res, out_len, out))
		return -1;
	return verdict;
}

bool addr_is(const union veer_addr *a, int family, const char *text)
{
	union veer_addr want = {};

	if (family == AF_INET)
		inet_pton(AF_INET, text, &want.v4);
	else
		inet_pton(AF_INET6, text, want.bytes);
	return memcmp(a, &want, sizeof(want)) == 0;
}

/* ---- configuration through the real apply path ------------------------ */

int configure(const char *name, const char *vip, uint16_t port,
	      const struct subset_spec *subsets, unsigned int count)
{
	return configure_rules(name, vip, port, subsets, count, NULL, 0);
}

int configure_rules(const char *name, const char *vip, uint16_t port,
		    const struct subset_spec *subsets, unsigned int count,
		    const struct veer_rule *rules, unsigned int rule_count)
{
	return configure_flags(name, vip, port, 0, subsets, count, rules,
			       rule_count);
}

int configure_flags(const char *name, const char *vip, uint16_t port,
		    uint16_t flags, const struct subset_spec *subsets,
		    unsigned int count, const struct veer_rule *rules,
		    unsigned int rule_count)
{
	struct veer_model current, desired;
	struct veer_service_model *svc;
	struct veer_backend backend;
	char err[VEER_ERR_LEN];
	unsigned int s, b, r;
	bool changed;
	int ret = -1;

	veer_model_init(&current);
	veer_model_init(&desired);
	svc = veer_model_add_service(&desired);
	if (!svc)
		goto out;
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	if (veer_addr_parse(vip, &svc->key.vip, &svc->key.family))
		goto out;
	svc->key.port = htons(port);
	svc->key.proto = 6;
	svc->flags = flags;
	svc->subset_count = count;
	for (s = 0; s < count; s++) {
		snprintf(svc->subsets[s].name, sizeof(svc->subsets[s].name),
			 "%s", subsets[s].name);
		svc->subsets[s].weight = subsets[s].weight;
		for (b = 0; b < 4 && subsets[s].backends[b]; b++) {
			memset(&backend, 0, sizeof(backend));
			if (veer_endpoint_parse(subsets[s].backends[b],
						&backend.addr, &backend.family,
						&backend.port) ||
			    veer_subset_add_backend(&svc->subsets[s], &backend))
				goto out;
		}
	}
	for (r = 0; r < rule_count; r++)
		if (veer_service_add_rule(svc, &rules[r]))
			goto out;
	if (veer_maps_read_model(&maps, &current, err, sizeof(err)) ||
	    veer_maps_apply(&maps, &current, &desired, true, false, NULL,
			    &changed, err, sizeof(err))) {
		fprintf(stderr, "configure %s: %s\n", name, err);
		goto out;
	}
	ret = 0;
out:
	veer_model_free(&current);
	veer_model_free(&desired);
	return ret;
}

int delete_service(const char *name)
{
	struct veer_model current;
	char err[VEER_ERR_LEN];
	int ret;

	veer_model_init(&current);
	ret = veer_maps_read_model(&maps, &current, err, sizeof(err)) ||
	      veer_maps_delete_service(&maps, &current, name, err, sizeof(err));
	if (ret)
		fprintf(stderr, "delete %s: %s\n", name, err);
	veer_model_free(&current);
	return ret ? -1 : 0;
}

int set_web(unsigned int w1, unsigned int w2)
{
	struct subset_spec subsets[] = {
		{"v1", w1, {"10.10.2.2:8080"}},
		{"v2", w2, {"10.10.3.2:8080"}},
	};

	return configure("web", "10.96.0.10", 80, subsets, 2);
}

int set_web6(unsigned int w1, unsigned int w2)
{
	struct subset_spec subsets[] = {
		{"v1", w1, {"[fd10:2::2]:8080"}},
		{"v2", w2, {"[fd10:3::2]:8080"}},
	};

	return configure("web6", "fd00:96::10", 80, subsets, 2);
}

int ct_table_fd(enum ct_table table)
{
	return table == CT_ESTABLISHED ? maps.conntrack
	       : table == CT_HALF_OPEN ? maps.ct_syn
				       : maps.ct_closing;
}

void ct_keys(const struct flow *f, const struct pkt_view *fwd_out,
	     struct veer_ct_key *fwd, struct veer_ct_key *rev)
{
	uint8_t family;

	memset(fwd, 0, sizeof(*fwd));
	memset(rev, 0, sizeof(*rev));
	veer_addr_parse(f->client, &fwd->saddr, &family);
	veer_addr_parse(f->server, &fwd->daddr, &family);
	fwd->sport = htons(f->client_port);
	fwd->dport = htons(f->server_port);
	fwd->proto = 6;
	fwd->family = family;
	fwd->dir = VEER_CT_DIR_FORWARD;
	rev->saddr = fwd_out->daddr;
	rev->daddr = fwd->saddr;
	rev->sport = htons(fwd_out->dport);
	rev->dport = htons(f->client_port);
	rev->proto = 6;
	rev->family = family;
	rev->dir = VEER_CT_DIR_REVERSE;
}

bool ct_pair_in(enum ct_table table, const struct flow *f,
		const struct pkt_view *fwd_out, struct veer_ct_entry *fwd,
		struct veer_ct_entry *rev)
{
	struct veer_ct_key fk, rk;
	int fd = ct_table_fd(table);

	ct_keys(f, fwd_out, &fk, &rk);
	return bpf_map_lookup_elem(fd, &fk, fwd) == 0 &&
	       bpf_map_lookup_elem(fd, &rk, rev) == 0;
}

int ct_entries_of(const struct flow *f, const struct pkt_view *fwd_out)
{
	struct veer_ct_entry e;
	struct veer_ct_key fk, rk;
	int t, n = 0;

	ct_keys(f, fwd_out, &fk, &rk);
	for (t = 0; t < CT_TABLES; t++) {
		n += bpf_map_lookup_elem(ct_table_fd(t), &fk, &e) == 0;
		n += bpf_map_lookup_elem(ct_table_fd(t), &rk, &e) == 0;
	}
	return n;
}

struct flow reply_flow(const struct flow *fwd, const struct pkt_view *fwd_out,
		       char *buf, size_t len)
{
	struct flow back = *fwd;

	inet_ntop(fwd->family,
		  fwd->family == AF_INET ? (const void *)&fwd_out->daddr.v4
					 : (const void *)fwd_out->daddr.bytes,
		  buf, (socklen_t)len);
	back.server = buf;
	back.server_port = fwd_out->dport;
	return back;
}

int handshake(const struct flow *fwd, uint32_t isn, uint32_t peer_isn,
	      struct pkt_view *syn_out)
{
	struct veer_ct_entry fe, re;
	struct pkt_view out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];

	if (send_pkt(fwd, false, F_SYN, isn, 0, NULL, syn_out) != TC_OK)
		return -1;
	back = reply_flow(fwd, syn_out, backend, sizeof(backend));
	if (send_pkt(&back, true, F_SYN | F_ACK, peer_isn, isn + 1, NULL,
		     &out) != TC_OK ||
	    send_pkt(fwd, false, F_ACK, isn + 1, peer_isn + 1, NULL, &out) !=
		    TC_OK)
		return -1;
	return ct_pair_in(CT_ESTABLISHED, fwd, syn_out, &fe, &re) ? 0 : -1;
}

long ct_count(enum ct_table table)
{
	return veer_maps_count_entries(ct_table_fd(table));
}

struct veer_stats service_stats(const char *name, unsigned int row)
{
	struct veer_stats rows[VEER_STATS_ROWS_PER_SVC] = {};
	struct veer_model model;
	struct veer_service_model *svc;
	char err[VEER_ERR_LEN];

	veer_model_init(&model);
	if (!veer_maps_read_model(&maps, &model, err, sizeof(err))) {
		svc = veer_model_find(&model, name);
		if (svc)
			veer_maps_read_stats(&maps, svc->id, rows, err,
					     sizeof(err));
	}
	veer_model_free(&model);
	return rows[row];
}

uint32_t service_id(const char *name)
{
	struct veer_model model;
	struct veer_service_model *svc;
	char err[VEER_ERR_LEN];
	uint32_t id = 0;

	veer_model_init(&model);
	if (!veer_maps_read_model(&maps, &model, err, sizeof(err))) {
		svc = veer_model_find(&model, name);
		if (svc)
			id = svc->id;
	}
	veer_model_free(&model);
	return id;
}

struct veer_health service_health(const char *name)
{
	struct veer_health rows[VEER_STATS_ROWS_PER_SVC], sum = {};
	char err[VEER_ERR_LEN];
	unsigned int r;

	if (veer_maps_read_health(&maps, service_id(name), rows, err,
				  sizeof(err)))
		return sum;
	for (r = 0; r < VEER_STATS_ROWS_PER_SVC; r++)
		veer_health_add(&sum, &rows[r]);
	return sum;
}

struct veer_http_stats service_http_stats(const char *name)
{
	struct veer_http_stats sum = {};
	char err[VEER_ERR_LEN];
	uint32_t id = service_id(name);

	if (id)
		veer_maps_read_http_stats(&maps, id, &sum, err, sizeof(err));
	return sum;
}

/* ---- fixtures --------------------------------------------------------- */

int suite_init(void)
{
	struct veer_load_opts opts = VEER_LOAD_OPTS_DEFAULT;
	char err[VEER_ERR_LEN];
	bool reused;

	opts.ct_close_grace_ms = TEST_CLOSE_GRACE_MS;
	opts.ct_flows = TEST_CT_FLOWS;

	snprintf(pin_root, sizeof(pin_root), "/sys/fs/bpf/veer-ptest-%d",
		 (int)getpid());
	if (veer_pin_root_prepare(pin_root, true, err, sizeof(err)) ||
	    veer_load(pin_root, &opts, &prog_ingress, &prog_egress, &reused,
		      err, sizeof(err)) ||
	    veer_load_xdp(pin_root, &prog_xdp, err, sizeof(err)) ||
	    veer_maps_open(pin_root, &maps, err, sizeof(err))) {
		fprintf(stderr, "packet tests: %s\n", err);
		return -1;
	}
	if (set_web(100, 0) || set_web6(100, 0))
		return -1;
	return 0;
}

int suite_clean(void)
{
	char err[VEER_ERR_LEN];

	veer_maps_close(&maps);
	if (prog_ingress >= 0)
		close(prog_ingress);
	if (prog_egress >= 0)
		close(prog_egress);
	if (prog_xdp >= 0)
		close(prog_xdp);
	return veer_unpin_all(pin_root, err, sizeof(err));
}

/* Sets the IPv6 extension headers build() inserts (0 of them: none). */
void use_ipv6_ext(const struct ipv6_ext *ext, unsigned int n)
{
	memcpy(pkt_ipv6_ext, ext, n * sizeof(*ext));
	pkt_ipv6_ext_count = n;
}
