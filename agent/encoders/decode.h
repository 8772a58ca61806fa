/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decoded event view.  A raw ring-buffer record (bpf/sfagent.h) is
 * checked and decoded once, by decode_event(), into struct decode_event:
 * every field by name, arguments already placed ("chmod's fd is arg2" is
 * known here and nowhere else).  The filter and every encoder read only
 * this view.
 *
 * Which fields an event carries is said by the DECODE_HAS_* bits in
 * v->has; a field whose bit is clear is not set (not zeroed either: the
 * decoder writes only what it fills, to stay cheap on the hot path).  The
 * header fields (up to `compat`) are always set.  Strings point into the
 * raw record, which must outlive the view; none is copied.
 *
 * Adding an event type: the BPF side (bpf/sfagent.h), one line in
 * DECODE_EVENTS below with its decoder in decode.c (and fields here if it
 * brings new ones), one body writer per format (docs/hacking.md).
 */
#ifndef SF_DECODE_H
#define SF_DECODE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode_sec.h"
#include "sfagent.h"

/* A string of the record: not NUL-terminated at len in every case. */
struct decode_str {
	const char *s;
	size_t len; /* bytes before the NUL, or the whole array */
	bool truncated; /* the kernel side cut it */
	bool fault; /* the kernel side could not read it: no value */
};

static inline size_t decode_str_len(const struct decode_str *d)
{
	return d->len;
}

/* Names for the bits of a flags argument. */
struct decode_flag {
	uint64_t bit;
	const char *name;
};
struct decode_flagset {
	const struct decode_flag *bits;
	size_t n;
	bool accmode; /* open(2): O_RDONLY/O_WRONLY/O_RDWR come first */
	const char *none; /* what no bit set is called (NULL: "0") */
};
extern const struct decode_flagset decode_open_flags;
extern const struct decode_flagset decode_rename_flags;
extern const struct decode_flagset decode_link_flags;

enum decode_has {
	DECODE_HAS_PATH = 1u << 0, /* path (exec: the filename) */
	DECODE_HAS_PATH2 = 1u << 1, /* path2: rename/link/symlink's new path */
	DECODE_HAS_DIRFD = 1u << 2, /* dirfd: path's (rename/link: old) */
	DECODE_HAS_NEWDIRFD = 1u << 3, /* newdirfd: path2's */
	DECODE_HAS_FD = 1u << 4, /* fd: the file (open: the result) */
	DECODE_HAS_FLAGS = 1u << 5, /* flags, flag_names */
	DECODE_HAS_MODE = 1u << 6, /* mode (07777 bits) */
	DECODE_HAS_OWNER = 1u << 7, /* owner, group (chown) */
	DECODE_HAS_LENGTH = 1u << 8, /* length (truncate) */
	DECODE_HAS_ARGV = 1u << 9, /* argv, argv_len, argv_truncated: a
				     * successful exec (a failed one's argv
				     * is not captured) */
	DECODE_HAS_CHILD = 1u << 10, /* child_pid, child_tid, thread */
	DECODE_HAS_EXIT = 1u << 11, /* wait_status .. core_dumped, thread */
	DECODE_HAS_CRED = 1u << 12, /* old_* and new_* */
	DECODE_HAS_SOCK = 1u << 13, /* net: fd (net_fd), family */
	DECODE_HAS_FAMILY = 1u << 14, /* family known (not AF_UNSPEC) */
	DECODE_HAS_SOCKTYPE = 1u << 15, /* socket: socktype, protocol */
	DECODE_HAS_BACKLOG = 1u << 16, /* listen */
	DECODE_HAS_LISTEN_FD = 1u << 17, /* accept */
	DECODE_HAS_INET = 1u << 18, /* addr_str, port (AF_INET, AF_INET6) */
	DECODE_HAS_UNIX = 1u << 19, /* unix_path (AF_UNIX) */
	DECODE_HAS_TARGET = 1u << 20, /* kill: target_pid, target_tid, target */
	DECODE_HAS_SIG = 1u << 21, /* sig, sig_name (kill; exit: killed) */
	DECODE_HAS_CAP = 1u << 22, /* cap, cap_name, cap_result, granted */
	DECODE_HAS_EXIT_CODE = 1u << 23, /* exit: it exited (not killed) */
	DECODE_HAS_IDENT = 1u << 24, /* ident: the file's (exec: the image's) */
	DECODE_HAS_MMAP = 1u << 25, /* mmap_prot, mmap_flags */
};

/* The event classes: which raw struct a type comes in. */
enum decode_class {
	DECODE_CLASS_NONE = 0,
	DECODE_CLASS_EXEC,
	DECODE_CLASS_FORK,
	DECODE_CLASS_EXIT,
	DECODE_CLASS_CRED,
	DECODE_CLASS_FILE,
	DECODE_CLASS_NET,
	DECODE_CLASS_KILL,
	DECODE_CLASS_CAP,
	DECODE_CLASS_SEC, /* struct sf_sec_event: fields in x (decode_sec.h) */
};

/*
 * The event types user space knows: one line each.
 *   X(ID, name, class, raw, kind)
 *   ID:    SF_EV_<ID> of bpf/sfagent.h
 *   name:  the type as the native format names it
 *   class: DECODE_CLASS_<class>
 *   raw:   struct sf_<raw>, what the record comes in (its size is checked)
 *   kind:  names the decoder dec_<kind> in decode.c and each format's
 *          writer body_<kind> (types of one kind share both); a format
 *          that lacks a writer does not compile
 */
/* clang-format off */
#define DECODE_EVENTS(X)                                                     \
	X(EXEC, "process.exec", EXEC, exec_event, exec)                     \
	X(FORK, "process.fork", FORK, fork_event, fork)                     \
	X(EXIT, "process.exit", EXIT, exit_event, exit)                     \
	X(SETUID, "process.setuid", CRED, cred_event, cred)                 \
	X(OPEN, "file.open", FILE, file_event, open)                        \
	X(UNLINK, "file.unlink", FILE, file_event, path_at)                 \
	X(RENAME, "file.rename", FILE, file_event, two_paths)               \
	X(MKDIR, "file.mkdir", FILE, file_event, path_at)                   \
	X(RMDIR, "file.rmdir", FILE, file_event, path_at)                   \
	X(LINK, "file.link", FILE, file_event, two_paths)                   \
	X(SYMLINK, "file.symlink", FILE, file_event, two_paths)             \
	X(CHMOD, "file.chmod", FILE, file_event, chmod)                     \
	X(CHOWN, "file.chown", FILE, file_event, chown)                     \
	X(TRUNCATE, "file.truncate", FILE, file_event, truncate)            \
	X(SOCKET, "net.socket", NET, net_event, net)                        \
	X(CONNECT, "net.connect", NET, net_event, net)                      \
	X(ACCEPT, "net.accept", NET, net_event, net)                        \
	X(BIND, "net.bind", NET, net_event, net)                            \
	X(LISTEN, "net.listen", NET, net_event, net)                        \
	X(KILL, "signal.kill", KILL, kill_event, kill)                      \
	X(CAPABLE, "cap.capable", CAP, cap_event, cap)                      \
	X(PTRACE, "process.ptrace", SEC, sec_event, sec)                    \
	X(VM_READ, "process.vm_read", SEC, sec_event, sec)                  \
	X(VM_WRITE, "process.vm_write", SEC, sec_event, sec)                \
	X(UNSHARE, "ns.unshare", SEC, sec_event, sec)                       \
	X(SETNS, "ns.setns", SEC, sec_event, sec)                           \
	X(MOUNT, "fs.mount", SEC, sec_event, sec)                           \
	X(UMOUNT, "fs.umount", SEC, sec_event, sec)                         \
	X(PIVOT_ROOT, "fs.pivot_root", SEC, sec_event, sec)                 \
	X(CHROOT, "fs.chroot", SEC, sec_event, sec)                         \
	X(FSOPEN, "fs.fsopen", SEC, sec_event, sec)                         \
	X(FSMOUNT, "fs.fsmount", SEC, sec_event, sec)                       \
	X(MOVE_MOUNT, "fs.move_mount", SEC, sec_event, sec)                 \
	X(OPEN_TREE, "fs.open_tree", SEC, sec_event, sec)                   \
	X(MODULE_LOAD, "kernel.module_load", SEC, sec_event, sec)           \
	X(MODULE_DELETE, "kernel.module_delete", SEC, sec_event, sec)       \
	X(KEXEC_LOAD, "kernel.kexec_load", SEC, sec_event, sec)             \
	X(BPF, "bpf.call", SEC, sec_event, sec)                             \
	X(PERF_OPEN, "perf.open", SEC, sec_event, sec)                      \
	X(OPEN_BY_HANDLE, "file.open_by_handle", SEC, sec_event, sec)       \
	X(SETXATTR, "file.setxattr", SEC, sec_event, sec)                   \
	X(REMOVEXATTR, "file.removexattr", SEC, sec_event, sec)             \
	X(MEM_EXEC, "mem.exec", SEC, sec_event, sec)                        \
	X(MEMFD_CREATE, "file.memfd_create", SEC, sec_event, sec)           \
	X(DUP, "fd.dup", SEC, sec_event, sec)                               \
	X(SENDTO, "net.sendto", NET, net_event, net)                        \
	X(URING_SETUP, "io_uring.setup", SEC, sec_event, sec)               \
	X(URING_REGISTER, "io_uring.register", SEC, sec_event, sec)         \
	X(URING_OP, "io_uring.op", SEC, sec_event, sec)                     \
	X(USERFAULTFD, "process.userfaultfd", SEC, sec_event, sec)          \
	X(KEY_ADD, "key.add", SEC, sec_event, sec)                          \
	X(KEY_REQUEST, "key.request", SEC, sec_event, sec)                  \
	X(KEY_CTL, "key.ctl", SEC, sec_event, sec)                          \
	X(EXE_HASH, "process.exe_hash", SEC, sec_event, sec)                \
	X(MMAP_EXEC, "file.mmap_exec", SEC, mmap_event, mmap)               \
	X(FILE_HASH, "file.hash", SEC, sec_event, sec)
/* clang-format on */

/* A format's table of writers, indexed by type: {DECODE_EVENTS(...)} */
#define DECODE_WRITER_ENTRY(id, name, cls, raw, kind) \
	[SF_EV_##id] = body_##kind,

struct decode_event {
	/* the header: always set */
	unsigned type; /* enum sf_event_type, < SF_EV_MAX */
	const char *type_name; /* "file.open" */
	enum decode_class cls;
	uint32_t has; /* DECODE_HAS_* */
	uint16_t raw_flags; /* hdr.flags as the kernel side set them */
	uint32_t slot;
	uint64_t ts_boot;
	uint64_t cgid;
	uint32_t pid, tid, ppid, uid, gid, euid;
	struct decode_str comm;
	uint32_t syscall_nr;
	const char *syscall; /* its name, NULL when the event has none */
	bool has_ret;
	int64_t ret;
	bool interrupted; /* ERESTART*: ret is -EINTR */
	bool compat; /* a 32-bit syscall */

	/* files (exec: path is the filename) */
	struct decode_str path, path2;
	int64_t dirfd, newdirfd, fd;
	uint64_t flags;
	const struct decode_flagset *flag_names;
	uint32_t mode;
	int64_t owner, group, length;

	/* exec: NUL-separated arguments, see decode_argv_next() */
	const char *argv;
	uint32_t argv_len;
	bool argv_truncated;

	/* fork, exit */
	uint32_t child_pid, child_tid;
	bool thread;
	int32_t wait_status; /* raw: code << 8 | signal */
	int exit_code;
	int exit_sig; /* 0: exited; else the signal that killed it */
	bool core_dumped;

	/* setuid family; old_unknown: the ids before the call were not
	 * known (SF_F_OLD_UNKNOWN), old = new */
	uint32_t old_uid, old_euid, old_gid, old_egid;
	uint32_t new_uid, new_euid, new_gid, new_egid;
	bool old_unknown;

	/* net */
	int32_t net_fd;
	unsigned family;
	const char *family_name; /* "AF_INET" */
	int32_t socktype; /* without SOCK_NONBLOCK/SOCK_CLOEXEC */
	int32_t protocol, backlog, listen_fd;
	uint16_t port; /* host order */
	char addr_str[INET6_ADDRSTRLEN]; /* AF_INET, AF_INET6 */
	struct decode_str unix_path;
	/* connect, accept (AF_INET, AF_INET6): the socket's own end as the
	 * kernel had it at the exit, raw (IPv4 in the first 4 bytes);
	 * lport 0: not known.  -F sysflow's sip/sport; no json key yet. */
	uint16_t lport;
	uint8_t laddr[16];

	/* signals, capabilities */
	int32_t target_pid, target_tid;
	int32_t target; /* the pid, or the tid for tgkill/tkill */
	bool has_target_pid, has_target_tid;
	int sig;
	const char *sig_name; /* "SIGTERM", "SIG77", "0" */
	char sig_buf[16]; /* where sig_name may point */
	int cap;
	const char *cap_name;
	int32_t cap_result; /* 0 granted, else -errno */
	bool granted;

	/* the file's identity at the event (bpf/ident.bpf.h), in the raw
	 * record; its file_* fields are in x too (not for exec) */
	const struct sf_ident *ident;
	/* file.mmap_exec: mmap's prot and flags as numbers */
	uint32_t mmap_prot, mmap_flags;

	/* named extra fields: every type's via/opcode/suppressed, the
	 * security types' own fields, exec's image, fork's namespaces */
	struct decode_extra x;

	/* the record in its struct's layout: the raw one, or for a
	 * variable-size record (SF_F_PACKED) its copy expanded into
	 * `unpacked`, which the view's strings then point into (so a view
	 * is not to be copied while in use) */
	const void *rec;
	union {
		struct sf_file_event file;
	} unpacked;
};

enum decode_status {
	DECODE_OK = 0,
	DECODE_SHORT = -1, /* smaller than its type's struct */
	DECODE_BAD_TYPE = -2, /* a type this agent does not know */
	DECODE_MALFORMED = -3, /* a variable-size record that does not add up */
};

/*
 * Checks and decodes the record at raw (size bytes).  Returns DECODE_OK,
 * or a negative enum decode_status: the record is malformed, *v is not
 * usable, and the caller counts it (it never reaches a stream).  A record
 * larger than its struct is fine (the tail is ignored), but a
 * variable-size one (SF_F_PACKED, bpf/sfagent.h) must be exactly as long
 * as its lengths say; nothing past size is read.
 */
int decode_event(struct decode_event *v, const void *raw, size_t size);
/* "short record", "unknown event type" */
const char *decode_status_name(int status);

/* Walks v->argv: *pos starts at 0; false when there is no next argument. */
static inline bool decode_argv_next(const struct decode_event *v, uint32_t *pos,
				    const char **arg, size_t *len)
{
	size_t n;

	if (*pos >= v->argv_len)
		return false;
	*arg = v->argv + *pos;
	n = strnlen(*arg, v->argv_len - *pos);
	*len = n;
	*pos += n + 1;
	return true;
}

/* Names for numbers. */
const char *decode_type_name(unsigned type);
const char *decode_syscall_name(unsigned nr);
const char *decode_cap_name(int cap);
const char *decode_family_name(unsigned family);

#endif
