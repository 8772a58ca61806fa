// SPDX-License-Identifier: GPL-2.0
/*
 * -F sysflow: SysFlow's Avro object container file (sf-apis 0.6.1,
 * avro/avsc/SysFlow.avsc, SysFlow spec version 5), written by libavro.
 *
 * The stream is lifted into SysFlow's objects: a header (SFHeader) first,
 * the entities (Container, Process, File) each written before the first
 * record that references it, ProcessEvents (clone, exec, exit, setuid),
 * FileEvents (mkdir, rmdir, link, symlink, unlink, rename), FileFlows
 * (open until close(2), the process exits or execs over an O_CLOEXEC fd,
 * or the stream ends; split every --flow-interval) and NetworkFlows
 * (connect, accept; ended the same way), with the read and write counts
 * the kernel keeps per flow (bpf/flow.bpf.h).  The state that
 * takes (processes, open flows, files written) is per stream, in
 * struct sysflow_state (encode_sysflow.h), reached through wl->enc_state.
 *
 * libavro's file writer writes into a stdio stream of our own
 * (fopencookie) whose bytes land in the sbuf the agent hands us; a block
 * is closed (written with its sync marker) at every flush of the stream
 * (encoder_ops.flush), so a file cut short reads up to its last batch.
 * The mapping, and where the stream records go: docs/formats.md.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "encode_sysflow.h"
#include "json.h"
#include "util.h"
#include "workload.h"

#include "sysflow_avsc.h" /* SysFlow_avsc[], from data/sysflow */

/* sf-apis py3/classes/sysflow/opflags.py */
enum {
	OP_CLONE = 1 << 0,
	OP_EXEC = 1 << 1,
	OP_EXIT = 1 << 2,
	OP_SETUID = 1 << 3,
	OP_ACCEPT = 1 << 5,
	OP_CONNECT = 1 << 6,
	OP_OPEN = 1 << 7,
	OP_READ_RECV = 1 << 8,
	OP_WRITE_SEND = 1 << 9,
	OP_CLOSE = 1 << 10,
	OP_MKDIR = 1 << 15,
	OP_RMDIR = 1 << 16,
	OP_LINK = 1 << 17,
	OP_UNLINK = 1 << 18,
	OP_SYMLINK = 1 << 19,
	OP_RENAME = 1 << 20,
};

/* the branches of SysFlow.rec, in the schema's order */
enum {
	BR_HEADER,
	BR_CONTAINER,
	BR_PROCESS,
	BR_FILE,
	BR_PROCESS_EVENT,
	BR_NETWORK_FLOW,
	BR_FILE_FLOW,
	BR_FILE_EVENT,
};
enum { ST_CREATED, ST_MODIFIED };
/* ContainerType symbols */
enum { CT_CUSTOM = 5, CT_CRI = 6, CT_CONTAINERD = 7, CT_CRIO = 8 };
#define SYSFLOW_VERSION 5
#define SYSFLOW_BLOCK	(256 * 1024)

/* ---- the stdio stream libavro writes into ---- */

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	struct sysflow_state *s = c;

	if (s->out)
		sbuf_put(s->out, buf, n);
	return (ssize_t)n;
}

/* ---- setting fields ---- */

/*
 * A field of record r by name.  Looking a name up hashes it; the names
 * here are literals, so (record type, literal's address) -> index is
 * remembered in a small direct-mapped cache and the lookup is by index.
 */
struct field_slot {
	const void *iface;
	const char *name;
	size_t index;
};

static avro_value_t field(avro_value_t *r, const char *name)
{
	static __thread struct field_slot cache[512];
	uintptr_t k = (uintptr_t)r->iface * 31 ^ (uintptr_t)name;
	struct field_slot *c = &cache[(k ^ k >> 9) % 512];
	avro_value_t f;
	size_t index;

	if (c->iface == r->iface && c->name == name &&
	    avro_value_get_by_index(r, c->index, &f, NULL) == 0)
		return f;
	if (avro_value_get_by_name(r, name, &f, &index))
		abort(); /* the schema is ours: a missing field is a bug */
	c->iface = r->iface;
	c->name = name;
	c->index = index;
	return f;
}

static void set_long(avro_value_t *r, const char *name, int64_t v)
{
	avro_value_t f = field(r, name);

	avro_value_set_long(&f, v);
}

static void set_int(avro_value_t *r, const char *name, int32_t v)
{
	avro_value_t f = field(r, name);

	avro_value_set_int(&f, v);
}

static void set_strn(avro_value_t *r, const char *name, const char *s, size_t n)
{
	avro_value_t f = field(r, name);
	char buf[4096];

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s ? s : "", s ? n : 0);
	buf[s ? n : 0] = 0;
	avro_value_set_string(&f, buf);
}

static void set_str(avro_value_t *r, const char *name, const char *s)
{
	set_strn(r, name, s, s ? strlen(s) : 0);
}

/* a ["null", T] union: NULL s is null */
static void set_opt_str(avro_value_t *r, const char *name, const char *s)
{
	avro_value_t f = field(r, name), b;

	if (!s) {
		avro_value_set_branch(&f, 0, &b);
		avro_value_set_null(&b);
		return;
	}
	avro_value_set_branch(&f, 1, &b);
	avro_value_set_string(&b, s);
}

static void set_oid(avro_value_t *r, const char *name,
		    const struct sysflow_oid *oid)
{
	avro_value_t f = field(r, name);

	set_long(&f, "createTS", oid->create_ts);
	set_long(&f, "hpid", oid->hpid);
}

static void set_foid(avro_value_t *r, const char *name, const uint8_t *foid)
{
	avro_value_t f = field(r, name);

	avro_value_set_fixed(&f, (void *)foid, SYSFLOW_FOID_LEN);
}

/* Starts a record of branch br; *r is its value. */
static void begin(struct sysflow_state *s, int br, avro_value_t *r)
{
	avro_value_t u;

	avro_value_reset(&s->rec);
	avro_value_get_by_index(&s->rec, 0, &u, NULL);
	avro_value_set_branch(&u, br, r);
}

static void emit(struct sysflow_state *s)
{
	if (avro_file_writer_append_value(s->writer, &s->rec)) {
		s->errors++;
		if (s->errors == 1)
			log_warn("sysflow: a record could not be written: %s",
				 avro_strerror());
		return;
	}
	s->records++;
}

/* ---- entities ---- */

static void write_process(struct sysflow_state *s, struct sysflow_proc *p,
			  int state, uint64_t ts)
{
	avro_value_t r, f, b;

	begin(s, BR_PROCESS, &r);
	f = field(&r, "state");
	avro_value_set_enum(&f, state);
	set_oid(&r, "oid", &p->oid);
	f = field(&r, "poid");
	if (p->has_parent) {
		avro_value_set_branch(&f, 1, &b);
		set_long(&b, "createTS", p->poid.create_ts);
		set_long(&b, "hpid", p->poid.hpid);
	} else {
		avro_value_set_branch(&f, 0, &b);
		avro_value_set_null(&b);
	}
	set_long(&r, "ts", (int64_t)ts);
	set_str(&r, "exe", p->exe);
	set_str(&r, "exeArgs", p->args);
	set_int(&r, "uid", (int32_t)p->uid);
	set_str(&r, "userName", "");
	set_int(&r, "gid", (int32_t)p->gid);
	set_str(&r, "groupName", "");
	f = field(&r, "tty");
	avro_value_set_boolean(&f, 0);
	set_opt_str(&r, "containerId", s->container_id);
	f = field(&r, "entry");
	avro_value_set_boolean(&f, p->entry);
	set_str(&r, "cwd", "");
	emit(s);
	p->written = true;
}

/* p's Process in this file, its parents' before it (a new file after a
 * rotation writes again those still alive) */
static void ensure_process(struct sysflow_state *s, struct sysflow_proc *p,
			   uint64_t ts, int depth)
{
	struct sysflow_proc *pp;

	if (p->written)
		return;
	pp = p->has_parent ? sysflow_proc_find(s, (uint32_t)p->poid.hpid)
			   : NULL;
	if (pp && pp->oid.create_ts == p->poid.create_ts && depth < 64)
		ensure_process(s, pp, ts, depth + 1);
	write_process(s, p, ST_CREATED, ts);
}

/* The process of v, written first when this file has not got it yet. */
static struct sysflow_proc *proc_of(struct sysflow_state *s,
				    const struct decode_event *v, uint64_t ts)
{
	struct sysflow_proc *p = sysflow_proc_get(s, v->pid, ts, v);

	ensure_process(s, p, ts, 0);
	return p;
}

static void write_file(struct sysflow_state *s, const uint8_t *foid,
		       const char *path, size_t n, uint64_t ts)
{
	avro_value_t r, f;

	begin(s, BR_FILE, &r);
	f = field(&r, "state");
	avro_value_set_enum(&f, ST_CREATED);
	set_foid(&r, "oid", foid);
	set_long(&r, "ts", (int64_t)ts);
	/* restype: sf-collector's resource type char; 'f' a file, 'd' a
	 * directory are what we know from the event */
	set_int(&r, "restype", 'f');
	set_strn(&r, "path", path, n);
	set_opt_str(&r, "containerId", s->container_id);
	emit(s);
}

/* The FOID of a path, with its File entity written first. */
static void file_oid(struct sysflow_state *s, const struct decode_str *p,
		     uint64_t ts, uint8_t foid[SYSFLOW_FOID_LEN])
{
	const char *path = p->fault ? "" : p->s;
	size_t n = p->fault ? 0 : p->len;

	sysflow_foid(s, path, n, foid);
	if (sysflow_file_seen(s, foid))
		return;
	write_file(s, foid, path, n, ts);
}

/* ---- events ---- */

static void process_event(struct sysflow_state *s, struct sysflow_proc *p,
			  const struct decode_event *v, uint64_t ts, int op,
			  int32_t ret, bool args)
{
	avro_value_t r, arr, e;
	uint32_t pos = 0;
	const char *a;
	size_t n;

	begin(s, BR_PROCESS_EVENT, &r);
	set_oid(&r, "procOID", &p->oid);
	set_long(&r, "ts", (int64_t)ts);
	set_long(&r, "tid", v->tid);
	set_int(&r, "opFlags", op);
	arr = field(&r, "args");
	while (args && decode_argv_next(v, &pos, &a, &n)) {
		char buf[4096];

		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, a, n);
		buf[n] = 0;
		avro_value_append(&arr, &e, NULL);
		avro_value_set_string(&e, buf);
	}
	set_int(&r, "ret", ret);
	emit(s);
}

/*
 * The kernel's counters of fl now (take: and forgets them), into *c; when
 * there are none (not counted, or the entry is a later flow's on the same
 * fd, begun before its open record reached us) what was written already,
 * so that nothing is counted twice.
 */
static void flow_counts(struct sysflow_state *s, struct sysflow_flow *fl,
			bool take, struct sf_flow_counts *c)
{
	const struct workload *wl = s->wl;

	if (!wl || !wl->flow_get ||
	    wl->flow_get(wl, fl->pid, fl->fd, take, c) < 0 ||
	    c->start < fl->ts_boot || c->rops < fl->sent.rops ||
	    c->wops < fl->sent.wops || c->rbytes < fl->sent.rbytes ||
	    c->wbytes < fl->sent.wbytes)
		*c = fl->sent;
}

/* fl from its start (or last split) to end_ts, with the reads and writes
 * since: the counters c less those already written */
static void write_flow(struct sysflow_state *s, struct sysflow_flow *fl,
		       uint64_t end_ts, bool closed,
		       const struct sf_flow_counts *c)
{
	struct sysflow_proc *p = sysflow_proc_find(s, fl->pid);
	struct sf_flow_counts d = {0};
	avro_value_t r;
	int op = fl->op;

	if (!p)
		return; /* (never: a flow's process is kept while it has one) */
	ensure_process(s, p, fl->ts, 0);
	if (fl->kind == SYSFLOW_FLOW_FILE && !sysflow_file_seen(s, fl->foid))
		write_file(s, fl->foid, fl->path, strlen(fl->path), fl->ts);
	begin(s, fl->kind == SYSFLOW_FLOW_FILE ? BR_FILE_FLOW : BR_NETWORK_FLOW,
	      &r);
	set_oid(&r, "procOID", &p->oid);
	set_long(&r, "ts", (int64_t)fl->ts);
	set_long(&r, "tid", fl->tid);
	if (c) {
		d.rops = c->rops - fl->sent.rops;
		d.wops = c->wops - fl->sent.wops;
		d.rbytes = c->rbytes - fl->sent.rbytes;
		d.wbytes = c->wbytes - fl->sent.wbytes;
		fl->sent = *c;
	}
	if (d.rops)
		op |= OP_READ_RECV;
	if (d.wops)
		op |= OP_WRITE_SEND;
	set_int(&r, "opFlags", closed ? op | OP_CLOSE : op);
	set_long(&r, "endTs", (int64_t)end_ts);
	set_int(&r, "fd", fl->fd);
	if (fl->kind == SYSFLOW_FLOW_FILE) {
		set_int(&r, "openFlags", (int32_t)fl->open_flags);
		set_foid(&r, "fileOID", fl->foid);
	} else {
		set_int(&r, "sip", (int32_t)fl->sip);
		set_int(&r, "sport", fl->sport);
		set_int(&r, "dip", (int32_t)fl->dip);
		set_int(&r, "dport", fl->dport);
		set_int(&r, "proto", fl->proto);
	}
	set_long(&r, "numRRecvOps", (int64_t)d.rops);
	set_long(&r, "numWSendOps", (int64_t)d.wops);
	set_long(&r, "numRRecvBytes", (int64_t)d.rbytes);
	set_long(&r, "numWSendBytes", (int64_t)d.wbytes);
	emit(s);
}

/* fl ends now, with the kernel's last counters (taken); freed */
static void flow_close(struct sysflow_state *s, struct sysflow_flow *fl,
		       uint64_t ts)
{
	struct sf_flow_counts c;

	if (fl->kind != SYSFLOW_FLOW_SOCK) {
		flow_counts(s, fl, true, &c);
		write_flow(s, fl, ts, true, &c);
	}
	free(fl);
}

static void flows_end(struct sysflow_state *s, uint32_t pid, uint64_t ts)
{
	struct sysflow_flow *fl;

	while ((fl = sysflow_flow_take_pid(s, pid)) != NULL)
		flow_close(s, fl, ts);
}

/* a new fd of pid on the number of a flow whose close was not seen (dup2
 * onto it, a flow not counted): it ended before.  Its counter in the
 * kernel is the new flow's by now: the old one ends with what it had. */
static void fd_reused(struct sysflow_state *s, uint32_t pid, int32_t fd,
		      uint64_t ts)
{
	struct sysflow_flow *fl = sysflow_flow_take(s, pid, fd);

	if (!fl)
		return;
	if (fl->kind != SYSFLOW_FLOW_SOCK)
		write_flow(s, fl, ts, true, NULL);
	free(fl);
}

/* exec closed pid's O_CLOEXEC files (no close(2) to see) */
static void flows_exec(struct sysflow_state *s, uint32_t pid, uint64_t ts)
{
	for (unsigned i = 0; i < SYSFLOW_BUCKETS; i++) {
		struct sysflow_flow **pp = &s->flows[i];

		while (*pp) {
			struct sysflow_flow *fl = *pp;

			if (fl->pid != pid || fl->kind != SYSFLOW_FLOW_FILE ||
			    !(fl->open_flags & O_CLOEXEC)) {
				pp = &fl->next;
				continue;
			}
			*pp = fl->next;
			flow_close(s, fl, ts);
		}
	}
}

static void ev_fork(struct sysflow_state *s, const struct decode_event *v,
		    uint64_t ts)
{
	struct sysflow_proc *p = proc_of(s, v, ts), *c;

	if (!v->thread) {
		c = sysflow_proc_child(s, p, v->child_pid, ts);
		ensure_process(s, c, ts, 0);
	}
	process_event(s, p, v, ts, OP_CLONE, (int32_t)v->child_pid, false);
}

static void ev_exec(struct sysflow_state *s, const struct decode_event *v,
		    uint64_t ts)
{
	struct sysflow_proc *p = proc_of(s, v, ts);
	bool ok = !v->has_ret || v->ret == 0;

	if (ok) {
		flows_exec(s, v->pid, ts);
		sysflow_proc_exec(p, v);
		write_process(s, p, ST_MODIFIED, ts);
	}
	process_event(s, p, v, ts, OP_EXEC, (int32_t)v->ret,
		      ok && (v->has & DECODE_HAS_ARGV));
}

static void ev_exit(struct sysflow_state *s, const struct decode_event *v,
		    uint64_t ts)
{
	struct sysflow_proc *p = proc_of(s, v, ts);

	process_event(s, p, v, ts, OP_EXIT,
		      v->exit_sig ? -v->exit_sig : v->exit_code, false);
	if (v->thread)
		return;
	flows_end(s, v->pid, ts);
	sysflow_proc_drop(s, v->pid);
}

static void ev_open(struct sysflow_state *s, const struct decode_event *v,
		    uint64_t ts)
{
	struct sysflow_flow *fl;
	uint8_t foid[SYSFLOW_FOID_LEN];
	size_t n;

	proc_of(s, v, ts);
	if (!v->has_ret || v->ret < 0 || !(v->has & DECODE_HAS_PATH)) {
		s->unmapped++; /* a failed open opens no flow: counted */
		return;
	}
	fd_reused(s, v->pid, (int32_t)v->ret, ts);
	file_oid(s, &v->path, ts, foid);
	fl = sysflow_flow_add(s, v->pid, (int32_t)v->ret, SYSFLOW_FLOW_FILE);
	fl->ts = ts;
	fl->ts_boot = v->ts_boot;
	fl->tid = v->tid;
	fl->op = OP_OPEN;
	fl->open_flags = (uint32_t)v->flags;
	memcpy(fl->foid, foid, sizeof(foid));
	n = v->path.fault ? 0 : v->path.len;
	if (n >= sizeof(fl->path))
		n = sizeof(fl->path) - 1;
	memcpy(fl->path, v->path.s, n);
	fl->path[n] = 0;
}

static void ev_file(struct sysflow_state *s, const struct decode_event *v,
		    uint64_t ts, int op)
{
	struct sysflow_proc *p = proc_of(s, v, ts);
	uint8_t foid[SYSFLOW_FOID_LEN], nfoid[SYSFLOW_FOID_LEN];
	bool two = v->has & DECODE_HAS_PATH2;
	avro_value_t r, f, b;

	if (!(v->has & DECODE_HAS_PATH))
		return;
	file_oid(s, &v->path, ts, foid);
	if (two)
		file_oid(s, &v->path2, ts, nfoid);
	begin(s, BR_FILE_EVENT, &r);
	set_oid(&r, "procOID", &p->oid);
	set_long(&r, "ts", (int64_t)ts);
	set_long(&r, "tid", v->tid);
	set_int(&r, "opFlags", op);
	set_foid(&r, "fileOID", foid);
	set_int(&r, "ret", v->has_ret ? (int32_t)v->ret : 0);
	f = field(&r, "newFileOID");
	if (two) {
		avro_value_set_branch(&f, 1, &b);
		avro_value_set_fixed(&b, nfoid, sizeof(nfoid));
	} else {
		avro_value_set_branch(&f, 0, &b);
		avro_value_set_null(&b);
	}
	emit(s);
}

/* IPv4 as sf-collector stores it: the address's bytes (network order) read
 * as a host int; IPv6: v4-mapped as IPv4, any other 0 (the schema's ints
 * have no room for it, docs/formats.md) */
static uint32_t ip_of(unsigned family, const char *str, const uint8_t *raw)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (family == AF_INET) {
		if (raw)
			memcpy(&a4.s_addr, raw, 4);
		else if (inet_pton(AF_INET, str, &a4) != 1)
			return 0;
		return a4.s_addr;
	}
	if (family != AF_INET6)
		return 0;
	if (raw)
		memcpy(&a6, raw, sizeof(a6));
	else if (inet_pton(AF_INET6, str, &a6) != 1)
		return 0;
	if (!IN6_IS_ADDR_V4MAPPED(&a6))
		return 0;
	memcpy(&a4.s_addr, &a6.s6_addr[12], 4);
	return a4.s_addr;
}

static void ev_net(struct sysflow_state *s, const struct decode_event *v,
		   uint64_t ts)
{
	struct sysflow_flow *fl, *sock;
	int32_t fd;
	int proto = 0;

	proc_of(s, v, ts);
	if (!v->has_ret || v->ret < 0) {
		/* a non-blocking connect in progress still makes a flow */
		if (!(v->type == SF_EV_CONNECT && v->has_ret &&
		      v->ret == -115 /* EINPROGRESS */)) {
			s->unmapped++; /* no flow of a failure: counted */
			return;
		}
	}
	fd = v->type == SF_EV_SOCKET || v->type == SF_EV_ACCEPT
		     ? (int32_t)v->ret
		     : v->net_fd;
	if (v->type == SF_EV_SOCKET) {
		fd_reused(s, v->pid, fd, ts);
		fl = sysflow_flow_add(s, v->pid, fd, SYSFLOW_FLOW_SOCK);
		fl->proto = v->socktype == SOCK_STREAM	? IPPROTO_TCP
			    : v->socktype == SOCK_DGRAM ? IPPROTO_UDP
							: v->protocol;
		return;
	}
	if (v->type == SF_EV_BIND) {
		sock = sysflow_flow_find(s, v->pid, fd);
		if (sock && sock->kind == SYSFLOW_FLOW_SOCK) {
			sock->sip =
				(v->has & DECODE_HAS_INET)
					? ip_of(v->family, v->addr_str, NULL)
					: 0;
			sock->sport = v->port;
		}
		return;
	}
	if (v->type != SF_EV_CONNECT && v->type != SF_EV_ACCEPT) {
		s->unmapped++;
		return;
	}
	if (!(v->has & DECODE_HAS_INET)) {
		s->unmapped++; /* AF_UNIX and others: no NetworkFlow */
		return;
	}
	sock = sysflow_flow_find(s, v->pid,
				 v->type == SF_EV_ACCEPT ? v->listen_fd : fd);
	if (sock && sock->kind == SYSFLOW_FLOW_SOCK)
		proto = sock->proto;
	else if (v->type == SF_EV_ACCEPT)
		proto = IPPROTO_TCP;
	fl = sysflow_flow_add(s, v->pid, fd, SYSFLOW_FLOW_NET);
	fl->ts = ts;
	fl->ts_boot = v->ts_boot;
	fl->tid = v->tid;
	fl->proto = proto;
	/* SysFlow's s* is the end that connected, d* the one that accepted,
	 * on both sides (sysdig's tuple, which sf-collector writes): connect
	 * has the socket's own end in s*, accept the peer's */
	if (v->type == SF_EV_CONNECT) {
		fl->op = OP_CONNECT;
		fl->sip = ip_of(v->family, NULL, v->laddr);
		fl->sport = v->lport;
		fl->dip = ip_of(v->family, v->addr_str, NULL);
		fl->dport = v->port;
	} else {
		fl->op = OP_ACCEPT;
		fl->sip = ip_of(v->family, v->addr_str, NULL);
		fl->sport = v->port;
		fl->dip = ip_of(v->family, NULL, v->laddr);
		fl->dport = v->lport;
		if (!v->lport && sock && sock->kind == SYSFLOW_FLOW_SOCK) {
			fl->dip = sock->sip;
			fl->dport = sock->sport;
		}
	}
}

static void restart(struct sysflow_state *s, struct sbuf *o,
		    const struct workload *wl);

static void sysflow_event(struct sbuf *o, const struct workload *wl,
			  uint64_t seq, uint64_t ts,
			  const struct decode_event *v)
{
	struct sysflow_state *s = wl->enc_state;

	(void)seq;
	if (!s || !s->writer)
		return;
	restart(s, o, wl);
	s->out = o;
	s->wl = wl;
	if (ts > s->last_ts)
		s->last_ts = ts;
	switch (v->type) {
	case SF_EV_FORK:
		ev_fork(s, v, ts);
		break;
	case SF_EV_EXEC:
		ev_exec(s, v, ts);
		break;
	case SF_EV_EXIT:
		ev_exit(s, v, ts);
		break;
	case SF_EV_SETUID:
		process_event(s, proc_of(s, v, ts), v, ts, OP_SETUID,
			      v->has_ret ? (int32_t)v->ret : 0, false);
		break;
	case SF_EV_OPEN:
		ev_open(s, v, ts);
		break;
	case SF_EV_MKDIR:
		ev_file(s, v, ts, OP_MKDIR);
		break;
	case SF_EV_RMDIR:
		ev_file(s, v, ts, OP_RMDIR);
		break;
	case SF_EV_LINK:
		ev_file(s, v, ts, OP_LINK);
		break;
	case SF_EV_SYMLINK:
		ev_file(s, v, ts, OP_SYMLINK);
		break;
	case SF_EV_UNLINK:
		ev_file(s, v, ts, OP_UNLINK);
		break;
	case SF_EV_RENAME:
		ev_file(s, v, ts, OP_RENAME);
		break;
	case SF_EV_SOCKET:
	case SF_EV_BIND:
	case SF_EV_CONNECT:
	case SF_EV_ACCEPT:
		ev_net(s, v, ts);
		break;
	default:
		/* no SysFlow record for it: counted in stream.end's
		 * sysflow_unmapped (docs/formats.md) */
		s->unmapped++;
		break;
	}
	s->out = NULL;
}

/* ---- the file: header, container, stream records ---- */

static void container_entity(struct sysflow_state *s, const struct workload *wl)
{
	cleanup_yajl_val yajl_val meta = NULL;
	yajl_val ann = NULL;
	const char *image = NULL, *imageid = "", *ctype;
	int type = CT_CUSTOM;
	avro_value_t r, f;

	if (wl->meta_json)
		meta = json_parse(wl->meta_json, "meta", NULL);
	ann = meta ? json_get(meta, "annotations") : NULL;
	if (ann && YAJL_IS_OBJECT(ann)) {
		image = json_get_str(ann, "io.kubernetes.cri.image-name");
		if (!image)
			image = json_get_str(
				ann, "org.opencontainers.image.ref.name");
		if (json_get_str(ann, "org.opencontainers.image.digest"))
			imageid = json_get_str(
				ann, "org.opencontainers.image.digest");
		ctype = json_get_str(ann, "io.kubernetes.cri.container-type");
		if (ctype)
			type = CT_CRI;
		else if (json_get_str(ann, "io.kubernetes.cri-o.ContainerType"))
			type = CT_CRIO;
		else if (json_get_str(ann, "io.containerd.image.name"))
			type = CT_CONTAINERD;
	}
	if (!image && meta)
		image = json_get_str(meta, "root");
	begin(s, BR_CONTAINER, &r);
	set_str(&r, "id", s->container_id);
	set_str(&r, "name", wl->name);
	set_str(&r, "image", image ? image : "");
	set_str(&r, "imageid", imageid);
	f = field(&r, "type");
	avro_value_set_enum(&f, type);
	f = field(&r, "privileged");
	avro_value_set_boolean(&f, 0);
	set_opt_str(&r, "podId", NULL);
	emit(s);
}

/* A new Avro file in o: the container file header, SFHeader, Container. */
int sysflow_file_begin(struct sysflow_state *s, struct sbuf *o,
		       const struct workload *wl)
{
	avro_value_t r;

	s->out = o;
	if (avro_file_writer_create_with_codec_fp(s->fp, "sysflow", 0,
						  s->schema, &s->writer, "null",
						  SYSFLOW_BLOCK)) {
		log_warn("sysflow: cannot start the Avro file: %s",
			 avro_strerror());
		s->writer = NULL;
		s->out = NULL;
		return -1;
	}
	begin(s, BR_HEADER, &r);
	set_long(&r, "version", SYSFLOW_VERSION);
	set_str(&r, "exporter", s->exporter);
	set_str(&r, "ip", "NA");
	set_str(&r, "filename", wl->name);
	emit(s);
	if (wl->meta_json)
		container_entity(s, wl);
	avro_file_writer_flush(s->writer);
	s->out = NULL;
	return 0;
}

/* After a rotation: the next file begins with its header and entities. */
static void restart(struct sysflow_state *s, struct sbuf *o,
		    const struct workload *wl)
{
	if (!s->restart)
		return;
	s->restart = false;
	s->out = NULL; /* (nothing is pending: the last batch was flushed) */
	avro_file_writer_close(s->writer);
	s->writer = NULL;
	sysflow_state_new_file(s);
	sysflow_file_begin(s, o, wl);
}

/*
 * A flow open for --flow-interval (SysFlow's 30 s by default) is written
 * with the reads and writes since its start or last split, and goes on
 * from there; looked for at most once a second of the stream's event time
 * (or once an interval, if shorter).
 */
#define SYSFLOW_FLOW_SPLIT_NS (30ull * 1000000000ull)

static void split_long_flows(struct sysflow_state *s)
{
	uint64_t split = s->split_ns ? s->split_ns : SYSFLOW_FLOW_SPLIT_NS;

	if (s->last_ts <
	    s->last_split + (split < 1000000000ull ? split : 1000000000ull))
		return;
	s->last_split = s->last_ts;
	for (unsigned i = 0; i < SYSFLOW_BUCKETS; i++)
		for (struct sysflow_flow *fl = s->flows[i]; fl; fl = fl->next)
			if (fl->kind != SYSFLOW_FLOW_SOCK &&
			    s->last_ts >= fl->ts + split) {
				struct sf_flow_counts c;

				flow_counts(s, fl, false, &c);
				write_flow(s, fl, s->last_ts, false, &c);
				fl->ts = s->last_ts;
			}
}

static void sysflow_new_file(struct workload *wl)
{
	struct sysflow_state *s = wl->enc_state;

	if (s && s->writer)
		s->restart = true;
}

static void sysflow_flush(struct sbuf *o, const struct workload *wl)
{
	struct sysflow_state *s = wl->enc_state;

	if (!s || !s->writer)
		return;
	s->out = o;
	s->wl = wl;
	restart(s, o, wl);
	split_long_flows(s);
	avro_file_writer_flush(s->writer);
	s->out = NULL;
}

static void sysflow_stream_start(struct sbuf *o, const struct workload *wl,
				 uint64_t seq, uint64_t ts,
				 const struct stream_info *si)
{
	struct sysflow_state *s = wl->enc_state;
	struct sbuf side = {0};

	if (!s) {
		s = sysflow_state_new(wl, si->exporter, SysFlow_avsc,
				      SysFlow_avsc_len);
		((struct workload *)wl)->enc_state = s;
	}
	if (s)
		s->split_ns = (uint64_t)si->flow_interval * 1000000000ull;
	/* the native record, for the side channel (docs/formats.md) */
	encode_json_ops.stream_start(&side, wl, seq, ts, si);
	sysflow_side(s, wl, &side);
	sbuf_free(&side);
	if (s && !s->writer)
		sysflow_file_begin(s, o, wl);
}

static void sysflow_stream_missed(struct sbuf *o, const struct workload *wl,
				  uint64_t seq, uint64_t ts, uint64_t count,
				  const char *reason)
{
	struct sysflow_state *s = wl->enc_state;
	struct sbuf side = {0};

	(void)o;
	encode_json_ops.stream_missed(&side, wl, seq, ts, count, reason);
	sysflow_side(s, wl, &side);
	sbuf_free(&side);
}

static void sysflow_stream_end(struct sbuf *o, const struct workload *wl,
			       uint64_t seq, uint64_t ts,
			       const struct stream_totals *t)
{
	struct sysflow_state *s = wl->enc_state;
	struct sbuf side = {0};

	if (s && s->writer) {
		struct sysflow_flow *fl;

		restart(s, o, wl);
		s->out = o;
		/* the flows still open end with the stream */
		s->wl = wl;
		while ((fl = sysflow_flow_take_any(s)) != NULL)
			flow_close(s, fl, ts);
		s->uncounted = t->flows_uncounted;
		s->fixed_ops = t->uring_fixed_ops;
		s->fixed_bytes = t->uring_fixed_bytes;
		avro_file_writer_flush(s->writer);
		s->out = NULL;
	}
	encode_json_ops.stream_end(&side, wl, seq, ts, t);
	if (s)
		sysflow_side_end(s, &side);
	sysflow_side(s, wl, &side);
	sbuf_free(&side);
}

/* an Avro long (zigzag varint) at *p, or false past end */
static bool batch_long(const unsigned char **p, const unsigned char *end,
		       int64_t *v)
{
	uint64_t u = 0;

	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		unsigned char c = *(*p)++;

		u |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return true;
		}
	}
	return false;
}

static bool batch_skip(const unsigned char **p, const unsigned char *end,
		       int64_t n)
{
	if (n < 0 || n > end - *p)
		return false;
	*p += n;
	return true;
}

/* The records of a batch: an optional container header (magic, metadata
 * map, sync), then whole blocks (count, size, data, sync).  What cannot be
 * parsed counts as one record, so a loss is never counted as none. */
static uint64_t sysflow_count_records(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + len;
	uint64_t n = 0;
	int64_t c, sz;

	if (len >= 4 && memcmp(p, "Obj\x01", 4) == 0) {
		p += 4;
		for (;;) {
			if (!batch_long(&p, end, &c))
				return n + 1;
			if (c == 0)
				break;
			if (c < 0 && !batch_long(&p, end, &sz))
				return n + 1;
			for (int64_t i = 0; i < (c < 0 ? -c : c); i++)
				if (!batch_long(&p, end, &sz) ||
				    !batch_skip(&p, end, sz) ||
				    !batch_long(&p, end, &sz) ||
				    !batch_skip(&p, end, sz))
					return n + 1;
		}
		if (!batch_skip(&p, end, 16))
			return n + 1;
	}
	while (p < end) {
		if (!batch_long(&p, end, &c) || !batch_long(&p, end, &sz) ||
		    c < 0 || !batch_skip(&p, end, sz) ||
		    !batch_skip(&p, end, 16))
			return n + 1;
		n += (uint64_t)c;
	}
	return n;
}

/* close(2) of a counted flow, its final counters (bpf/flow.bpf.h) */
static void sysflow_flow_end(struct sbuf *o, const struct workload *wl,
			     uint64_t ts, const struct sf_flow_rec *r)
{
	struct sysflow_state *s = wl->enc_state;
	struct sysflow_flow *fl;

	if (!s || !s->writer)
		return;
	fl = sysflow_flow_find(s, r->hdr.pid, r->fd);
	if (!fl || fl->kind == SYSFLOW_FLOW_SOCK || r->c.start < fl->ts_boot)
		return; /* a flow whose begin we did not see */
	restart(s, o, wl);
	s->out = o;
	s->wl = wl;
	if (ts > s->last_ts)
		s->last_ts = ts;
	fl = sysflow_flow_take(s, r->hdr.pid, r->fd);
	write_flow(s, fl, ts, true, &r->c);
	free(fl);
	s->out = NULL;
}

static void sysflow_release(struct workload *wl)
{
	sysflow_state_free(wl->enc_state);
	wl->enc_state = NULL;
}

static void body_none(struct sbuf *o, const struct decode_event *v)
{
	(void)o;
	(void)v;
}

#define body_exec      body_none
#define body_fork      body_none
#define body_exit      body_none
#define body_cred      body_none
#define body_open      body_none
#define body_path_at   body_none
#define body_two_paths body_none
#define body_chmod     body_none
#define body_chown     body_none
#define body_truncate  body_none
#define body_net       body_none
#define body_kill      body_none
#define body_cap       body_none
#define body_sec       body_none
#define body_mmap      body_none

static const encoder_body_fn bodies[SF_EV_MAX] = {
	DECODE_EVENTS(DECODE_WRITER_ENTRY)};

const struct encoder_ops encode_sysflow_ops = {
	.event = sysflow_event,
	.stream_start = sysflow_stream_start,
	.stream_missed = sysflow_stream_missed,
	.stream_end = sysflow_stream_end,
	.flush = sysflow_flush,
	.new_file = sysflow_new_file,
	.count_records = sysflow_count_records,
	.flow_end = sysflow_flow_end,
	.release = sysflow_release,
	.load = lazy_avro_load,
	.bodies = bodies,
};

/* the fopencookie functions, for encode_sysflow_state.c */
const cookie_io_functions_t sysflow_cookie = {.write = cookie_write};
