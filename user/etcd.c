// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The etcd v3 JSON gateway client (etcd.h). */
#include <curl/curl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "dynlib.h"
#include "etcd.h"

/* ---- base64 ---------------------------------------------------------- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_base64_encode(const char *data, size_t len)
{
	const unsigned char *in = (const unsigned char *)data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		*o++ = b64_alphabet[in[i] >> 2];
		*o++ = b64_alphabet[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*o++ = b64_alphabet[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*o++ = b64_alphabet[in[i + 2] & 63];
	}
	if (len - i == 1) {
		*o++ = b64_alphabet[in[i] >> 2];
		*o++ = b64_alphabet[(in[i] & 3) << 4];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		*o++ = b64_alphabet[in[i] >> 2];
		*o++ = b64_alphabet[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*o++ = b64_alphabet[(in[i + 1] & 15) << 2];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* libcurl, opened when a client is made (dynlib.h says why). */
static struct {
	__typeof__(&curl_global_init) global_init;
	__typeof__(&curl_easy_init) easy_init;
	__typeof__(&curl_easy_cleanup) easy_cleanup;
	__typeof__(&curl_easy_reset) easy_reset;
	__typeof__(&curl_easy_perform) easy_perform;
	__typeof__(&curl_easy_setopt) easy_setopt;
	__typeof__(&curl_easy_getinfo) easy_getinfo;
	__typeof__(&curl_easy_strerror) easy_strerror;
	__typeof__(&curl_slist_append) slist_append;
	__typeof__(&curl_slist_free_all) slist_free_all;
} curlf;

static int curl_open(char *err, size_t errlen)
{
	const struct veer_dynsym syms[] = {
		{"curl_global_init", (void **)&curlf.global_init},
		{"curl_easy_init", (void **)&curlf.easy_init},
		{"curl_easy_cleanup", (void **)&curlf.easy_cleanup},
		{"curl_easy_reset", (void **)&curlf.easy_reset},
		{"curl_easy_perform", (void **)&curlf.easy_perform},
		{"curl_easy_setopt", (void **)&curlf.easy_setopt},
		{"curl_easy_getinfo", (void **)&curlf.easy_getinfo},
		{"curl_easy_strerror", (void **)&curlf.easy_strerror},
		{"curl_slist_append", (void **)&curlf.slist_append},
		{"curl_slist_free_all", (void **)&curlf.slist_free_all},
	};

	return veer_dynlib_open(VEER_SONAME_CURL, "libcurl4", syms,
				sizeof(syms) / sizeof(syms[0]), err, errlen);
}

static int b64_value(char ch)
{
	const char *p = ch ? strchr(b64_alphabet, ch) : NULL;

	return p ? (int)(p - b64_alphabet) : -1;
}

char *etcd_base64_decode(const char *text, size_t len, size_t *out_len)
{
	unsigned char *out, *o;
	unsigned int acc = 0;
	int bits = 0, v;
	size_t i, pad = 0;

	if (len % 4)
		return NULL;
	while (pad < 2 && pad < len && text[len - 1 - pad] == '=')
		pad++;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	o = out;
	for (i = 0; i < len - pad; i++) {
		v = b64_value(text[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (unsigned char)(acc >> bits);
		}
	}
	*o = '\0';
	*out_len = (size_t)(o - out);
	return (char *)out;
}

char *etcd_prefix_end(const char *prefix, size_t *len)
{
	size_t n = strlen(prefix);
	char *end = malloc(n + 1);

	if (!end)
		return NULL;
	memcpy(end, prefix, n + 1);
	while (n > 0) {
		if ((unsigned char)end[n - 1] < 0xff) {
			end[n - 1]++;
			end[n] = '\0';
			*len = n;
			return end;
		}
		n--;
	}
	/* Every byte 0xff: etcd's "\0" means every key from prefix on. */
	end[0] = '\0';
	*len = 1;
	return end;
}

/* ---- JSON requests --------------------------------------------------- */

/* obj[name] = base64 of data; false when out of memory. */
static bool add_bytes(struct json_object *obj, const char *name,
		      const char *data, size_t len)
{
	char *b64 = etcd_base64_encode(data, len);
	struct json_object *s = b64 ? json_object_new_string(b64) : NULL;

	free(b64);
	if (!s)
		return false;
	json_object_object_add(obj, name, s);
	return true;
}

/* obj[name] = "value": proto3's JSON mapping of an int64. */
static bool add_int64(struct json_object *obj, const char *name, int64_t value)
{
	char text[24];
	struct json_object *s;

	snprintf(text, sizeof(text), "%" PRId64, value);
	s = json_object_new_string(text);
	if (!s)
		return false;
	json_object_object_add(obj, name, s);
	return true;
}

static bool add_string(struct json_object *obj, const char *name,
		       const char *value)
{
	struct json_object *s = json_object_new_string(value);

	if (!s)
		return false;
	json_object_object_add(obj, name, s);
	return true;
}

/* The text of obj (malloc'd), and obj released. */
static char *finish_json(struct json_object *obj, bool ok)
{
	char *text = NULL;

	if (obj && ok)
		text = strdup(json_object_to_json_string_ext(
			obj, JSON_C_TO_STRING_PLAIN |
				     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
	return text;
}

/* key, and range_end when prefix. */
static bool add_key_range(struct json_object *obj, const char *key, bool prefix)
{
	char *end;
	size_t end_len;
	bool ok;

	if (!add_bytes(obj, "key", key, strlen(key)))
		return false;
	if (!prefix)
		return true;
	end = etcd_prefix_end(key, &end_len);
	ok = end && add_bytes(obj, "range_end", end, end_len);
	free(end);
	return ok;
}

char *etcd_json_range_request(const char *key, bool prefix, int64_t at_revision)
{
	struct json_object *req = json_object_new_object();
	bool ok = req && add_key_range(req, key, prefix);

	if (ok && at_revision)
		ok = add_int64(req, "revision", at_revision);
	return finish_json(req, ok);
}

char *etcd_json_newest_request(const char *prefix)
{
	struct json_object *req = json_object_new_object();
	bool ok = req && add_key_range(req, prefix, true) &&
		  add_int64(req, "limit", 1);

	/* The gateway takes proto3 enums by name. */
	if (ok) {
		json_object_object_add(req, "sort_order",
				       json_object_new_string("DESCEND"));
		json_object_object_add(req, "sort_target",
				       json_object_new_string("MOD"));
		json_object_object_add(req, "keys_only",
				       json_object_new_boolean(1));
	}
	return finish_json(req, ok);
}

char *etcd_json_txn_request(const struct etcd_compare *compares,
			    size_t ncompares, const struct etcd_op *ops,
			    size_t nops)
{
	struct json_object *req = json_object_new_object();
	struct json_object *cmps = json_object_new_array();
	struct json_object *success = json_object_new_array();
	struct json_object *o, *wrap;
	bool ok = req && cmps && success;
	size_t i;

	if (ok) {
		json_object_object_add(req, "compare", cmps);
		json_object_object_add(req, "success", success);
	} else {
		json_object_put(cmps);
		json_object_put(success);
	}
	for (i = 0; ok && i < ncompares; i++) {
		o = json_object_new_object();
		ok = o && json_object_array_add(cmps, o) == 0;
		ok = ok && add_string(o, "target", "MOD") &&
		     add_string(o, "result", "EQUAL") &&
		     add_bytes(o, "key", compares[i].key,
			       strlen(compares[i].key)) &&
		     add_int64(o, "mod_revision", compares[i].mod_revision);
	}
	for (i = 0; ok && i < nops; i++) {
		const struct etcd_op *op = &ops[i];

		wrap = json_object_new_object();
		o = json_object_new_object();
		ok = wrap && o && json_object_array_add(success, wrap) == 0;
		if (!ok) {
			json_object_put(wrap);
			json_object_put(o);
			break;
		}
		json_object_object_add(wrap,
				       op->kind == ETCD_OP_PUT
					       ? "request_put"
					       : "request_delete_range",
				       o);
		ok = add_bytes(o, "key", op->key, strlen(op->key));
		if (ok && op->kind == ETCD_OP_PUT)
			ok = add_bytes(o, "value", op->value, op->value_len) &&
			     (!op->lease || add_int64(o, "lease", op->lease));
	}
	return finish_json(req, ok);
}

char *etcd_json_watch_request(const char *prefix, int64_t start_revision)
{
	struct json_object *req = json_object_new_object();
	struct json_object *create = json_object_new_object();
	bool ok = req && create;

	if (ok)
		json_object_object_add(req, "create_request", create);
	else
		json_object_put(create);
	ok = ok && add_key_range(create, prefix, true);
	if (ok && start_revision)
		ok = add_int64(create, "start_revision", start_revision);
	return finish_json(req, ok);
}

/* ---- JSON replies ---------------------------------------------------- */

static struct json_object *parse_json(const char *body, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;

	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, body, (int)len);
	if (obj && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	if (obj && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* obj[name] as an int64 (a string or a number; absent: proto3's 0). */
static int64_t get_int64(struct json_object *obj, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, name, &v))
		return 0;
	return json_object_get_int64(v);
}

static bool get_bool(struct json_object *obj, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, name, &v) &&
	       json_object_get_boolean(v);
}

/* obj[name], base64, decoded (absent: empty). false on bad base64. */
static bool get_bytes(struct json_object *obj, const char *name, char **out,
		      size_t *len)
{
	struct json_object *v;
	const char *text = "";

	if (json_object_object_get_ex(obj, name, &v))
		text = json_object_get_string(v);
	*out = etcd_base64_decode(text, strlen(text), len);
	return *out != NULL;
}

static int64_t header_revision(struct json_object *obj)
{
	struct json_object *header;

	if (!json_object_object_get_ex(obj, "header", &header))
		return 0;
	return get_int64(header, "revision");
}

static void kv_free(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
}

/* One mvccpb.KeyValue. 0, or -1 (bad base64 or out of memory). */
static int parse_kv(struct json_object *obj, struct etcd_kv *kv)
{
	memset(kv, 0, sizeof(*kv));
	if (!get_bytes(obj, "key", &kv->key, &kv->key_len) ||
	    !get_bytes(obj, "value", &kv->value, &kv->value_len)) {
		kv_free(kv);
		return -1;
	}
	kv->create_revision = get_int64(obj, "create_revision");
	kv->mod_revision = get_int64(obj, "mod_revision");
	kv->version = get_int64(obj, "version");
	kv->lease = get_int64(obj, "lease");
	return 0;
}

void etcd_kvs_free(struct etcd_kvs *kvs)
{
	size_t i;

	for (i = 0; i < kvs->count; i++)
		kv_free(&kvs->kvs[i]);
	free(kvs->kvs);
	memset(kvs, 0, sizeof(*kvs));
}

int etcd_json_parse_range(const char *body, size_t len, struct etcd_kvs *out,
			  char *err, size_t errlen)
{
	struct json_object *reply = parse_json(body, len), *kvs;
	size_t i, n = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!reply)
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "range: the reply is not a JSON object");
	out->revision = header_revision(reply);
	out->total = get_int64(reply, "count");
	if (json_object_object_get_ex(reply, "kvs", &kvs) &&
	    json_object_is_type(kvs, json_type_array))
		n = json_object_array_length(kvs);
	if (n) {
		out->kvs = calloc(n, sizeof(*out->kvs));
		if (!out->kvs)
			ret = veer_fail_at(err, errlen, NULL, 0, 0,
					   "out of memory");
	}
	for (i = 0; !ret && i < n; i++) {
		if (parse_kv(json_object_array_get_idx(kvs, i), &out->kvs[i])) {
			ret = veer_fail_at(err, errlen, NULL, 0, 0,
					   "range: a key or value is not "
					   "base64");
			break;
		}
		out->count++;
	}
	json_object_put(reply);
	if (ret)
		etcd_kvs_free(out);
	return ret;
}

int etcd_json_parse_txn(const char *body, size_t len, bool *succeeded,
			int64_t *revision, char *err, size_t errlen)
{
	struct json_object *reply = parse_json(body, len);

	if (!reply)
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "txn: the reply is not a JSON object");
	/* proto3 leaves out false: absent is "a compare failed". */
	*succeeded = get_bool(reply, "succeeded");
	*revision = header_revision(reply);
	json_object_put(reply);
	return 0;
}

void etcd_watch_message_free(struct etcd_watch_message *m)
{
	size_t i;

	for (i = 0; i < m->count; i++)
		kv_free(&m->events[i].kv);
	free(m->events);
	memset(m, 0, sizeof(*m));
}

/* The words of an error object ({"error": "..."} or {"error": {...}}). */
static const char *error_words(struct json_object *obj, char *buf,
			       size_t buflen)
{
	struct json_object *e, *msg;

	if (json_object_object_get_ex(obj, "error", &e)) {
		if (json_object_is_type(e, json_type_object) &&
		    json_object_object_get_ex(e, "message", &msg))
			e = msg;
		snprintf(buf, buflen, "%s", json_object_get_string(e));
		return buf;
	}
	if (json_object_object_get_ex(obj, "message", &msg)) {
		snprintf(buf, buflen, "%s", json_object_get_string(msg));
		return buf;
	}
	return NULL;
}

const char *etcd_json_error_text(const char *body, size_t len, char *buf,
				 size_t buflen)
{
	struct json_object *reply = parse_json(body, len);
	const char *words = reply ? error_words(reply, buf, buflen) : NULL;

	json_object_put(reply);
	return words;
}

int etcd_json_parse_watch(const char *line, size_t len,
			  struct etcd_watch_message *m, char *err,
			  size_t errlen)
{
	struct json_object *msg = parse_json(line, len), *result, *events, *e;
	char words[256];
	size_t i, n = 0;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	if (!msg)
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "watch: a message is not a JSON object");
	if (!json_object_object_get_ex(msg, "result", &result)) {
		ret = veer_fail_at(err, errlen, NULL, 0, 0, "watch: %s",
				   error_words(msg, words, sizeof(words))
					   ?: "a message without a result");
		goto out;
	}
	m->created = get_bool(result, "created");
	m->canceled = get_bool(result, "canceled");
	m->compact_revision = get_int64(result, "compact_revision");
	m->revision = header_revision(result);
	if (json_object_object_get_ex(result, "cancel_reason", &e))
		snprintf(m->cancel_reason, sizeof(m->cancel_reason), "%s",
			 json_object_get_string(e));
	if (json_object_object_get_ex(result, "events", &events) &&
	    json_object_is_type(events, json_type_array))
		n = json_object_array_length(events);
	if (n && !(m->events = calloc(n, sizeof(*m->events)))) {
		ret = veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct json_object *ev = json_object_array_get_idx(events, i);
		struct json_object *type, *kv;

		/* PUT is the enum's 0: proto3 leaves it out. */
		m->events[i].deleted =
			json_object_object_get_ex(ev, "type", &type) &&
			!strcmp(json_object_get_string(type), "DELETE");
		if (!json_object_object_get_ex(ev, "kv", &kv) ||
		    parse_kv(kv, &m->events[i].kv)) {
			ret = veer_fail_at(err, errlen, NULL, 0, 0,
					   "watch: an event without a "
					   "readable key");
			break;
		}
		m->count++;
	}
out:
	json_object_put(msg);
	if (ret)
		etcd_watch_message_free(m);
	return ret;
}

/* ---- HTTP ------------------------------------------------------------ */

struct reply {
	char *body;
	size_t len;
	bool too_large;
};

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;
	size_t len = size * n;
	char *grown;

	if (r->len + len > ETCD_REPLY_MAX_BYTES) {
		r->too_large = true;
		return 0;
	}
	grown = realloc(r->body, r->len + len + 1);
	if (!grown)
		return 0;
	memcpy(grown + r->len, data, len);
	r->body = grown;
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/* Whether curl's failure means "this member cannot be reached": try the
 * next one. */
static bool unreachable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE: /* the member went away mid-reply */
		return true;
	default:
		return false;
	}
}

/* HTTP 503 is gRPC's Unavailable: no leader, the member is stopping. */
#define HTTP_UNAVAILABLE 503

static int endpoint_add(struct etcd_client *c, const char *url, size_t len,
			char *err, size_t errlen)
{
	char *ep;

	if (len == 0)
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "etcd endpoints: an empty URL in the list");
	if (c->count == ETCD_MAX_ENDPOINTS)
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "etcd endpoints: at most %d",
				    ETCD_MAX_ENDPOINTS);
	if (len < 8 || strncmp(url, "http://", 7))
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "etcd endpoint '%.*s': expected "
				    "http://HOST:PORT",
				    (int)len, url);
	while (len > 7 && url[len - 1] == '/')
		len--;
	ep = strndup(url, len);
	if (!ep)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	c->endpoints[c->count++] = ep;
	return 0;
}

int etcd_client_init(struct etcd_client *c, const char *urls, char *err,
		     size_t errlen)
{
	const char *p = urls, *comma;

	memset(c, 0, sizeof(*c));
	c->connect_timeout_ms = ETCD_CONNECT_TIMEOUT_MS;
	c->request_timeout_ms = ETCD_REQUEST_TIMEOUT_MS;
	if (curl_open(err, errlen))
		return -1;
	if (curlf.global_init(CURL_GLOBAL_DEFAULT))
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "libcurl does not initialise");
	for (;;) {
		comma = strchr(p, ',');
		if (endpoint_add(c, p, comma ? (size_t)(comma - p) : strlen(p),
				 err, errlen)) {
			etcd_client_free(c);
			return -1;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	c->curl = curlf.easy_init();
	if (!c->curl) {
		etcd_client_free(c);
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "libcurl: no handle");
	}
	return 0;
}

void etcd_client_free(struct etcd_client *c)
{
	size_t i;

	for (i = 0; i < c->count; i++)
		free(c->endpoints[i]);
	if (c->curl)
		curlf.easy_cleanup(c->curl);
	memset(c, 0, sizeof(*c));
}

/* Appends "; " and one endpoint's failure to the list of them. */
static void note_failure(char *all, size_t len, const char *endpoint,
			 const char *what)
{
	size_t used = strlen(all);

	if (used < len)
		snprintf(all + used, len - used, "%s%s: %s", used ? "; " : "",
			 endpoint, what);
}

/*
 * POSTs body to path on each endpoint in turn (the preferred one first)
 * until one answers; its HTTP 200 body into *r. 0, or -1 with err: the
 * one endpoint's answer, or every endpoint's failure.
 */
static int post(struct etcd_client *c, const char *path, const char *body,
		struct reply *r, char *err, size_t errlen)
{
	char curl_err[CURL_ERROR_SIZE], failures[1024] = "", url[512];
	char words[256];
	struct curl_slist *headers;
	const char *ep;
	bool unavailable = false, waited = false;
	size_t attempt;
	long status;
	CURLcode rc;

	headers = curlf.slist_append(NULL, "Content-Type: application/json");
	if (!headers)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
again:
	for (attempt = 0; attempt < c->count; attempt++) {
		size_t i = (c->preferred + attempt) % c->count;

		ep = c->endpoints[i];
		free(r->body);
		memset(r, 0, sizeof(*r));
		snprintf(url, sizeof(url), "%s%s", ep, path);
		curlf.easy_reset(c->curl);
		curl_err[0] = '\0';
		curlf.easy_setopt(c->curl, CURLOPT_URL, url);
		curlf.easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
		curlf.easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curlf.easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, collect);
		curlf.easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
		curlf.easy_setopt(c->curl, CURLOPT_ERRORBUFFER, curl_err);
		curlf.easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
				  c->connect_timeout_ms);
		curlf.easy_setopt(c->curl, CURLOPT_TIMEOUT_MS,
				  c->request_timeout_ms);
		curlf.easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
		rc = curlf.easy_perform(c->curl);
		if (rc != CURLE_OK) {
			const char *what =
				r->too_large  ? "reply larger than the limit"
				: curl_err[0] ? curl_err
					      : curlf.easy_strerror(rc);

			if (unreachable(rc)) {
				note_failure(failures, sizeof(failures), ep,
					     what);
				continue;
			}
			curlf.slist_free_all(headers);
			return veer_fail_at(err, errlen, NULL, 0, 0,
					    "etcd %s: %s: %s", ep, path, what);
		}
		curlf.easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status == HTTP_UNAVAILABLE) {
			note_failure(failures, sizeof(failures), ep,
				     etcd_json_error_text(r->body ?: "", r->len,
							  words, sizeof(words))
					     ?: "unavailable");
			unavailable = true;
			continue;
		}
		curlf.slist_free_all(headers);
		if (status != 200)
			return veer_fail_at(
				err, errlen, NULL, 0, 0,
				"etcd %s: %s: HTTP %ld: %s", ep, path, status,
				etcd_json_error_text(r->body ?: "", r->len,
						     words, sizeof(words))
					?: "no error message");
		c->preferred = i;
		return 0;
	}
	/* Members that are up but have no leader (one was lost): once
	 * more, after an election's time. */
	if (unavailable && !waited) {
		waited = true;
		usleep(ETCD_ELECTION_WAIT_MS * 1000);
		failures[0] = '\0';
		goto again;
	}
	curlf.slist_free_all(headers);
	return veer_fail_at(err, errlen, NULL, 0, 0,
			    "no etcd endpoint answered %s: %s", path, failures);
}

/* POST, then hand the body to parse. */
static int call(struct etcd_client *c, const char *path, char *body,
		struct reply *r, char *err, size_t errlen)
{
	int ret;

	memset(r, 0, sizeof(*r));
	if (!body)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	ret = post(c, path, body, r, err, errlen);
	free(body);
	return ret;
}

/* A failed parse names the endpoint that answered. */
static int with_endpoint(struct etcd_client *c, int ret, char *err,
			 size_t errlen)
{
	char what[512];

	if (ret == 0 || !err)
		return ret;
	snprintf(what, sizeof(what), "%s", err);
	return veer_fail_at(err, errlen, NULL, 0, 0, "etcd %s: %s",
			    c->endpoints[c->preferred], what);
}

int etcd_range(struct etcd_client *c, const char *key, bool prefix,
	       int64_t at_revision, struct etcd_kvs *out, char *err,
	       size_t errlen)
{
	struct reply r;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = call(c, "/v3/kv/range",
		   etcd_json_range_request(key, prefix, at_revision), &r, err,
		   errlen);
	if (!ret)
		ret = with_endpoint(c,
				    etcd_json_parse_range(r.body ?: "", r.len,
							  out, err, errlen),
				    err, errlen);
	free(r.body);
	return ret;
}

int etcd_range_newest(struct etcd_client *c, const char *prefix, int64_t *total,
		      int64_t *newest, int64_t *revision, char *err,
		      size_t errlen)
{
	struct etcd_kvs kvs;
	struct reply r;
	int ret;

	ret = call(c, "/v3/kv/range", etcd_json_newest_request(prefix), &r, err,
		   errlen);
	if (!ret)
		ret = with_endpoint(c,
				    etcd_json_parse_range(r.body ?: "", r.len,
							  &kvs, err, errlen),
				    err, errlen);
	free(r.body);
	if (ret)
		return ret;
	*total = kvs.total;
	*newest = kvs.count ? kvs.kvs[0].mod_revision : 0;
	*revision = kvs.revision;
	etcd_kvs_free(&kvs);
	return 0;
}

int etcd_txn(struct etcd_client *c, const struct etcd_compare *compares,
	     size_t ncompares, const struct etcd_op *ops, size_t nops,
	     bool *succeeded, int64_t *revision, char *err, size_t errlen)
{
	struct reply r;
	int ret;

	*succeeded = false;
	ret = call(c, "/v3/kv/txn",
		   etcd_json_txn_request(compares, ncompares, ops, nops), &r,
		   err, errlen);
	if (!ret)
		ret = with_endpoint(c,
				    etcd_json_parse_txn(r.body ?: "", r.len,
							succeeded, revision,
							err, errlen),
				    err, errlen);
	free(r.body);
	return ret;
}

int etcd_put(struct etcd_client *c, const char *key, const char *value,
	     size_t len, int64_t lease, int64_t *revision, char *err,
	     size_t errlen)
{
	struct json_object *req = json_object_new_object();
	struct json_object *reply;
	bool ok = req && add_bytes(req, "key", key, strlen(key)) &&
		  add_bytes(req, "value", value, len) &&
		  (!lease || add_int64(req, "lease", lease));
	struct reply r;
	int ret;

	ret = call(c, "/v3/kv/put", finish_json(req, ok), &r, err, errlen);
	if (!ret) {
		reply = parse_json(r.body ?: "", r.len);
		if (!reply)
			ret = with_endpoint(
				c,
				veer_fail_at(err, errlen, NULL, 0, 0,
					     "put: the reply is not a JSON "
					     "object"),
				err, errlen);
		else if (revision)
			*revision = header_revision(reply);
		json_object_put(reply);
	}
	free(r.body);
	return ret;
}

int etcd_lease_grant(struct etcd_client *c, int64_t ttl, int64_t *id, char *err,
		     size_t errlen)
{
	struct json_object *req = json_object_new_object(), *reply;
	bool ok = req && add_int64(req, "TTL", ttl);
	struct reply r;
	int ret;

	ret = call(c, "/v3/lease/grant", finish_json(req, ok), &r, err, errlen);
	if (!ret) {
		reply = parse_json(r.body ?: "", r.len);
		*id = reply ? get_int64(reply, "ID") : 0;
		if (!*id)
			ret = with_endpoint(
				c,
				veer_fail_at(err, errlen, NULL, 0, 0,
					     "lease grant: no lease id in "
					     "the reply"),
				err, errlen);
		json_object_put(reply);
	}
	free(r.body);
	return ret;
}

int etcd_lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ttl,
			 char *err, size_t errlen)
{
	struct json_object *req = json_object_new_object(), *reply, *result;
	bool ok = req && add_int64(req, "ID", id);
	struct reply r;
	int ret;

	/* A stream in gRPC; one request in the body gets one answer. */
	ret = call(c, "/v3/lease/keepalive", finish_json(req, ok), &r, err,
		   errlen);
	if (!ret) {
		reply = parse_json(r.body ?: "", r.len);
		if (reply &&
		    json_object_object_get_ex(reply, "result", &result))
			*ttl = get_int64(result, "TTL");
		else
			ret = with_endpoint(
				c,
				veer_fail_at(err, errlen, NULL, 0, 0,
					     "lease keepalive: no result in "
					     "the reply"),
				err, errlen);
		json_object_put(reply);
	}
	free(r.body);
	return ret;
}

/* ---- watch ----------------------------------------------------------- */

struct watch {
	etcd_watch_fn fn;
	void *ctx;
	volatile sig_atomic_t *stop;
	char *line; /* the stream's bytes not yet a whole line */
	size_t len;
	int64_t next_revision; /* where a resumed watch starts */
	int64_t compact_revision;
	bool created;
	/* Why the stream was cut by us: 0 not cut, 1 stop, 2 compacted,
	 * -1 error (in err). */
	int cut;
	char *err;
	size_t errlen;
};

/* The events of one message, per revision, to the caller. */
static int deliver(struct watch *w, const struct etcd_watch_message *m)
{
	size_t i = 0, j;

	while (i < m->count) {
		struct etcd_watch_batch b = {
			.revision = m->events[i].kv.mod_revision,
			.events = &m->events[i],
		};

		for (j = i;
		     j < m->count && m->events[j].kv.mod_revision == b.revision;
		     j++)
			;
		b.count = j - i;
		i = j;
		w->next_revision = b.revision + 1;
		if (w->fn(w->ctx, &b))
			return 1;
	}
	return 0;
}

/* One line of the stream: 0 go on, else what cut says. */
static int watch_line(struct watch *w, const char *line, size_t len)
{
	struct etcd_watch_message m;
	int ret;

	if (len == 0)
		return 0;
	if (etcd_json_parse_watch(line, len, &m, w->err, w->errlen))
		return -1;
	if (m.created)
		w->created = true;
	if (m.canceled && m.compact_revision) {
		w->compact_revision = m.compact_revision;
		ret = 2;
	} else if (m.canceled) {
		ret = veer_fail_at(w->err, w->errlen, NULL, 0, 0,
				   "watch: canceled by etcd: %s",
				   m.cancel_reason[0] ? m.cancel_reason
						      : "no reason given");
	} else {
		ret = deliver(w, &m);
	}
	etcd_watch_message_free(&m);
	return ret;
}

static size_t watch_data(char *data, size_t size, size_t n, void *ctx)
{
	struct watch *w = ctx;
	size_t len = size * n, start = 0, i;
	char *grown;

	if (w->len + len > ETCD_REPLY_MAX_BYTES) {
		w->cut = veer_fail_at(w->err, w->errlen, NULL, 0, 0,
				      "watch: a message larger than the "
				      "limit");
		return 0;
	}
	grown = realloc(w->line, w->len + len + 1);
	if (!grown) {
		w->cut = veer_fail_at(w->err, w->errlen, NULL, 0, 0,
				      "out of memory");
		return 0;
	}
	w->line = grown;
	memcpy(w->line + w->len, data, len);
	w->len += len;
	/* Newline-separated JSON objects, one per WatchResponse. */
	for (i = 0; i < w->len; i++) {
		if (w->line[i] != '\n')
			continue;
		w->line[i] = '\0';
		w->cut = watch_line(w, w->line + start, i - start);
		start = i + 1;
		if (w->cut)
			return 0;
	}
	memmove(w->line, w->line + start, w->len - start);
	w->len -= start;
	return len;
}

/* libcurl asks this now and then: a set *stop ends the watch. */
static int watch_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
			  curl_off_t ultotal, curl_off_t ulnow)
{
	struct watch *w = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (w->stop && *w->stop) {
		w->cut = 1;
		return 1;
	}
	return 0;
}

/* One watch stream on one endpoint. The curl result. */
static CURLcode watch_once(struct etcd_client *c, const char *ep,
			   const char *body, struct watch *w, char *curl_err,
			   long *status)
{
	struct curl_slist *headers;
	char url[512];
	CURL *curl = curlf.easy_init();
	CURLcode rc;

	if (!curl)
		return CURLE_OUT_OF_MEMORY;
	headers = curlf.slist_append(NULL, "Content-Type: application/json");
	snprintf(url, sizeof(url), "%s/v3/watch", ep);
	curlf.easy_setopt(curl, CURLOPT_URL, url);
	curlf.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curlf.easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curlf.easy_setopt(curl, CURLOPT_WRITEFUNCTION, watch_data);
	curlf.easy_setopt(curl, CURLOPT_WRITEDATA, w);
	curlf.easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curlf.easy_setopt(curl, CURLOPT_XFERINFODATA, w);
	curlf.easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curlf.easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curlf.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			  c->connect_timeout_ms);
	curlf.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	/* A stream has no end: a member that went away is seen by TCP. */
	curlf.easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curlf.easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 5L);
	curlf.easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 2L);
	rc = curlf.easy_perform(curl);
	*status = 0;
	curlf.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	curlf.slist_free_all(headers);
	curlf.easy_cleanup(curl);
	return rc;
}

int etcd_watch(struct etcd_client *c, const char *prefix,
	       int64_t start_revision, etcd_watch_fn fn, void *ctx,
	       volatile sig_atomic_t *stop, int64_t *compact_revision,
	       char *err, size_t errlen)
{
	struct watch w = {
		.fn = fn,
		.ctx = ctx,
		.stop = stop,
		.next_revision = start_revision,
		.err = err,
		.errlen = errlen,
	};
	char curl_err[CURL_ERROR_SIZE], failures[1024] = "";
	size_t fruitless = 0, i = c->preferred;
	long status;
	char words[256];
	const char *ep = c->endpoints[i % c->count];
	int64_t from;
	char *body;
	CURLcode rc;

	*compact_revision = 0;
	/* Each member in turn; give up when a whole round saw nothing. */
	while (fruitless < c->count) {
		ep = c->endpoints[i % c->count];
		from = w.next_revision;
		body = etcd_json_watch_request(prefix, from);
		if (!body)
			return veer_fail_at(err, errlen, NULL, 0, 0,
					    "out of memory");
		w.len = 0;
		w.created = false;
		curl_err[0] = '\0';
		rc = watch_once(c, ep, body, &w, curl_err, &status);
		free(body);
		if (w.cut == 1 || w.cut == 2 || w.cut < 0)
			break;
		/* An error reply is one object, not a stream of them. */
		if (rc == CURLE_OK && status != 200 &&
		    status != HTTP_UNAVAILABLE) {
			veer_fail_at(err, errlen, NULL, 0, 0,
				     "etcd %s: /v3/watch: HTTP %ld: %s", ep,
				     status,
				     etcd_json_error_text(w.line ?: "", w.len,
							  words, sizeof(words))
					     ?: "no error message");
			free(w.line);
			return -1;
		}
		if (rc == CURLE_OK || unreachable(rc)) {
			/* The stream ended: resume, on the next member when
			 * this one gave nothing. */
			note_failure(failures, sizeof(failures), ep,
				     rc == CURLE_OK ? "the stream ended"
				     : curl_err[0]  ? curl_err
						    : curlf.easy_strerror(rc));
			/* A stream that was set up served: a member that
			 * went away later is no reason to give up. */
			if (w.created)
				fruitless = 0;
			else
				fruitless++;
			i++;
			usleep(ETCD_WATCH_RESUME_MS * 1000); /* no busy loop */
			continue;
		}
		free(w.line);
		return veer_fail_at(
			err, errlen, NULL, 0, 0, "etcd %s: /v3/watch: %s", ep,
			curl_err[0] ? curl_err : curlf.easy_strerror(rc));
	}
	free(w.line);
	if (w.cut < 0) {
		char what[512];

		snprintf(what, sizeof(what), "%s", err);
		return veer_fail_at(err, errlen, NULL, 0, 0, "etcd %s: %s", ep,
				    what);
	}
	if (w.cut == 2) {
		*compact_revision = w.compact_revision;
		return 1;
	}
	if (w.cut == 1)
		return 0;
	return veer_fail_at(err, errlen, NULL, 0, 0,
			    "no etcd endpoint kept the watch: %s", failures);
}
