// SPDX-License-Identifier: GPL-2.0
/* Names for numbers: event types, syscalls, capabilities, flags, signals. */
#include "encode.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "sfagent.h"

static const char *const type_names[SF_EV_MAX] = {
	[SF_EV_EXEC] = "process.exec",	  [SF_EV_FORK] = "process.fork",
	[SF_EV_EXIT] = "process.exit",	  [SF_EV_SETUID] = "process.setuid",
	[SF_EV_OPEN] = "file.open",	  [SF_EV_UNLINK] = "file.unlink",
	[SF_EV_RENAME] = "file.rename",	  [SF_EV_MKDIR] = "file.mkdir",
	[SF_EV_RMDIR] = "file.rmdir",	  [SF_EV_LINK] = "file.link",
	[SF_EV_SYMLINK] = "file.symlink", [SF_EV_CHMOD] = "file.chmod",
	[SF_EV_CHOWN] = "file.chown",	  [SF_EV_TRUNCATE] = "file.truncate",
	[SF_EV_SOCKET] = "net.socket",	  [SF_EV_CONNECT] = "net.connect",
	[SF_EV_ACCEPT] = "net.accept",	  [SF_EV_BIND] = "net.bind",
	[SF_EV_LISTEN] = "net.listen",	  [SF_EV_KILL] = "signal.kill",
	[SF_EV_CAPABLE] = "cap.capable",
};

const char *sf_event_type_name(unsigned type)
{
	if (type < SF_EV_MAX && type_names[type])
		return type_names[type];
	return "unknown";
}

/* Syscall names from libseccomp, resolved once, not per event. */
#define SYSCALL_TABLE 512
static char *syscall_names[SYSCALL_TABLE];

static void __attribute__((destructor)) syscall_names_free(void)
{
	for (int i = 0; i < SYSCALL_TABLE; i++)
		free(syscall_names[i]);
}

const char *sf_syscall_name(unsigned nr)
{
	if (nr >= SYSCALL_TABLE)
		return "unknown";
	if (!syscall_names[nr]) {
		char *n =
			seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		syscall_names[nr] = n ? n : xasprintf("syscall_%u", nr);
	}
	return syscall_names[nr];
}

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

const char *sf_cap_name(int cap)
{
	if (cap >= 0 && (size_t)cap < sizeof(cap_names) / sizeof(cap_names[0]))
		return cap_names[cap];
	return "CAP_UNKNOWN";
}

const char *sf_family_name(unsigned family)
{
	switch (family) {
	case AF_UNIX:
		return "AF_UNIX";
	case AF_INET:
		return "AF_INET";
	case AF_INET6:
		return "AF_INET6";
	case AF_NETLINK:
		return "AF_NETLINK";
	case AF_PACKET:
		return "AF_PACKET";
	case 0:
		return "AF_UNSPEC";
	default:
		return "AF_OTHER";
	}
}

void sf_open_flags(struct sbuf *o, uint64_t flags)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} bits[] = {
		{O_CREAT, "O_CREAT"},
		{O_EXCL, "O_EXCL"},
		{O_NOCTTY, "O_NOCTTY"},
		{O_TRUNC, "O_TRUNC"},
		{O_APPEND, "O_APPEND"},
		{O_NONBLOCK, "O_NONBLOCK"},
		{O_DSYNC, "O_DSYNC"},
		{O_DIRECT, "O_DIRECT"},
		/* the kernel's value: glibc defines O_LARGEFILE as 0 on 64 bit */
		{0100000, "O_LARGEFILE"},
		{O_DIRECTORY, "O_DIRECTORY"},
		{O_NOFOLLOW, "O_NOFOLLOW"},
		{O_NOATIME, "O_NOATIME"},
		{O_CLOEXEC, "O_CLOEXEC"},
		{O_PATH, "O_PATH"},
		{020000000, "O_TMPFILE"},
		{04000000, "O_SYNC"},
	};

	sbuf_putc(o, '"');
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		sbuf_lit(o, "O_RDONLY");
		break;
	case O_WRONLY:
		sbuf_lit(o, "O_WRONLY");
		break;
	default:
		sbuf_lit(o, "O_RDWR");
		break;
	}
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if ((flags & bits[i].bit) == bits[i].bit) {
			sbuf_putc(o, '|');
			sbuf_puts(o, bits[i].name);
		}
	}
	sbuf_putc(o, '"');
}

void sf_signal_name(struct sbuf *o, int sig)
{
	const char *n = sig > 0 ? sigabbrev_np(sig) : NULL;

	sbuf_putc(o, '"');
	if (n) {
		sbuf_lit(o, "SIG");
		sbuf_puts(o, n);
	} else if (sig == 0) {
		sbuf_lit(o, "0");
	} else {
		sbuf_lit(o, "SIG");
		sbuf_i64(o, sig);
	}
	sbuf_putc(o, '"');
}

void sf_addr_str(struct sbuf *o, unsigned family, const uint8_t *addr)
{
	char s[INET6_ADDRSTRLEN];

	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, s,
		       sizeof(s)))
		s[0] = 0;
	sbuf_putc(o, '"');
	sbuf_puts(o, s);
	sbuf_putc(o, '"');
}

void sf_wrap_native_end(struct sbuf *o)
{
	o->len--;
	sbuf_lit(o, "}\n");
}
