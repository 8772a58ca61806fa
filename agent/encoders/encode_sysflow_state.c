// SPDX-License-Identifier: GPL-2.0
/* -F sysflow's per-stream tables (encode_sysflow.h). */
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "encode_sysflow.h"
#include "util.h"
#include "workload.h"

extern const cookie_io_functions_t sysflow_cookie;

static unsigned hash_pid(uint32_t pid)
{
	return (pid * 2654435761u) % SYSFLOW_BUCKETS;
}

struct sysflow_state *sysflow_state_new(const struct workload *wl,
					const char *exporter,
					const unsigned char *schema,
					size_t schema_len)
{
	cleanup_error struct sf_error *err = NULL;
	struct sysflow_state *s;

	/* loaded already when the workload was made (encoder_load) */
	if (lazy_avro_load(&err) < 0) {
		log_error("sysflow: %s", err->msg);
		return NULL;
	}
	s = xzalloc(sizeof(*s));
	if (avro_schema_from_json_length((const char *)schema, schema_len,
					 &s->schema)) {
		log_error("sysflow: the built-in schema: %s", avro_strerror());
		free(s);
		return NULL;
	}
	s->iface = avro_generic_class_from_schema(s->schema);
	avro_generic_value_new(s->iface, &s->rec);
	s->fp = fopencookie(s, "w", sysflow_cookie);
	if (!s->fp)
		abort(); /* only for want of memory, as xmalloc */
	/* unbuffered: every byte libavro writes lands in the current out */
	setvbuf(s->fp, NULL, _IONBF, 0);
	s->exporter = xstrdup(exporter ? exporter : "");
	s->container_id =
		xstrdup(wl->container_id ? wl->container_id : wl->name);
	return s;
}

static void forget_files(struct sysflow_state *s)
{
	for (unsigned i = 0; i < SYSFLOW_BUCKETS; i++) {
		while (s->files[i]) {
			struct sysflow_file *f = s->files[i];

			s->files[i] = f->next;
			free(f);
		}
	}
}

void sysflow_state_new_file(struct sysflow_state *s)
{
	forget_files(s);
	for (unsigned i = 0; i < SYSFLOW_BUCKETS; i++)
		for (struct sysflow_proc *p = s->procs[i]; p; p = p->next)
			p->written = false;
}

void sysflow_state_free(struct sysflow_state *s)
{
	struct sysflow_flow *fl;

	if (!s)
		return;
	if (s->writer)
		avro_file_writer_close(s->writer);
	fclose(s->fp);
	avro_value_decref(&s->rec);
	avro_value_iface_decref(s->iface);
	avro_schema_decref(s->schema);
	while ((fl = sysflow_flow_take_any(s)) != NULL)
		free(fl);
	for (unsigned i = 0; i < SYSFLOW_BUCKETS; i++) {
		while (s->procs[i]) {
			struct sysflow_proc *p = s->procs[i];

			s->procs[i] = p->next;
			free(p->exe);
			free(p->args);
			free(p);
		}
	}
	forget_files(s);
	for (unsigned i = 0; i < SYSFLOW_FOID_CACHE; i++)
		free(s->foids[i].path);
	free(s->exporter);
	free(s->container_id);
	free(s);
}

void sysflow_side(struct sysflow_state *s, const struct workload *wl,
		  struct sbuf *side)
{
	(void)s;
	if (!side->len)
		return;
	/* the native record without its '\n' */
	if (side->data[side->len - 1] == '\n')
		side->len--;
	if (memmem(side->data, side->len, "\"stream.missed\"", 15))
		log_warn("workload `%s`: %.*s", wl->name, (int)side->len,
			 side->data);
	else
		log_info("workload `%s`: %.*s", wl->name, (int)side->len,
			 side->data);
}

void sysflow_side_end(struct sysflow_state *s, struct sbuf *side)
{
	struct sbuf tail = {0};

	if (side->len < 2 || side->data[side->len - 2] != '}')
		return;
	side->len -= 2;
	sbuf_printf(&tail,
		    ",\"sysflow_records\":%llu,\"sysflow_unmapped\":%llu,"
		    "\"sysflow_errors\":%llu,\"sysflow_flows_uncounted\":%llu,"
		    "\"sysflow_uring_fixed_ops\":%llu,"
		    "\"sysflow_uring_fixed_bytes\":%llu}\n",
		    (unsigned long long)s->records,
		    (unsigned long long)s->unmapped,
		    (unsigned long long)s->errors,
		    (unsigned long long)s->uncounted,
		    (unsigned long long)s->fixed_ops,
		    (unsigned long long)s->fixed_bytes);
	sbuf_put(side, tail.data, tail.len);
	sbuf_free(&tail);
}

struct sysflow_proc *sysflow_proc_find(struct sysflow_state *s, uint32_t pid)
{
	for (struct sysflow_proc *p = s->procs[hash_pid(pid)]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static struct sysflow_proc *proc_new(struct sysflow_state *s, uint32_t pid,
				     uint64_t ts)
{
	struct sysflow_proc *p = xzalloc(sizeof(*p));
	unsigned h = hash_pid(pid);

	p->pid = pid;
	p->oid.create_ts = (int64_t)ts;
	p->oid.hpid = pid;
	p->next = s->procs[h];
	s->procs[h] = p;
	return p;
}

struct sysflow_proc *sysflow_proc_get(struct sysflow_state *s, uint32_t pid,
				      uint64_t ts, const struct decode_event *v)
{
	struct sysflow_proc *p = sysflow_proc_find(s, pid), *pp;

	if (p)
		return p;
	p = proc_new(s, pid, ts);
	p->uid = v->uid;
	p->gid = v->gid;
	p->exe = xstrndup(v->comm.s, v->comm.len);
	p->args = xstrdup("");
	pp = sysflow_proc_find(s, v->ppid);
	if (pp) {
		p->has_parent = true;
		p->poid = pp->oid;
	}
	if (!s->had_root) {
		s->had_root = true;
		p->entry = true;
	}
	return p;
}

struct sysflow_proc *sysflow_proc_child(struct sysflow_state *s,
					struct sysflow_proc *p, uint32_t pid,
					uint64_t ts)
{
	struct sysflow_proc *c;

	sysflow_proc_drop(s, pid); /* a reused pid is a new process */
	c = proc_new(s, pid, ts);
	c->has_parent = true;
	c->poid = p->oid;
	c->uid = p->uid;
	c->gid = p->gid;
	c->exe = xstrdup(p->exe);
	c->args = xstrdup(p->args);
	return c;
}

void sysflow_proc_exec(struct sysflow_proc *p, const struct decode_event *v)
{
	struct sbuf a = {0};
	uint32_t pos = 0;
	const char *arg;
	size_t n;
	bool first = true;

	if (v->has & DECODE_HAS_PATH) {
		free(p->exe);
		p->exe = xstrndup(v->path.s, v->path.fault ? 0 : v->path.len);
	}
	/* exeArgs: the arguments after argv[0], separated by spaces */
	while ((v->has & DECODE_HAS_ARGV) &&
	       decode_argv_next(v, &pos, &arg, &n)) {
		if (first) {
			first = false;
			continue;
		}
		if (a.len)
			sbuf_putc(&a, ' ');
		if (n)
			sbuf_put(&a, arg, n);
	}
	sbuf_putc(&a, 0);
	free(p->args);
	p->args = xstrdup(a.data);
	sbuf_free(&a);
	p->uid = v->uid;
	p->gid = v->gid;
}

void sysflow_proc_drop(struct sysflow_state *s, uint32_t pid)
{
	struct sysflow_proc **pp = &s->procs[hash_pid(pid)];

	for (; *pp; pp = &(*pp)->next) {
		struct sysflow_proc *p = *pp;

		if (p->pid != pid)
			continue;
		*pp = p->next;
		free(p->exe);
		free(p->args);
		free(p);
		return;
	}
}

static unsigned hash_flow(uint32_t pid, int32_t fd)
{
	return (pid * 2654435761u ^ (uint32_t)fd * 40503u) % SYSFLOW_BUCKETS;
}

struct sysflow_flow *sysflow_flow_add(struct sysflow_state *s, uint32_t pid,
				      int32_t fd, enum sysflow_flow_kind kind)
{
	struct sysflow_flow *fl = sysflow_flow_take(s, pid, fd);
	unsigned h = hash_flow(pid, fd);

	free(fl);
	fl = xzalloc(sizeof(*fl));
	fl->pid = pid;
	fl->fd = fd;
	fl->kind = kind;
	fl->next = s->flows[h];
	s->flows[h] = fl;
	return fl;
}

struct sysflow_flow *sysflow_flow_find(struct sysflow_state *s, uint32_t pid,
				       int32_t fd)
{
	for (struct sysflow_flow *f = s->flows[hash_flow(pid, fd)]; f;
	     f = f->next)
		if (f->pid == pid && f->fd == fd)
			return f;
	return NULL;
}

struct sysflow_flow *sysflow_flow_take(struct sysflow_state *s, uint32_t pid,
				       int32_t fd)
{
	struct sysflow_flow **pp = &s->flows[hash_flow(pid, fd)];

	for (; *pp; pp = &(*pp)->next) {
		struct sysflow_flow *f = *pp;

		if (f->pid == pid && f->fd == fd) {
			*pp = f->next;
			return f;
		}
	}
	return NULL;
}

struct sysflow_flow *sysflow_flow_take_pid(struct sysflow_state *s,
					   uint32_t pid)
{
	for (unsigned i = 0; i < SYSFLOW_BUCKETS; i++) {
		for (struct sysflow_flow **pp = &s->flows[i]; *pp;
		     pp = &(*pp)->next) {
			struct sysflow_flow *f = *pp;

			if (f->pid == pid) {
				*pp = f->next;
				return f;
			}
		}
	}
	return NULL;
}

struct sysflow_flow *sysflow_flow_take_any(struct sysflow_state *s)
{
	for (unsigned i = 0; i < SYSFLOW_BUCKETS; i++) {
		struct sysflow_flow *f = s->flows[i];

		if (f) {
			s->flows[i] = f->next;
			return f;
		}
	}
	return NULL;
}

void sysflow_foid(struct sysflow_state *s, const char *path, size_t n,
		  uint8_t foid[SYSFLOW_FOID_LEN])
{
	size_t cl = strlen(s->container_id);
	uint64_t h = 0xcbf29ce484222325ull;
	struct sysflow_foid_slot *c;
	unsigned char *buf;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)path[i]) * 0x100000001b3ull;
	c = &s->foids[h % SYSFLOW_FOID_CACHE];
	if (c->path && c->hash == h && c->len == n &&
	    memcmp(c->path, path, n) == 0) {
		memcpy(foid, c->foid, SYSFLOW_FOID_LEN);
		return;
	}
	buf = xmalloc(n + cl + 1);
	memcpy(buf, path, n);
	memcpy(buf + n, s->container_id, cl);
	SHA1(buf, n + cl, foid);
	free(buf);
	free(c->path);
	c->path = xstrndup(path, n);
	c->len = n;
	c->hash = h;
	memcpy(c->foid, foid, SYSFLOW_FOID_LEN);
}

bool sysflow_file_seen(struct sysflow_state *s, const uint8_t *foid)
{
	unsigned h;
	struct sysflow_file *f;

	memcpy(&h, foid, sizeof(h));
	h %= SYSFLOW_BUCKETS;
	for (f = s->files[h]; f; f = f->next)
		if (memcmp(f->foid, foid, SYSFLOW_FOID_LEN) == 0)
			return true;
	f = xzalloc(sizeof(*f));
	memcpy(f->foid, foid, SYSFLOW_FOID_LEN);
	f->next = s->files[h];
	s->files[h] = f;
	return false;
}
