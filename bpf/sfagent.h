/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Event layout shared by the BPF programs and the agent.
 *
 * Fixed-layout structs only: __u32/__u64, no pointers, the header first.
 * Every record in the ring buffer starts with struct sf_hdr; hdr.type says
 * which struct follows.  Strings are NUL-terminated inside their arrays; the
 * *_TRUNC flags say when the kernel side had to cut one.
 */
#ifndef SF_EVENT_H
#define SF_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SF_COMM_LEN	 16
#define SF_PATH_MAX	 512
#define SF_ARGV_MAX	 1024
#define SF_UNIX_PATH_MAX 108

/* Workload slots: index into the agent's workload table. */
#define SF_MAX_SLOTS 1024
#define SF_SLOT_NONE 0 /* not tracked */
#define SF_SLOT_EXCLUDED \
	0xffffffu /* tracked ancestor, but explicitly excluded */

/* syscalls.def flags (read by the loader) */
#define SF_SC_OPTIONAL (1u << 0) /* a kernel may lack it: skip, do not fail */

/* Deepest cgroup level the filter looks at for tracked ancestors. */
#define SF_MAX_CGROUP_DEPTH 16

/* The helper number the programs call bpf_rdonly_cast() by: no helper has
 * it; the agent makes each such call the kfunc call, with the kernel's id
 * of the function (agent/kernel_ids.h) */
#define SF_CALL_RDONLY_CAST 0x53460001

enum sf_event_type {
	SF_EV_NONE = 0,
	SF_EV_EXEC,
	SF_EV_FORK,
	SF_EV_EXIT,
	SF_EV_SETUID,
	SF_EV_OPEN,
	SF_EV_UNLINK,
	SF_EV_RENAME,
	SF_EV_MKDIR,
	SF_EV_RMDIR,
	SF_EV_LINK,
	SF_EV_SYMLINK,
	SF_EV_CHMOD,
	SF_EV_CHOWN,
	SF_EV_TRUNCATE,
	SF_EV_SOCKET,
	SF_EV_CONNECT,
	SF_EV_ACCEPT,
	SF_EV_BIND,
	SF_EV_LISTEN,
	SF_EV_KILL,
	SF_EV_CAPABLE,
	/* struct sf_sec_event unless said otherwise (sec.bpf.h) */
	SF_EV_PTRACE,
	SF_EV_VM_READ,
	SF_EV_VM_WRITE,
	SF_EV_UNSHARE,
	SF_EV_SETNS,
	SF_EV_MOUNT,
	SF_EV_UMOUNT,
	SF_EV_PIVOT_ROOT,
	SF_EV_CHROOT,
	SF_EV_FSOPEN,
	SF_EV_FSMOUNT,
	SF_EV_MOVE_MOUNT,
	SF_EV_OPEN_TREE,
	SF_EV_MODULE_LOAD,
	SF_EV_MODULE_DELETE,
	SF_EV_KEXEC_LOAD,
	SF_EV_BPF,
	SF_EV_PERF_OPEN,
	SF_EV_OPEN_BY_HANDLE,
	SF_EV_SETXATTR,
	SF_EV_REMOVEXATTR,
	SF_EV_MEM_EXEC,
	SF_EV_MEMFD_CREATE,
	SF_EV_DUP,
	SF_EV_SENDTO, /* struct sf_net_event */
	SF_EV_URING_SETUP,
	SF_EV_URING_REGISTER,
	SF_EV_URING_OP,
	SF_EV_USERFAULTFD,
	SF_EV_KEY_ADD,
	SF_EV_KEY_REQUEST,
	SF_EV_KEY_CTL,
	/* made by the agent, never by the kernel side: a binary's digest
	 * computed after its process.exec was written (agent/exehash.h) */
	SF_EV_EXE_HASH,
	/* --hash open only: a file mapped PROT_EXEC without PROT_WRITE
	 * (struct sf_mmap_event, bpf/mmap.bpf.h) */
	SF_EV_MMAP_EXEC,
	/* made by the agent: a file's digest computed after its file.open
	 * or file.mmap_exec was written (agent/exehash.h) */
	SF_EV_FILE_HASH,
	SF_EV_MAX,
};

/* hdr.flags */
#define SF_F_PATH_TRUNC	 (1u << 0)
#define SF_F_PATH2_TRUNC (1u << 1)
#define SF_F_ARGV_TRUNC	 (1u << 2)
#define SF_F_THREAD	 (1u << 3) /* fork: a thread, not a process */
#define SF_F_GROUP_DEAD	 (1u << 4) /* exit: last thread of the process */
#define SF_F_PATH_FAULT	 (1u << 5) /* path pointer could not be read */
#define SF_F_PATH2_FAULT (1u << 6)
#define SF_F_HAS_RET	 (1u << 7)
#define SF_F_INTERRUPTED (1u << 8) /* ERESTART*: reported as -EINTR */
#define SF_F_COMPAT	 (1u << 9) /* a 32-bit (ia32) syscall */
#define SF_F_STR3_TRUNC	 (1u << 10) /* sf_sec_event str[2] */
#define SF_F_STR3_FAULT	 (1u << 11)
/* io_uring: a field the kernel's private structs did not give (CO-RE) */
#define SF_F_UNRESOLVED (1u << 12)
/* exec (which has no second path): a failed exec's argv could not be read */
#define SF_F_ARGV_FAULT SF_F_PATH2_FAULT
/* io_uring: sent without a result: at submission, the table of requests
 * waiting for their completion being full (bpf/uring.bpf.h) ... */
#define SF_F_URING_FULL (1u << 13)
/* ... or later, no completion having come (the agent's sweep, or the
 * request's address submitted again) */
#define SF_F_URING_NO_CQE (1u << 14)
/* the size of that table: requests of tracked workloads in flight at once */
#define SF_URING_PENDING_MAX 2048
#define SF_F_PACKED	     (1u << 15) /* a variable-size record: see sf_var */
/* setuid family (which has no exit's group): the ids before the call were
 * not known (a task the agent had not seen yet), old = new */
#define SF_F_OLD_UNKNOWN SF_F_GROUP_DEAD

struct sf_hdr {
	__u16 type;
	__u16 flags;
	__u32 slot;
	__u64 ts_boot; /* bpf_ktime_get_boot_ns() */
	__u64 cgid;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__s64 ret;
	__u32 syscall; /* syscall number, where the event comes from one */
	__u8 via; /* SF_VIA_*: the way into the kernel */
	__u8 uring_op; /* via io_uring: the request's IORING_OP_* */
	__u16 suppressed; /* rate limit: events of this kind not sent since
			   * the previous one (saturates at 65535) */
	char comm[SF_COMM_LEN];
};

#define SF_VIA_SYSCALL	0
#define SF_VIA_IO_URING 1

/*
 * A kernel path, walked from a struct path (dentry, mount) up to the task's
 * root: its components leaf first, each NUL-terminated ("shadow\0etc\0"),
 * n of them; SF_KP_ROOT when the walk reached the root (else the path was
 * cut: too deep or too long).  The agent joins them root first.
 */
struct sf_kpath {
	__u16 n;
	__u16 flags; /* SF_KP_* */
	__u32 len; /* bytes of buf used (a variable-size record sends these) */
	char buf[SF_PATH_MAX];
};
#define SF_KP_ROOT    (1u << 0) /* complete: the root was reached */
#define SF_KP_DELETED (1u << 1) /* the dentry is unlinked */
#define SF_KP_NONE    (1u << 2) /* no file: nothing walked */
#define SF_KP_DISCONNECTED \
	(1u << 3) /* the walk met a disconnected dentry (open_by_handle_at): \
		   * the path above it is not known */
#define SF_KP_DNAME \
	(1u << 4) /* the kernel makes the file's name on demand (pipe, \
		   * socket, anon inode: d_op->d_dname): no path */

/*
 * A file event's resolved path (issue 12, docs/events.md "Resolved paths").
 * kp is the walk from the file (or, for a path call, from the base the
 * kernel resolves the typed path against: the dirfd's file, the cwd, the
 * root) up to the task's root.  For host_path, kp.buf holds after kp's n
 * components n_fs more: from the dentry where the walk left the first
 * mount (its mnt_root, or the task's root, whichever came first) up to the
 * root of that mount's file system, leaf first; dev is that super block's
 * s_dev.  The agent joins them and finds the mount in the host's
 * mountinfo (same device, longest matching root).
 */
struct sf_fpath {
	__u64 dev; /* s_dev of the first mount's super block */
	__u32 mnt_ns; /* the task's mount namespace (its inode number) */
	__u16 n_mnt; /* kp components inside the first mount */
	__u16 n_fs; /* components after kp's: the first mount in its fs */
	__u16 flags; /* SF_FP_* */
	__u16 base; /* SF_FP_BASE_*: what kp walked */
	__u32 pad;
	struct sf_kpath kp;
};
#define SF_FP_SAME   (1u << 0) /* res2: the same base as res, not walked */
#define SF_FP_FS_CUT (1u << 1) /* the n_fs part did not fit: no host_path */
#define SF_FP_NSROOT \
	(1u << 2) /* the task's root is its mount namespace's root */

#define SF_FP_BASE_NONE	 0 /* nothing walked (kp.flags has SF_KP_NONE) */
#define SF_FP_BASE_FILE	 1 /* an fd's file: the object itself, exact */
#define SF_FP_BASE_DIRFD 2 /* path call: the dirfd's file */
#define SF_FP_BASE_CWD	 3 /* path call: the task's cwd */
#define SF_FP_BASE_ROOT	 4 /* path call, absolute path: the task's root */

/*
 * File events.  arg0..arg3 carry the syscall's numeric arguments:
 *   open:     dirfd, flags, mode, -
 *   unlink:   dirfd, flags
 *   rename:   olddirfd, newdirfd, flags
 *   mkdir:    dirfd, mode
 *   rmdir:    -
 *   link:     olddirfd, newdirfd, flags
 *   symlink:  newdirfd
 *   chmod:    dirfd, mode, fd (fchmod: fd, path empty)
 *   chown:    dirfd, uid, gid, fd
 *   truncate: length (arg0, 64 bit), fd
 */
/* A file's identity at the event, from its inode (bpf/ident.bpf.h). */
struct sf_ident {
	__u32 flags; /* SF_ID_VALID: filled */
	__u32 mode; /* i_mode: type and permission bits */
	__u64 dev; /* its super block's dev_t: major << 20 | minor */
	__u64 ino;
	__u32 uid, gid; /* the inode's, as the initial namespace sees them */
	__u32 generation; /* i_generation: tells a reused inode number */
	__u32 pad;
	__s64 ctime; /* ns since the epoch; 0: not known */
	__u64 magic; /* the super block's s_magic */
	char fs[16]; /* the file system type's name */
	/* appended (issue 12, TSEM's inode and file): the cache key of the
	 * digest is (dev, ino, mtime, ctime, size) */
	__s64 mtime; /* ns since the epoch; 0: not known */
	__u64 size; /* i_size */
	__u32 f_flags; /* the struct file's f_flags (TSEM's file.flags) */
	__u32 mnt_ns; /* the task's mount namespace (inode number) */
	char s_id[32]; /* the super block's s_id (device name) */
	__u8 s_uuid[16]; /* the super block's s_uuid (0s: none) */
};
#define SF_ID_VALID  (1u << 0)
#define SF_ID_CHROOT (1u << 1) /* the task's root is not its namespace's */
#define SF_ID_HOSTNS (1u << 2) /* the task is in the host's mount namespace */
#define SF_ID_FLAGS  (1u << 3) /* f_flags set (a struct file was at hand) */

struct sf_file_event {
	struct sf_hdr hdr;
	__s64 arg0;
	__s64 arg1;
	__s64 arg2;
	__s64 arg3;
	char path[SF_PATH_MAX];
	char path2[SF_PATH_MAX]; /* rename/link/symlink: the new path */
	/* open: the new fd's file; fchmod, fchown, ftruncate: the fd's */
	struct sf_ident ident;
	/* appended (issue 12): what the kernel resolved, see sf_fpath.
	 * res: the object (open: the new fd's file; fd calls: the fd's
	 * file; path calls: the base of path, for symlink of path2);
	 * res2: rename/link only, the base of path2 (SF_FP_SAME when it is
	 * res's base).  Last, so a variable-size record can end early. */
	struct sf_fpath res;
	struct sf_fpath res2;
};

/* A file mapped executable (--hash open): mmap's arguments, the mapping
 * the kernel made (its vma), the file's path and identity. */
struct sf_mmap_event {
	struct sf_hdr hdr;
	__u64 addr, len; /* as passed */
	__u32 prot, flags;
	__s32 fd;
	__u32 pad;
	__u64 pgoff; /* mmap's offset argument, bytes */
	__u64 vm_start, vm_end; /* the vma at the result (0: not found) */
	struct sf_ident ident;
	struct sf_kpath path; /* the file's, from its dentry */
};

/* exec_flags */
#define SF_EXE_MEMFD	 (1u << 0) /* the image is a memfd */
#define SF_EXE_DELETED	 (1u << 1) /* its inode has no links */
#define SF_EXE_UPPER	 (1u << 2) /* in an overlayfs upper layer */
#define SF_EXE_OVERLAY	 (1u << 3) /* on overlayfs (upper or lower) */
#define SF_EXE_FD_TARGET (1u << 4) /* filename came from the fd (execveat) */

struct sf_exec_event {
	struct sf_hdr hdr;
	__u32 argc; /* number of arguments captured */
	__u32 argv_len; /* bytes of argv used, NUL separated */
	char filename[SF_PATH_MAX];
	char argv[SF_ARGV_MAX];
	/* from the new image's struct file (sched_process_exec only) */
	__u32 exe_flags; /* SF_EXE_* */
	__u32 pad2;
	__u64 exe_dev; /* the kernel's dev_t: major << 20 | minor */
	__u64 exe_ino;
	__s64 exe_mtime; /* ns since the epoch */
	__s64 exe_ctime;
	struct sf_kpath exe; /* the image's path, from its dentry */
	struct sf_kpath cwd;
	struct sf_ident exe_id; /* the image's identity (appended) */
};

struct sf_fork_event {
	struct sf_hdr hdr;
	__u32 child_pid;
	__u32 child_tid;
	/* CLONE_NEW* of the namespaces the child does not share with the
	 * parent (compared in the kernel, not taken from the arguments) */
	__u32 ns_flags;
	__u32 pad;
};

/* Rate limit counts a process leaves when it exits (bpf/event.bpf.h): per
 * kind, events not sent since the last one of that kind that was. */
#define SF_SUPP_MAX 16
struct sf_supp {
	__u16 type; /* SF_EV_MEM_EXEC, SF_EV_URING_OP */
	__u16 sub; /* io_uring.op: the opcode */
	__u32 count;
};

struct sf_exit_event {
	struct sf_hdr hdr;
	__s32 exit_code; /* raw wait status: code << 8 | signal */
	__u32 pad;
	/* the last thread's exit only: supp[0..nsupp), and the counts of
	 * the kinds beyond SF_SUPP_MAX summed in supp_other */
	__u32 nsupp;
	__u32 supp_other;
	struct sf_supp supp[SF_SUPP_MAX];
};

/* setuid family: old ids are the task's as last seen (bpf/process.bpf.h
 * task_ids); SF_F_OLD_UNKNOWN: none was known, old = new */
struct sf_cred_event {
	struct sf_hdr hdr;
	__u32 old_uid, old_euid, old_gid, old_egid;
	__u32 new_uid, new_euid, new_gid, new_egid;
};

/* A tracked task's ids as last seen (bpf/process.bpf.h task_ids, seeded by
 * the agent): the old ids of its next set*id event while gen is cred_gen. */
struct sf_task_ids {
	__u32 uid, euid, gid, egid;
	__u32 gen;
	__u32 pad;
};

struct sf_net_event {
	struct sf_hdr hdr;
	__s32 fd;
	__u16 family;
	__u16 port; /* host order */
	__s32 type;
	__s32 protocol;
	__s32 backlog;
	__s32 listen_fd; /* accept: the listening socket */
	__u8 addr[16]; /* IPv4 in the first 4 bytes, or IPv6 */
	char unix_path[SF_UNIX_PATH_MAX];
	/* connect, accept (AF_INET, AF_INET6): the socket's own end, from
	 * the kernel's socket at the exit; lport 0: not known */
	__u16 lport; /* host order */
	__u16 pad2;
	__u32 pad3;
	__u8 laddr[16];
};

struct sf_kill_event {
	struct sf_hdr hdr;
	__s32 target_pid;
	__s32 target_tid;
	__s32 sig;
	__u32 pad;
};

struct sf_cap_event {
	struct sf_hdr hdr;
	__s32 cap;
	__s32 result; /* 0 = granted, else -errno */
};

/*
 * Security-relevant syscalls (issue "container escapes"): the arguments as
 * passed, what the kernel side learned beyond them, up to three strings.
 * What each slot means per type is written once, in the agent's decoder
 * (agent/encoders/decode.c) and in sec.bpf.h where it is filled.
 */
#define SF_STR_MAX 256
struct sf_sec_event {
	struct sf_hdr hdr;
	__s64 arg[6];
	__s64 aux[4];
	/* a socket (fd.dup of a socket): the peer */
	__u16 family;
	__u16 port; /* host order */
	__u32 pad;
	__u8 addr[16];
	char str[3][SF_STR_MAX]; /* user strings (path1, path2, str3 flags) */
	struct sf_kpath kpath; /* a path the kernel resolved (an fd's file) */
	/* appended (issue 12), as in sf_file_event: the object's identity
	 * (open_by_handle, memfd_create: the new fd; fsetxattr, dup: the
	 * fd's file) and its resolved path (also the path calls: setxattr,
	 * removexattr, chroot, mount's target) */
	struct sf_ident ident;
	struct sf_fpath res;
};

/*
 * -F sysflow's read/write counting (bpf/flow.bpf.h): one counter per open
 * flow, keyed by (slot, tgid, fd).  Counts are totals since the flow
 * began; the agent reports deltas.  SF_REC_FLOW_END is a record to the
 * agent, not an event type (never below SF_EV_MAX, never in a stream):
 * close(2) of a counted fd, with its final counters.
 */
#define SF_REC_FLOW_END 0x8001
struct sf_flow_key {
	__u32 slot;
	__u32 tgid;
	__s32 fd;
	__u32 pad;
};
struct sf_flow_counts {
	__u64 start; /* bpf_ktime_get_boot_ns() when the flow began */
	__u64 rops, wops; /* read (receive) and write (send) operations */
	__u64 rbytes, wbytes;
};
struct sf_flow_rec {
	struct sf_hdr hdr; /* type SF_REC_FLOW_END */
	__s32 fd;
	__u32 pad;
	struct sf_flow_counts c;
};
/* An io_uring request of a counting slot waiting for its completion (the
 * value of flow.bpf.h's flow_uring, keyed by the request's address): what
 * the completion's result is counted into. */
struct sf_flow_uring {
	__u32 slot, tgid;
	__s32 fd, fd2; /* fd2: a splice's input */
	/* kind: flow.bpf.h's enum flow_uring_kind; ms: multishot (also in
	 * flow_uring_ms) */
	__u8 kind, op, fixed, ms;
	__u32 pad2;
};

/* A workload's filter as far as the kernel can decide it (filter_mask map,
 * indexed by slot): bit t of drop set drops event type t; each SF_NEED_*
 * bit set drops the events whose uid, pid (tgid) or comm is not the one
 * given (docs/filters.md: "which terms run where"). */
#define SF_TYPE_MASK_BITS 128
#define SF_NEED_UID	  (1u << 0)
#define SF_NEED_PID	  (1u << 1)
#define SF_NEED_COMM	  (1u << 2)
struct sf_filter_mask {
	__u64 drop[SF_TYPE_MASK_BITS / 64];
	__u32 need; /* SF_NEED_* */
	__u32 uid;
	__u32 pid;
	__u32 pad;
	char comm[SF_COMM_LEN]; /* NUL-padded */
};

/* Per-CPU loss counters, indexed by workload slot. */
struct sf_drop {
	__u64 ringbuf; /* bpf_ringbuf_reserve() failed */
	__u64 filtered; /* dropped by the workload's filter_mask */
	__u64 paused; /* not sent: the agent paused the slot (over budget) */
	__u64 flow_full; /* flows not counted: flow_counts was full */
	/* io_uring requests on fixed files and their bytes (in no flow) */
	__u64 uring_fixed_ops, uring_fixed_bytes;
	/* io_uring requests kept waiting for their completion: a stream
	 * that had any waits at its end for completions a kworker may still
	 * be sending (agent/agent.c stream_finish_begin) */
	__u64 uring_kept;
};

/* Seccomp recording (bpf/seccomp.bpf.h): per workload slot, one bit per
 * syscall number entered, native and 32-bit numbering apart, and one per
 * io_uring opcode submitted.  A per-CPU array value: the agent ORs the CPUs. */
#define SF_SECCOMP_NR_MAX    512
#define SF_SECCOMP_URING_MAX 256
struct sf_seccomp_bits {
	__u64 native[SF_SECCOMP_NR_MAX / 64];
	__u64 compat[SF_SECCOMP_NR_MAX / 64];
	__u64 uring[SF_SECCOMP_URING_MAX / 64];
};

/*
 * Variable-size records.  A record with SF_F_PACKED in hdr.flags is its
 * struct with the variable arrays cut out (SF_*_VARS below, in struct
 * order): first the struct's other bytes, in order (the fixed part), then
 * struct sf_var (the used length of each array, in order), then each
 * array's first len[i] bytes, back to back.  Its size is exactly that sum.
 * The agent expands it back into the struct (agent/encoders/decode.c); a
 * length larger than its array, or sizes that do not add up, make it
 * malformed.  A string's length counts its NUL.
 */
#define SF_VAR_MAX 4
struct sf_var {
	__u16 len[SF_VAR_MAX]; /* unused ones 0 */
};
#define SF_FILE_VARS(X)              \
	X(sf_file_event, path)       \
	X(sf_file_event, path2)      \
	X(sf_file_event, res.kp.buf) \
	X(sf_file_event, res2.kp.buf)

/* An io_uring request waiting for its completion: a value of
 * bpf/uring.bpf.h's uring_pending, which the agent's sweep reads too; size
 * bytes of r are the record. */
union sf_uring_rec {
	struct sf_hdr hdr;
	struct sf_file_event f;
	struct sf_net_event n;
	struct sf_sec_event s;
};

struct sf_uring_pending {
	__u32 size;
	__u32 pad;
	union sf_uring_rec r;
};

#endif
