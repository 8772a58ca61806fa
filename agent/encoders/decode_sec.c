// SPDX-License-Identifier: GPL-2.0
/*
 * Decoding of the security event types and the exec/fork additions into
 * the view's extra fields (decode_sec.h).  The one place that knows which
 * slot of struct sf_sec_event (bpf/sfagent.h) is what for each type; the
 * BPF side fills them in bpf/sec.bpf.h, bpf/uring.bpf.h, bpf/process.bpf.h.
 */
#include "decode_sec.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "decode.h"
#include "decode_path.h"
#include "sbuf.h"
#include "sfagent.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* newer than some build hosts' <sys/syscall.h> (same number everywhere) */
#define NR_setxattrat	 463
#define NR_removexattrat 466

struct name_bit {
	uint64_t bit;
	const char *name;
};

struct name_val {
	int64_t val;
	const char *name;
};

/* ---- the extra fields list --------------------------------------------- */

static struct decode_kv *kv_add(struct decode_event *v, const char *key,
				enum decode_kv_kind kind)
{
	struct decode_extra *x = &v->x;
	struct decode_kv *kv;

	if (x->n >= DECODE_KV_MAX)
		return NULL; /* a bug in this file: the table says at most */
	kv = &x->kv[x->n++];
	memset(kv, 0, sizeof(*kv));
	kv->key = key;
	kv->kind = kind;
	return kv;
}

static void kv_int(struct decode_event *v, const char *key, int64_t i)
{
	struct decode_kv *kv = kv_add(v, key, DECODE_KV_INT);

	if (kv)
		kv->i = i;
}

static void kv_hex(struct decode_event *v, const char *key, uint64_t i)
{
	struct decode_kv *kv = kv_add(v, key, DECODE_KV_HEX);

	if (kv)
		kv->i = i;
}

static void kv_bool(struct decode_event *v, const char *key, bool b)
{
	struct decode_kv *kv = kv_add(v, key, DECODE_KV_BOOL);

	if (kv)
		kv->i = b;
}

static void kv_strn(struct decode_event *v, const char *key, const char *s,
		    size_t len, bool truncated)
{
	struct decode_kv *kv = kv_add(v, key, DECODE_KV_STR);

	if (kv) {
		kv->s = s;
		kv->len = len;
		kv->truncated = truncated;
	}
}

static void kv_cstr(struct decode_event *v, const char *key, const char *s)
{
	kv_strn(v, key, s, s ? strlen(s) : 0, false);
}

/* A string of the record (cap bytes at most); NULL when it faulted. */
static void kv_rec(struct decode_event *v, const char *key, const char *s,
		   size_t cap, bool truncated, bool fault)
{
	if (fault)
		kv_strn(v, key, NULL, 0, false);
	else
		kv_strn(v, key, s, strnlen(s, cap), truncated);
}

/* Space in the view's buffer for a string built here; NULL when full. */
static char *x_alloc(struct decode_event *v, size_t n)
{
	struct decode_extra *x = &v->x;
	char *p;

	if (x->used + n > sizeof(x->buf))
		return NULL;
	p = x->buf + x->used;
	x->used += n;
	return p;
}

/* "A|B|0x40": the named bits, the rest in hex; "0" for none */
static void kv_bits(struct decode_event *v, const char *key, uint64_t val,
		    const struct name_bit *t, size_t n)
{
	char tmp[512];
	size_t len = 0;
	uint64_t rest = val;
	char *p;

	tmp[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if ((val & t[i].bit) != t[i].bit || !t[i].bit)
			continue;
		len += snprintf(tmp + len, sizeof(tmp) - len, "%s%s",
				len ? "|" : "", t[i].name);
		rest &= ~t[i].bit;
		if (len >= sizeof(tmp))
			break;
	}
	if (len < sizeof(tmp) && (rest || !len))
		len += snprintf(tmp + len, sizeof(tmp) - len,
				len ? "|0x%llx" : "0x%llx",
				(unsigned long long)rest);
	if (len >= sizeof(tmp))
		len = sizeof(tmp) - 1;
	if (val == 0)
		len = snprintf(tmp, sizeof(tmp), "0");
	p = x_alloc(v, len + 1);
	if (!p) {
		kv_hex(v, key, val);
		return;
	}
	memcpy(p, tmp, len + 1);
	kv_strn(v, key, p, len, false);
}

static const char *val_name(int64_t val, const struct name_val *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].val == val)
			return t[i].name;
	return NULL;
}

/* a name, or the number when it has none */
static void kv_enum(struct decode_event *v, const char *key, int64_t val,
		    const struct name_val *t, size_t n)
{
	const char *name = val_name(val, t, n);

	if (name)
		kv_cstr(v, key, name);
	else
		kv_int(v, key, val);
}

/* A kernel path (struct sf_kpath: leaf first) joined root first. */
static const char *kv_kpath(struct decode_event *v, const char *key,
			    const struct sf_kpath *kp)
{
	const char *comp[64];
	size_t ncomp = 0, off = 0, len = 0;
	bool cut = !(kp->flags & SF_KP_ROOT);
	char *p;

	if (kp->flags & SF_KP_NONE) {
		kv_strn(v, key, NULL, 0, false);
		return NULL;
	}
	while (ncomp < kp->n && ncomp < N(comp) && off < sizeof(kp->buf)) {
		size_t l = strnlen(kp->buf + off, sizeof(kp->buf) - off);

		if (off + l >= sizeof(kp->buf))
			break; /* no NUL: cut */
		comp[ncomp++] = kp->buf + off;
		len += l + 1;
		off += l + 1;
	}
	if (ncomp < kp->n)
		cut = true;
	p = x_alloc(v, len + 2);
	if (!p) {
		kv_strn(v, key, NULL, 0, false);
		return NULL;
	}
	len = 0;
	for (size_t i = ncomp; i-- > 0;) {
		size_t l = strlen(comp[i]);

		p[len++] = '/';
		memcpy(p + len, comp[i], l);
		len += l;
	}
	if (!len)
		p[len++] = '/';
	p[len] = 0;
	kv_strn(v, key, p, len, cut);
	return p;
}

static void kv_addr(struct decode_event *v, unsigned family,
		    const uint8_t *addr, uint16_t port)
{
	char *p = x_alloc(v, INET6_ADDRSTRLEN);

	kv_cstr(v, "family", decode_family_name(family));
	if (!p || !inet_ntop(family, addr, p, INET6_ADDRSTRLEN))
		return;
	kv_cstr(v, "addr", p);
	kv_int(v, "port", port);
}

/* ---- names ----------------------------------------------------------- */

static const struct name_bit clone_ns_bits[] = {
	{0x00020000, "CLONE_NEWNS"},   {0x02000000, "CLONE_NEWCGROUP"},
	{0x04000000, "CLONE_NEWUTS"},  {0x08000000, "CLONE_NEWIPC"},
	{0x10000000, "CLONE_NEWUSER"}, {0x20000000, "CLONE_NEWPID"},
	{0x40000000, "CLONE_NEWNET"},  {0x00000080, "CLONE_NEWTIME"},
	{0x00000200, "CLONE_FS"},      {0x00000400, "CLONE_FILES"},
	{0x00000800, "CLONE_SIGHAND"}, {0x00010000, "CLONE_THREAD"},
	{0x00040000, "CLONE_SYSVSEM"},
};

static const struct name_val ns_types[] = {
	{0, "any"},
	{0x00020000, "CLONE_NEWNS"},
	{0x02000000, "CLONE_NEWCGROUP"},
	{0x04000000, "CLONE_NEWUTS"},
	{0x08000000, "CLONE_NEWIPC"},
	{0x10000000, "CLONE_NEWUSER"},
	{0x20000000, "CLONE_NEWPID"},
	{0x40000000, "CLONE_NEWNET"},
	{0x00000080, "CLONE_NEWTIME"},
};

static const struct name_val ptrace_reqs[] = {
	{0, "PTRACE_TRACEME"},
	{1, "PTRACE_PEEKTEXT"},
	{2, "PTRACE_PEEKDATA"},
	{3, "PTRACE_PEEKUSER"},
	{4, "PTRACE_POKETEXT"},
	{5, "PTRACE_POKEDATA"},
	{6, "PTRACE_POKEUSER"},
	{7, "PTRACE_CONT"},
	{8, "PTRACE_KILL"},
	{9, "PTRACE_SINGLESTEP"},
	{12, "PTRACE_GETREGS"},
	{13, "PTRACE_SETREGS"},
	{14, "PTRACE_GETFPREGS"},
	{15, "PTRACE_SETFPREGS"},
	{16, "PTRACE_ATTACH"},
	{17, "PTRACE_DETACH"},
	{18, "PTRACE_GETFPXREGS"},
	{19, "PTRACE_SETFPXREGS"},
	{24, "PTRACE_SYSCALL"},
	{30, "PTRACE_ARCH_PRCTL"},
	{0x4200, "PTRACE_SETOPTIONS"},
	{0x4201, "PTRACE_GETEVENTMSG"},
	{0x4202, "PTRACE_GETSIGINFO"},
	{0x4203, "PTRACE_SETSIGINFO"},
	{0x4204, "PTRACE_GETREGSET"},
	{0x4205, "PTRACE_SETREGSET"},
	{0x4206, "PTRACE_SEIZE"},
	{0x4207, "PTRACE_INTERRUPT"},
	{0x4208, "PTRACE_LISTEN"},
	{0x4209, "PTRACE_PEEKSIGINFO"},
	{0x420e, "PTRACE_GET_SYSCALL_INFO"},
};

static const struct name_bit mount_bits[] = {
	{1, "MS_RDONLY"},
	{2, "MS_NOSUID"},
	{4, "MS_NODEV"},
	{8, "MS_NOEXEC"},
	{16, "MS_SYNCHRONOUS"},
	{32, "MS_REMOUNT"},
	{64, "MS_MANDLOCK"},
	{128, "MS_DIRSYNC"},
	{256, "MS_NOSYMFOLLOW"},
	{1024, "MS_NOATIME"},
	{2048, "MS_NODIRATIME"},
	{4096, "MS_BIND"},
	{8192, "MS_MOVE"},
	{16384, "MS_REC"},
	{32768, "MS_SILENT"},
	{1 << 16, "MS_POSIXACL"},
	{1 << 17, "MS_UNBINDABLE"},
	{1 << 18, "MS_PRIVATE"},
	{1 << 19, "MS_SLAVE"},
	{1 << 20, "MS_SHARED"},
	{1 << 21, "MS_RELATIME"},
	{1 << 22, "MS_KERNMOUNT"},
	{1 << 23, "MS_I_VERSION"},
	{1 << 24, "MS_STRICTATIME"},
	{1 << 25, "MS_LAZYTIME"},
};

static const struct name_bit umount_bits[] = {
	{1, "MNT_FORCE"},
	{2, "MNT_DETACH"},
	{4, "MNT_EXPIRE"},
	{8, "UMOUNT_NOFOLLOW"},
};

static const struct name_bit mount_attr_bits[] = {
	{0x1, "MOUNT_ATTR_RDONLY"},
	{0x2, "MOUNT_ATTR_NOSUID"},
	{0x4, "MOUNT_ATTR_NODEV"},
	{0x8, "MOUNT_ATTR_NOEXEC"},
	{0x10, "MOUNT_ATTR_NOATIME"},
	{0x20, "MOUNT_ATTR_STRICTATIME"},
	{0x80, "MOUNT_ATTR_NODIRATIME"},
	{0x100000, "MOUNT_ATTR_IDMAP"},
	{0x200000, "MOUNT_ATTR_NOSYMFOLLOW"},
};

static const struct name_bit move_mount_bits[] = {
	{0x1, "MOVE_MOUNT_F_SYMLINKS"},	   {0x2, "MOVE_MOUNT_F_AUTOMOUNTS"},
	{0x4, "MOVE_MOUNT_F_EMPTY_PATH"},  {0x10, "MOVE_MOUNT_T_SYMLINKS"},
	{0x20, "MOVE_MOUNT_T_AUTOMOUNTS"}, {0x40, "MOVE_MOUNT_T_EMPTY_PATH"},
	{0x100, "MOVE_MOUNT_SET_GROUP"},   {0x200, "MOVE_MOUNT_BENEATH"},
};

static const struct name_bit open_tree_bits[] = {
	{1, "OPEN_TREE_CLONE"},		{0x80000, "OPEN_TREE_CLOEXEC"},
	{0x100, "AT_SYMLINK_NOFOLLOW"}, {0x800, "AT_NO_AUTOMOUNT"},
	{0x1000, "AT_EMPTY_PATH"},	{0x8000, "AT_RECURSIVE"},
};

static const struct name_val bpf_cmds[] = {
	{0, "BPF_MAP_CREATE"},
	{1, "BPF_MAP_LOOKUP_ELEM"},
	{2, "BPF_MAP_UPDATE_ELEM"},
	{3, "BPF_MAP_DELETE_ELEM"},
	{4, "BPF_MAP_GET_NEXT_KEY"},
	{5, "BPF_PROG_LOAD"},
	{6, "BPF_OBJ_PIN"},
	{7, "BPF_OBJ_GET"},
	{8, "BPF_PROG_ATTACH"},
	{9, "BPF_PROG_DETACH"},
	{10, "BPF_PROG_TEST_RUN"},
	{11, "BPF_PROG_GET_NEXT_ID"},
	{12, "BPF_MAP_GET_NEXT_ID"},
	{13, "BPF_PROG_GET_FD_BY_ID"},
	{14, "BPF_MAP_GET_FD_BY_ID"},
	{15, "BPF_OBJ_GET_INFO_BY_FD"},
	{16, "BPF_PROG_QUERY"},
	{17, "BPF_RAW_TRACEPOINT_OPEN"},
	{18, "BPF_BTF_LOAD"},
	{19, "BPF_BTF_GET_FD_BY_ID"},
	{20, "BPF_TASK_FD_QUERY"},
	{21, "BPF_MAP_LOOKUP_AND_DELETE_ELEM"},
	{22, "BPF_MAP_FREEZE"},
	{23, "BPF_BTF_GET_NEXT_ID"},
	{24, "BPF_MAP_LOOKUP_BATCH"},
	{25, "BPF_MAP_LOOKUP_AND_DELETE_BATCH"},
	{26, "BPF_MAP_UPDATE_BATCH"},
	{27, "BPF_MAP_DELETE_BATCH"},
	{28, "BPF_LINK_CREATE"},
	{29, "BPF_LINK_UPDATE"},
	{30, "BPF_LINK_GET_FD_BY_ID"},
	{31, "BPF_LINK_GET_NEXT_ID"},
	{32, "BPF_ENABLE_STATS"},
	{33, "BPF_ITER_CREATE"},
	{34, "BPF_LINK_DETACH"},
	{35, "BPF_PROG_BIND_MAP"},
	{36, "BPF_TOKEN_CREATE"},
};

static const struct name_val bpf_prog_types[] = {
	{0, "BPF_PROG_TYPE_UNSPEC"},
	{1, "BPF_PROG_TYPE_SOCKET_FILTER"},
	{2, "BPF_PROG_TYPE_KPROBE"},
	{3, "BPF_PROG_TYPE_SCHED_CLS"},
	{4, "BPF_PROG_TYPE_SCHED_ACT"},
	{5, "BPF_PROG_TYPE_TRACEPOINT"},
	{6, "BPF_PROG_TYPE_XDP"},
	{7, "BPF_PROG_TYPE_PERF_EVENT"},
	{8, "BPF_PROG_TYPE_CGROUP_SKB"},
	{9, "BPF_PROG_TYPE_CGROUP_SOCK"},
	{10, "BPF_PROG_TYPE_LWT_IN"},
	{11, "BPF_PROG_TYPE_LWT_OUT"},
	{12, "BPF_PROG_TYPE_LWT_XMIT"},
	{13, "BPF_PROG_TYPE_SOCK_OPS"},
	{14, "BPF_PROG_TYPE_SK_SKB"},
	{15, "BPF_PROG_TYPE_CGROUP_DEVICE"},
	{16, "BPF_PROG_TYPE_SK_MSG"},
	{17, "BPF_PROG_TYPE_RAW_TRACEPOINT"},
	{18, "BPF_PROG_TYPE_CGROUP_SOCK_ADDR"},
	{19, "BPF_PROG_TYPE_LWT_SEG6LOCAL"},
	{20, "BPF_PROG_TYPE_LIRC_MODE2"},
	{21, "BPF_PROG_TYPE_SK_REUSEPORT"},
	{22, "BPF_PROG_TYPE_FLOW_DISSECTOR"},
	{23, "BPF_PROG_TYPE_CGROUP_SYSCTL"},
	{24, "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE"},
	{25, "BPF_PROG_TYPE_CGROUP_SOCKOPT"},
	{26, "BPF_PROG_TYPE_TRACING"},
	{27, "BPF_PROG_TYPE_STRUCT_OPS"},
	{28, "BPF_PROG_TYPE_EXT"},
	{29, "BPF_PROG_TYPE_LSM"},
	{30, "BPF_PROG_TYPE_SK_LOOKUP"},
	{31, "BPF_PROG_TYPE_SYSCALL"},
	{32, "BPF_PROG_TYPE_NETFILTER"},
};

static const struct name_val perf_types[] = {
	{0, "PERF_TYPE_HARDWARE"},   {1, "PERF_TYPE_SOFTWARE"},
	{2, "PERF_TYPE_TRACEPOINT"}, {3, "PERF_TYPE_HW_CACHE"},
	{4, "PERF_TYPE_RAW"},	     {5, "PERF_TYPE_BREAKPOINT"},
};

static const struct name_bit prot_bits[] = {
	{1, "PROT_READ"},
	{2, "PROT_WRITE"},
	{4, "PROT_EXEC"},
	{0x01000000, "PROT_GROWSDOWN"},
	{0x02000000, "PROT_GROWSUP"},
};

static const struct name_bit map_bits[] = {
	{0x01, "MAP_SHARED"},	    {0x02, "MAP_PRIVATE"},
	{0x10, "MAP_FIXED"},	    {0x20, "MAP_ANONYMOUS"},
	{0x100, "MAP_GROWSDOWN"},   {0x800, "MAP_DENYWRITE"},
	{0x1000, "MAP_EXECUTABLE"}, {0x2000, "MAP_LOCKED"},
	{0x4000, "MAP_NORESERVE"},  {0x8000, "MAP_POPULATE"},
	{0x10000, "MAP_NONBLOCK"},  {0x20000, "MAP_STACK"},
	{0x40000, "MAP_HUGETLB"},   {0x100000, "MAP_FIXED_NOREPLACE"},
};

static const struct name_bit memfd_bits[] = {
	{1, "MFD_CLOEXEC"},	{2, "MFD_ALLOW_SEALING"}, {4, "MFD_HUGETLB"},
	{8, "MFD_NOEXEC_SEAL"}, {0x10, "MFD_EXEC"},
};

static const struct name_bit xattr_bits[] = {
	{1, "XATTR_CREATE"},
	{2, "XATTR_REPLACE"},
};

static const struct name_bit uring_setup_bits[] = {
	{1 << 0, "IORING_SETUP_IOPOLL"},
	{1 << 1, "IORING_SETUP_SQPOLL"},
	{1 << 2, "IORING_SETUP_SQ_AFF"},
	{1 << 3, "IORING_SETUP_CQSIZE"},
	{1 << 4, "IORING_SETUP_CLAMP"},
	{1 << 5, "IORING_SETUP_ATTACH_WQ"},
	{1 << 6, "IORING_SETUP_R_DISABLED"},
	{1 << 7, "IORING_SETUP_SUBMIT_ALL"},
	{1 << 8, "IORING_SETUP_COOP_TASKRUN"},
	{1 << 9, "IORING_SETUP_TASKRUN_FLAG"},
	{1 << 10, "IORING_SETUP_SQE128"},
	{1 << 11, "IORING_SETUP_CQE32"},
	{1 << 12, "IORING_SETUP_SINGLE_ISSUER"},
	{1 << 13, "IORING_SETUP_DEFER_TASKRUN"},
	{1 << 14, "IORING_SETUP_NO_MMAP"},
	{1 << 15, "IORING_SETUP_REGISTERED_FD_ONLY"},
	{1 << 16, "IORING_SETUP_NO_SQARRAY"},
};

static const struct name_val uring_reg_ops[] = {
	{0, "IORING_REGISTER_BUFFERS"},
	{1, "IORING_UNREGISTER_BUFFERS"},
	{2, "IORING_REGISTER_FILES"},
	{3, "IORING_UNREGISTER_FILES"},
	{4, "IORING_REGISTER_EVENTFD"},
	{5, "IORING_UNREGISTER_EVENTFD"},
	{6, "IORING_REGISTER_FILES_UPDATE"},
	{7, "IORING_REGISTER_EVENTFD_ASYNC"},
	{8, "IORING_REGISTER_PROBE"},
	{9, "IORING_REGISTER_PERSONALITY"},
	{10, "IORING_UNREGISTER_PERSONALITY"},
	{11, "IORING_REGISTER_RESTRICTIONS"},
	{12, "IORING_REGISTER_ENABLE_RINGS"},
	{13, "IORING_REGISTER_FILES2"},
	{14, "IORING_REGISTER_FILES_UPDATE2"},
	{15, "IORING_REGISTER_BUFFERS2"},
	{16, "IORING_REGISTER_BUFFERS_UPDATE"},
	{17, "IORING_REGISTER_IOWQ_AFF"},
	{18, "IORING_UNREGISTER_IOWQ_AFF"},
	{19, "IORING_REGISTER_IOWQ_MAX_WORKERS"},
	{20, "IORING_REGISTER_RING_FDS"},
	{21, "IORING_UNREGISTER_RING_FDS"},
	{22, "IORING_REGISTER_PBUF_RING"},
	{23, "IORING_UNREGISTER_PBUF_RING"},
	{24, "IORING_REGISTER_SYNC_CANCEL"},
	{25, "IORING_REGISTER_FILE_ALLOC_RANGE"},
	{26, "IORING_REGISTER_PBUF_STATUS"},
	{27, "IORING_REGISTER_NAPI"},
	{28, "IORING_UNREGISTER_NAPI"},
	{29, "IORING_REGISTER_CLOCK"},
	{30, "IORING_REGISTER_CLONE_BUFFERS"},
};

static const char *const uring_ops[] = {
	"IORING_OP_NOP",
	"IORING_OP_READV",
	"IORING_OP_WRITEV",
	"IORING_OP_FSYNC",
	"IORING_OP_READ_FIXED",
	"IORING_OP_WRITE_FIXED",
	"IORING_OP_POLL_ADD",
	"IORING_OP_POLL_REMOVE",
	"IORING_OP_SYNC_FILE_RANGE",
	"IORING_OP_SENDMSG",
	"IORING_OP_RECVMSG",
	"IORING_OP_TIMEOUT",
	"IORING_OP_TIMEOUT_REMOVE",
	"IORING_OP_ACCEPT",
	"IORING_OP_ASYNC_CANCEL",
	"IORING_OP_LINK_TIMEOUT",
	"IORING_OP_CONNECT",
	"IORING_OP_FALLOCATE",
	"IORING_OP_OPENAT",
	"IORING_OP_CLOSE",
	"IORING_OP_FILES_UPDATE",
	"IORING_OP_STATX",
	"IORING_OP_READ",
	"IORING_OP_WRITE",
	"IORING_OP_FADVISE",
	"IORING_OP_MADVISE",
	"IORING_OP_SEND",
	"IORING_OP_RECV",
	"IORING_OP_OPENAT2",
	"IORING_OP_EPOLL_CTL",
	"IORING_OP_SPLICE",
	"IORING_OP_PROVIDE_BUFFERS",
	"IORING_OP_REMOVE_BUFFERS",
	"IORING_OP_TEE",
	"IORING_OP_SHUTDOWN",
	"IORING_OP_RENAMEAT",
	"IORING_OP_UNLINKAT",
	"IORING_OP_MKDIRAT",
	"IORING_OP_SYMLINKAT",
	"IORING_OP_LINKAT",
	"IORING_OP_MSG_RING",
	"IORING_OP_FSETXATTR",
	"IORING_OP_SETXATTR",
	"IORING_OP_FGETXATTR",
	"IORING_OP_GETXATTR",
	"IORING_OP_SOCKET",
	"IORING_OP_URING_CMD",
	"IORING_OP_SEND_ZC",
	"IORING_OP_SENDMSG_ZC",
	"IORING_OP_READ_MULTISHOT",
	"IORING_OP_WAITID",
	"IORING_OP_FUTEX_WAIT",
	"IORING_OP_FUTEX_WAKE",
	"IORING_OP_FUTEX_WAITV",
	"IORING_OP_FIXED_FD_INSTALL",
	"IORING_OP_FTRUNCATE",
	"IORING_OP_BIND",
	"IORING_OP_LISTEN",
	"IORING_OP_RECV_ZC",
	"IORING_OP_EPOLL_WAIT",
	"IORING_OP_READV_FIXED",
	"IORING_OP_WRITEV_FIXED",
	"IORING_OP_PIPE",
};

const char *decode_uring_op_name(unsigned op)
{
	return op < N(uring_ops) ? uring_ops[op] : NULL;
}

static const struct name_val keyctl_ops[] = {
	{0, "KEYCTL_GET_KEYRING_ID"},
	{1, "KEYCTL_JOIN_SESSION_KEYRING"},
	{2, "KEYCTL_UPDATE"},
	{3, "KEYCTL_REVOKE"},
	{4, "KEYCTL_CHOWN"},
	{5, "KEYCTL_SETPERM"},
	{6, "KEYCTL_DESCRIBE"},
	{7, "KEYCTL_CLEAR"},
	{8, "KEYCTL_LINK"},
	{9, "KEYCTL_UNLINK"},
	{10, "KEYCTL_SEARCH"},
	{11, "KEYCTL_READ"},
	{12, "KEYCTL_INSTANTIATE"},
	{13, "KEYCTL_NEGATE"},
	{14, "KEYCTL_SET_REQKEY_KEYRING"},
	{15, "KEYCTL_SET_TIMEOUT"},
	{16, "KEYCTL_ASSUME_AUTHORITY"},
	{17, "KEYCTL_GET_SECURITY"},
	{18, "KEYCTL_SESSION_TO_PARENT"},
	{19, "KEYCTL_REJECT"},
	{20, "KEYCTL_INSTANTIATE_IOV"},
	{21, "KEYCTL_INVALIDATE"},
	{22, "KEYCTL_GET_PERSISTENT"},
	{23, "KEYCTL_DH_COMPUTE"},
	{24, "KEYCTL_PKEY_QUERY"},
	{25, "KEYCTL_PKEY_ENCRYPT"},
	{26, "KEYCTL_PKEY_DECRYPT"},
	{27, "KEYCTL_PKEY_SIGN"},
	{28, "KEYCTL_PKEY_VERIFY"},
	{29, "KEYCTL_RESTRICT_KEYRING"},
	{30, "KEYCTL_MOVE"},
	{31, "KEYCTL_CAPABILITIES"},
	{32, "KEYCTL_WATCH_KEY"},
};

/* ---- per type ---------------------------------------------------------- */

#define S0(e)                                                     \
	(e)->str[0], SF_STR_MAX, (e)->hdr.flags &SF_F_PATH_TRUNC, \
		(e)->hdr.flags &SF_F_PATH_FAULT
#define S1(e)                                                      \
	(e)->str[1], SF_STR_MAX, (e)->hdr.flags &SF_F_PATH2_TRUNC, \
		(e)->hdr.flags &SF_F_PATH2_FAULT
#define S2(e)                                                     \
	(e)->str[2], SF_STR_MAX, (e)->hdr.flags &SF_F_STR3_TRUNC, \
		(e)->hdr.flags &SF_F_STR3_FAULT

/* dirfd keys are integers (AT_FDCWD is -100), as in the file events */
static void dirfd_kv(struct decode_event *v, const char *key, int64_t fd)
{
	kv_int(v, key, (int)fd);
}

static void caps_kv(struct decode_event *v, const char *key, uint64_t set)
{
	struct name_bit bits[64];
	size_t n = 0;

	for (int c = 0; c < 64; c++) {
		const char *name = decode_cap_name(c);

		if (name && strncmp(name, "CAP_", 4) == 0)
			bits[n++] = (struct name_bit){1ull << c, name};
	}
	kv_bits(v, key, set, bits, n);
}

static void dec_ptrace(struct decode_event *v, const struct sf_sec_event *e)
{
	int64_t req = e->arg[0];

	v->x.sub = req;
	kv_enum(v, "request", req, ptrace_reqs, N(ptrace_reqs));
	if (req != 0) /* TRACEME has no target */
		kv_int(v, "target_pid", (int)e->arg[1]);
	if (req >= 1 && req <= 6)
		kv_hex(v, "addr", e->arg[2]);
	if (req >= 4 && req <= 6)
		kv_hex(v, "data", e->arg[3]);
}

static void dec_vm(struct decode_event *v, const struct sf_sec_event *e)
{
	kv_int(v, "target_pid", (int)e->arg[0]);
	kv_int(v, "local_iovcnt", e->arg[2]);
	kv_int(v, "remote_iovcnt", e->arg[4]);
	if (e->hdr.ret >= 0)
		kv_int(v, "bytes", e->hdr.ret);
}

static void dec_mounts(struct decode_event *v, const struct sf_sec_event *e)
{
	switch (e->hdr.type) {
	case SF_EV_MOUNT:
		kv_rec(v, "source", S0(e));
		kv_rec(v, "target", S1(e));
		kv_rec(v, "fstype", S2(e));
		kv_bits(v, "flags", (uint32_t)e->arg[3], mount_bits,
			N(mount_bits));
		break;
	case SF_EV_UMOUNT:
		kv_rec(v, "target", S0(e));
		kv_bits(v, "flags", e->arg[1], umount_bits, N(umount_bits));
		break;
	case SF_EV_PIVOT_ROOT:
		kv_rec(v, "new_root", S0(e));
		kv_rec(v, "put_old", S1(e));
		break;
	case SF_EV_CHROOT:
		kv_rec(v, "path", S0(e));
		break;
	case SF_EV_FSOPEN:
		kv_rec(v, "fstype", S0(e));
		kv_hex(v, "flags", e->arg[1]);
		if (e->hdr.ret >= 0)
			kv_int(v, "fd", e->hdr.ret);
		break;
	case SF_EV_FSMOUNT:
		kv_int(v, "fs_fd", (int)e->arg[0]);
		kv_hex(v, "flags", e->arg[1]);
		kv_bits(v, "attr_flags", e->arg[2], mount_attr_bits,
			N(mount_attr_bits));
		if (e->hdr.ret >= 0)
			kv_int(v, "fd", e->hdr.ret);
		break;
	case SF_EV_MOVE_MOUNT:
		dirfd_kv(v, "from_dirfd", e->arg[0]);
		kv_rec(v, "from_path", S0(e));
		dirfd_kv(v, "to_dirfd", e->arg[2]);
		kv_rec(v, "to_path", S1(e));
		kv_bits(v, "flags", e->arg[4], move_mount_bits,
			N(move_mount_bits));
		break;
	case SF_EV_OPEN_TREE:
		dirfd_kv(v, "dirfd", e->arg[0]);
		kv_rec(v, "path", S0(e));
		kv_bits(v, "flags", e->arg[2], open_tree_bits,
			N(open_tree_bits));
		if (e->hdr.ret >= 0)
			kv_int(v, "fd", e->hdr.ret);
		break;
	}
}

static void dec_ns(struct decode_event *v, const struct sf_sec_event *e)
{
	if (e->hdr.type == SF_EV_UNSHARE) {
		kv_bits(v, "flags", e->arg[0], clone_ns_bits, N(clone_ns_bits));
		return;
	}
	kv_int(v, "fd", (int)e->arg[0]);
	kv_enum(v, "nstype", (int)e->arg[1], ns_types, N(ns_types));
	if (e->aux[0])
		kv_enum(v, "fd_nstype", e->aux[0], ns_types, N(ns_types));
}

static void dec_module(struct decode_event *v, const struct sf_sec_event *e)
{
	switch (e->hdr.syscall) {
	case 0: /* module:module_load (bpf/module.bpf.h): the parsed name */
		kv_rec(v, "name", S0(e));
		break;
	case SYS_init_module:
		kv_int(v, "len", e->arg[1]);
		kv_rec(v, "params", S2(e));
		break;
	case SYS_finit_module:
		kv_int(v, "fd", (int)e->arg[0]);
		kv_kpath(v, "path", &e->kpath);
		kv_rec(v, "params", S2(e));
		kv_hex(v, "flags", e->arg[2]);
		break;
	case SYS_delete_module:
		kv_rec(v, "name", S0(e));
		kv_hex(v, "flags", e->arg[1]);
		break;
	case SYS_kexec_load:
		kv_hex(v, "entry", e->arg[0]);
		kv_int(v, "nr_segments", e->arg[1]);
		kv_hex(v, "flags", e->arg[3]);
		break;
	case SYS_kexec_file_load:
		kv_int(v, "kernel_fd", (int)e->arg[0]);
		kv_kpath(v, "path", &e->kpath);
		kv_int(v, "initrd_fd", (int)e->arg[1]);
		kv_rec(v, "cmdline", S2(e));
		kv_hex(v, "flags", e->arg[4]);
		break;
	}
}

static void dec_bpf(struct decode_event *v, const struct sf_sec_event *e)
{
	kv_enum(v, "cmd", e->arg[0], bpf_cmds, N(bpf_cmds));
	if (e->arg[0] == 5) {
		kv_enum(v, "prog_type", e->aux[0], bpf_prog_types,
			N(bpf_prog_types));
		kv_rec(v, "prog_name", e->str[0], 16, false, false);
	} else if (e->arg[0] == 0) {
		kv_int(v, "map_type", e->aux[0]);
		kv_rec(v, "map_name", e->str[0], 16, false, false);
	}
}

static void dec_perf(struct decode_event *v, const struct sf_sec_event *e)
{
	kv_enum(v, "perf_type", e->aux[0], perf_types, N(perf_types));
	kv_hex(v, "config", e->aux[1]);
	kv_int(v, "target_pid", (int)e->arg[1]);
	kv_int(v, "cpu", (int)e->arg[2]);
	kv_int(v, "group_fd", (int)e->arg[3]);
	kv_hex(v, "flags", e->arg[4]);
}

static void dec_handle(struct decode_event *v, const struct sf_sec_event *e)
{
	kv_int(v, "mount_fd", (int)e->arg[0]);
	kv_kpath(v, "mount_path", &e->kpath);
	kv_int(v, "handle_type", (int)e->aux[0]);
	kv_hex(v, "flags", e->arg[2]);
	if (e->hdr.ret >= 0)
		kv_int(v, "fd", e->hdr.ret);
}

static void dec_xattr(struct decode_event *v, const struct sf_sec_event *e)
{
	unsigned nr = e->hdr.syscall;
	bool by_fd = nr == SYS_fsetxattr || nr == SYS_fremovexattr ||
		     (e->hdr.via == SF_VIA_IO_URING && (int)e->arg[0] >= 0);
	bool at = nr == NR_setxattrat || nr == NR_removexattrat;

	if (by_fd) {
		kv_int(v, "fd", (int)e->arg[0]);
	} else {
		if (at)
			dirfd_kv(v, "dirfd", e->arg[0]);
		kv_rec(v, "path", S0(e));
	}
	kv_rec(v, "name", S1(e));
	if (e->hdr.type != SF_EV_SETXATTR || at)
		return;
	kv_int(v, "value_len", e->arg[3]);
	kv_bits(v, "flags", e->arg[4], xattr_bits, N(xattr_bits));
	if (e->aux[2]) {
		caps_kv(v, "caps_permitted", e->aux[0]);
		kv_bool(v, "caps_effective", e->aux[1]);
	}
}

static void dec_mem(struct decode_event *v, const struct sf_sec_event *e)
{
	bool is_mmap = e->hdr.syscall == SYS_mmap;

	/* mmap's result is where the memory is */
	kv_hex(v, "addr",
	       is_mmap && e->hdr.ret >= 0 ? (uint64_t)e->hdr.ret
					  : (uint64_t)e->arg[0]);
	kv_int(v, "len", e->arg[1]);
	kv_bits(v, "prot", e->arg[2], prot_bits, N(prot_bits));
	if (!is_mmap)
		return;
	kv_bits(v, "flags", e->arg[3], map_bits, N(map_bits));
	if (!(e->arg[3] & 0x20))
		kv_int(v, "fd", (int)e->arg[4]);
}

static void dec_dup(struct decode_event *v, const struct sf_sec_event *e)
{
	unsigned nr = e->hdr.syscall;

	kv_int(v, "oldfd", (int)e->arg[0]);
	kv_int(v, "newfd",
	       nr == SYS_dup2 || nr == SYS_dup3 ? (int)e->arg[1] : e->hdr.ret);
	if (e->family) {
		kv_addr(v, e->family, e->addr, e->port);
		return;
	}
	kv_kpath(v, "source", &e->kpath);
}

static void dec_uring(struct decode_event *v, const struct sf_sec_event *e)
{
	switch (e->hdr.type) {
	case SF_EV_URING_SETUP:
		kv_int(v, "entries", e->arg[0]);
		kv_bits(v, "flags", e->aux[0], uring_setup_bits,
			N(uring_setup_bits));
		if (e->aux[0] & 4)
			kv_int(v, "sq_thread_cpu", e->aux[1]);
		if (e->hdr.ret >= 0)
			kv_int(v, "fd", e->hdr.ret);
		break;
	case SF_EV_URING_REGISTER:
		kv_int(v, "fd", (int)e->arg[0]);
		kv_enum(v, "opcode", e->arg[1], uring_reg_ops,
			N(uring_reg_ops));
		kv_int(v, "nr_args", e->arg[3]);
		break;
	}
}

static void dec_keys(struct decode_event *v, const struct sf_sec_event *e)
{
	switch (e->hdr.type) {
	case SF_EV_USERFAULTFD:
		kv_hex(v, "flags", e->arg[0]);
		if (e->hdr.ret >= 0)
			kv_int(v, "fd", e->hdr.ret);
		break;
	case SF_EV_KEY_ADD:
		kv_rec(v, "key_type", S0(e));
		kv_rec(v, "description", S1(e));
		kv_int(v, "payload_len", e->arg[3]);
		kv_int(v, "keyring", (int)e->arg[4]);
		break;
	case SF_EV_KEY_REQUEST:
		kv_rec(v, "key_type", S0(e));
		kv_rec(v, "description", S1(e));
		kv_rec(v, "callout", S2(e));
		kv_int(v, "keyring", (int)e->arg[3]);
		break;
	case SF_EV_KEY_CTL:
		kv_enum(v, "operation", e->arg[0], keyctl_ops, N(keyctl_ops));
		kv_int(v, "key", (int)e->arg[1]);
		break;
	}
}

void decode_sec(struct decode_event *v, const void *raw)
{
	const struct sf_sec_event *e = raw;

	switch (e->hdr.type) {
	case SF_EV_PTRACE:
		dec_ptrace(v, e);
		break;
	case SF_EV_VM_READ:
	case SF_EV_VM_WRITE:
		dec_vm(v, e);
		break;
	case SF_EV_UNSHARE:
	case SF_EV_SETNS:
		dec_ns(v, e);
		break;
	case SF_EV_MOUNT:
	case SF_EV_UMOUNT:
	case SF_EV_PIVOT_ROOT:
	case SF_EV_CHROOT:
	case SF_EV_FSOPEN:
	case SF_EV_FSMOUNT:
	case SF_EV_MOVE_MOUNT:
	case SF_EV_OPEN_TREE:
		dec_mounts(v, e);
		break;
	case SF_EV_MODULE_LOAD:
	case SF_EV_MODULE_DELETE:
	case SF_EV_KEXEC_LOAD:
		dec_module(v, e);
		break;
	case SF_EV_BPF:
		dec_bpf(v, e);
		break;
	case SF_EV_PERF_OPEN:
		dec_perf(v, e);
		break;
	case SF_EV_OPEN_BY_HANDLE:
		dec_handle(v, e);
		break;
	case SF_EV_SETXATTR:
	case SF_EV_REMOVEXATTR:
		dec_xattr(v, e);
		break;
	case SF_EV_MEM_EXEC:
		dec_mem(v, e);
		break;
	case SF_EV_MEMFD_CREATE:
		kv_rec(v, "name", S0(e));
		kv_bits(v, "flags", e->arg[1], memfd_bits, N(memfd_bits));
		if (e->hdr.ret >= 0)
			kv_int(v, "fd", e->hdr.ret);
		break;
	case SF_EV_DUP:
		dec_dup(v, e);
		break;
	case SF_EV_URING_SETUP:
	case SF_EV_URING_REGISTER:
		dec_uring(v, e);
		break;
	case SF_EV_URING_OP:
		break; /* the opcode is in the header part */
	case SF_EV_EXE_HASH:
	case SF_EV_FILE_HASH:
		return; /* made by the agent, fields added by agent/exehash.c */
	default:
		dec_keys(v, e);
		break;
	}
	/* the object (issue 12): its identity and resolved path */
	decode_sec_ident(v, &e->ident);
	decode_path_sec(v, raw);
}

void decode_sec_hdr(struct decode_event *v, const void *raw)
{
	const struct sf_hdr *h = raw;

	v->x.n = 0;
	v->x.nhdr = 0;
	v->x.used = 0;
	v->x.sub = h->syscall;
	if (h->via == SF_VIA_IO_URING) {
		const char *op = decode_uring_op_name(h->uring_op);

		kv_cstr(v, "via", "io_uring");
		if (op) {
			kv_cstr(v, "opcode", op);
		} else { /* newer than this agent: still a string */
			char *p = x_alloc(v, 24);

			if (p) {
				snprintf(p, 24, "IORING_OP_%u", h->uring_op);
				kv_cstr(v, "opcode", p);
			}
		}
	}
	if (h->flags & SF_F_UNRESOLVED)
		kv_bool(v, "unresolved", true);
	if (h->flags & SF_F_URING_FULL)
		kv_cstr(v, "no_result", "table_full");
	else if (h->flags & SF_F_URING_NO_CQE)
		kv_cstr(v, "no_result", "no_completion");
	if (h->suppressed)
		kv_int(v, "suppressed", h->suppressed);
	v->x.nhdr = v->x.n;
}

/* {"mem.exec": 28, "io_uring.op:IORING_OP_READ": 4, "other": 2} */
void decode_sec_exit(struct decode_event *v, const void *raw)
{
	const struct sf_exit_event *e = raw;
	size_t cap = 64 * (SF_SUPP_MAX + 1), len = 1;
	unsigned n = e->nsupp < SF_SUPP_MAX ? e->nsupp : SF_SUPP_MAX;
	struct decode_kv *kv;
	int64_t sum = e->supp_other;
	char *o;

	if (!n && !e->supp_other)
		return;
	o = x_alloc(v, cap);
	if (!o)
		return;
	o[0] = '{';
	for (unsigned i = 0; i < n; i++) {
		const struct sf_supp *s = &e->supp[i];
		const char *t = decode_type_name(s->type);
		const char *op = s->type == SF_EV_URING_OP
					 ? decode_uring_op_name(s->sub)
					 : NULL;

		len += snprintf(o + len, cap - len, "%s\"%s%s%s\":%u",
				i ? "," : "", t ? t : "unknown", op ? ":" : "",
				op ? op : "", s->count);
		sum += s->count;
	}
	if (e->supp_other)
		len += snprintf(o + len, cap - len, "%s\"other\":%u",
				n ? "," : "", e->supp_other);
	len += snprintf(o + len, cap - len, "}");
	kv = kv_add(v, "suppressed", DECODE_KV_OBJ);
	if (kv) {
		kv->s = o;
		kv->len = len < cap ? len : cap - 1;
		kv->i = sum;
	}
	/* about the process as a whole: with the header's additions */
	v->x.nhdr = v->x.n;
}

void decode_sec_exec(struct decode_event *v, const void *raw)
{
	const struct sf_exec_event *e = raw;
	const char *exe;

	if ((e->hdr.flags & SF_F_HAS_RET) && e->hdr.ret < 0)
		return; /* a failed exec: no image */
	if (e->exe.flags & SF_KP_NONE)
		return;
	exe = kv_kpath(v, "exe", &e->exe);
	/* fexecve, execveat(fd, "", AT_EMPTY_PATH): the name ("/dev/fd/3")
	 * says nothing, the fd's file is what ran */
	if (exe && (e->exe_flags & SF_EXE_FD_TARGET)) {
		v->path.s = exe;
		v->path.len = strlen(exe);
		v->path.truncated = !(e->exe.flags & SF_KP_ROOT);
		v->path.fault = false;
	}
	kv_bool(v, "exe_memfd", e->exe_flags & SF_EXE_MEMFD);
	kv_bool(v, "exe_deleted", e->exe_flags & SF_EXE_DELETED);
	kv_bool(v, "exe_upper_layer", e->exe_flags & SF_EXE_UPPER);
	kv_int(v, "exe_dev", e->exe_dev);
	kv_int(v, "exe_ino", e->exe_ino);
	kv_int(v, "exe_mtime", e->exe_mtime);
	kv_int(v, "exe_ctime", e->exe_ctime);
	kv_kpath(v, "cwd", &e->cwd);
	/* no file_* fields: exe_* say it; the formats with TSEM's inode{}
	 * read it here */
	if (e->exe_id.flags & SF_ID_VALID) {
		v->ident = &e->exe_id;
		v->has |= DECODE_HAS_IDENT;
	}
}

/* Fields the agent adds after decoding (agent/exehash.c: the digest). */
void decode_sec_add_int(struct decode_event *v, const char *key, int64_t i)
{
	kv_int(v, key, i);
}

void decode_sec_add_bool(struct decode_event *v, const char *key, bool b)
{
	kv_bool(v, key, b);
}

void decode_sec_add_str(struct decode_event *v, const char *key, const char *s,
			size_t len)
{
	char *p = x_alloc(v, len + 1);

	if (!p)
		return;
	memcpy(p, s, len);
	p[len] = 0;
	kv_strn(v, key, p, len, false);
}

const struct decode_kv *decode_sec_find(const struct decode_event *v,
					const char *key)
{
	for (unsigned i = 0; i < v->x.n; i++)
		if (!strcmp(v->x.kv[i].key, key))
			return &v->x.kv[i];
	return NULL;
}

void decode_sec_ident(struct decode_event *v, const struct sf_ident *id)
{
	char *p, *e;

	if (!(id->flags & SF_ID_VALID))
		return;
	v->ident = id;
	v->has |= DECODE_HAS_IDENT;
	/* every file event: no printf (it was half the agent's time) */
	p = x_alloc(v, 24);
	if (p) {
		e = sbuf_fmt_u64(p, (unsigned)(id->dev >> 20));
		*e++ = ':';
		e = sbuf_fmt_u64(e, (unsigned)(id->dev & 0xfffff));
		*e = 0;
		kv_strn(v, "file_dev", p, e - p, false);
	}
	kv_int(v, "file_ino", (int64_t)id->ino);
	p = x_alloc(v, 16);
	if (p) {
		p[0] = '0';
		e = sbuf_fmt_oct(p + 1, id->mode & 0177777);
		*e = 0;
		kv_strn(v, "file_mode", p, e - p, false);
	}
	kv_int(v, "file_uid", id->uid);
	kv_int(v, "file_gid", id->gid);
	kv_int(v, "file_ctime", id->ctime);
	kv_int(v, "file_generation", id->generation);
	kv_rec(v, "file_fs", id->fs, sizeof(id->fs), false, false);
	kv_int(v, "file_mtime", id->mtime);
	kv_int(v, "file_size", (int64_t)id->size);
	if (id->flags & SF_ID_FLAGS)
		kv_int(v, "file_f_flags", id->f_flags);
	kv_hex(v, "file_fs_magic", id->magic);
	kv_rec(v, "file_fs_id", id->s_id, sizeof(id->s_id), false, false);
	p = x_alloc(v, 33);
	if (p) {
		for (int i = 0; i < 16; i++)
			sbuf_fmt_hex(p + 2 * i, id->s_uuid[i], 2);
		p[32] = 0;
		kv_strn(v, "file_fs_uuid", p, 32, false);
	}
	kv_cstr(v, "file_path_type", decode_sec_path_type(id->flags));
}

const char *decode_sec_path_type(uint32_t ident_flags)
{
	if (ident_flags & SF_ID_CHROOT)
		return "chroot";
	return ident_flags & SF_ID_HOSTNS ? "root" : "namespace";
}

void decode_sec_mmap(struct decode_event *v, const void *raw)
{
	const struct sf_mmap_event *e = raw;

	kv_hex(v, "addr", (uint64_t)e->hdr.ret);
	kv_int(v, "len", (int64_t)e->len);
	kv_bits(v, "prot", e->prot, prot_bits, N(prot_bits));
	kv_bits(v, "flags", e->flags, map_bits, N(map_bits));
	kv_int(v, "fd", e->fd);
	kv_int(v, "offset", (int64_t)e->pgoff);
	v->mmap_prot = e->prot;
	v->mmap_flags = e->flags;
	v->has |= DECODE_HAS_MMAP;
	if (e->vm_end) {
		kv_hex(v, "vm_start", e->vm_start);
		kv_hex(v, "vm_end", e->vm_end);
	}
	kv_kpath(v, "file", &e->path);
	decode_sec_ident(v, &e->ident);
}

void decode_sec_fork(struct decode_event *v, const void *raw)
{
	const struct sf_fork_event *e = raw;

	if (e->ns_flags)
		kv_bits(v, "ns_flags", e->ns_flags, clone_ns_bits,
			N(clone_ns_bits));
}
