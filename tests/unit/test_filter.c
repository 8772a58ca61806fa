// SPDX-License-Identifier: GPL-2.0
/* Filter expressions: parser, evaluator, kernel verdicts, every error. */
#include <fcntl.h>
#include <stdlib.h>

#include "decode.h"
#include "filter.h"
#include "filter_event.h"
#include "filter_stream.h"
#include "options.h"
#include "sfagent.h"
#include "tap.h"

/* An event as the accessor sees it: NULL strings and -1 numbers are absent. */
struct ev {
	unsigned type;
	int64_t pid, uid, ret, port;
	const char *comm, *path, *addr;
};

static void set_str(struct filter_value *v, const char *s)
{
	if (!s)
		return;
	v->kind = FILTER_STR;
	v->str = s;
	v->len = strlen(s);
}

static void set_num(struct filter_value *v, int64_t n)
{
	if (n == -1)
		return;
	v->kind = FILTER_NUM;
	v->num = n;
}

static void ev_get(const void *ctx, enum filter_key key, const char *arg,
		   struct filter_value *v)
{
	const struct ev *e = ctx;

	switch (key) {
	case FILTER_KEY_PID:
		set_num(v, e->pid);
		break;
	case FILTER_KEY_UID:
		set_num(v, e->uid);
		break;
	case FILTER_KEY_RET:
		set_num(v, e->ret);
		break;
	case FILTER_KEY_PORT:
		set_num(v, e->port);
		break;
	case FILTER_KEY_COMM:
		set_str(v, e->comm);
		break;
	case FILTER_KEY_PATH:
		set_str(v, e->path);
		break;
	case FILTER_KEY_ADDR:
		set_str(v, e->addr);
		break;
	default:
		break;
	}
}

struct stream {
	const char *workload, *container, *image, *ns, *team;
};

static void stream_get(const void *ctx, enum filter_key key, const char *arg,
		       struct filter_value *v)
{
	const struct stream *s = ctx;

	switch (key) {
	case FILTER_KEY_WORKLOAD:
		set_str(v, s->workload);
		break;
	case FILTER_KEY_CONTAINER:
		set_str(v, s->container);
		break;
	case FILTER_KEY_IMAGE:
		set_str(v, s->image);
		break;
	case FILTER_KEY_K8S_NAMESPACE:
		set_str(v, s->ns);
		break;
	case FILTER_KEY_ANNOTATION:
		if (!strcmp(arg, "team"))
			set_str(v, s->team);
		break;
	default:
		break;
	}
}

static const struct stream web = {"web", "c0ffee", "nginx:1.25", "prod",
				  "blue"};

static const struct ev open_etc = {SF_EV_OPEN,	  10,  0, 3, -1, "cat",
				   "/etc/passwd", NULL};
static const struct ev open_fail = {
	SF_EV_OPEN, 11, 1000, -13, -1, "vi", "/root/.ssh/id_rsa", NULL};
static const struct ev exec_sh = {SF_EV_EXEC, 12, 0, 0, -1, "sh", NULL, NULL};
static const struct ev connect_ev = {SF_EV_CONNECT, 13,	    33,	  0,
				     443,	    "curl", NULL, "10.0.0.1"};
static const struct ev fork_ev = {SF_EV_FORK, 14,     0,    15,
				  -1,	      "bash", NULL, NULL};
static const struct ev kill_ev = {SF_EV_KILL, 15, 0, 0, -1, "kill", NULL, NULL};

static const struct ev *const events[] = {&open_etc,   &open_fail, &exec_sh,
					  &connect_ev, &fork_ev,   &kill_ev};
#define NEV (sizeof(events) / sizeof(events[0]))

/* Which of events[] pass, as a string of 0/1. */
static const char *pass_set(const char *expr, const struct stream *s)
{
	static char out[NEV + 1];
	cleanup_error struct sf_error *err = NULL;
	struct filter *f = filter_parse(expr, "filter", &err);
	struct filter_plan *p;

	if (!f) {
		printf("#   %s\n", err->msg);
		return "error";
	}
	p = filter_bind(f, stream_get, s);
	for (size_t i = 0; i < NEV; i++) {
		bool pass =
			filter_plan_eval(p, events[i]->type, ev_get, events[i]);

		out[i] = pass ? '1' : '0';
		/* the kernel's verdict never drops what passes */
		if (pass && !filter_plan_may_pass(p, events[i]->type))
			out[i] = 'K';
	}
	out[NEV] = 0;
	filter_plan_free(p);
	filter_free(f);
	return out;
}

static const struct {
	const char *expr, *want; /* open_etc open_fail exec connect fork kill */
} evals[] = {
	{"all", "111111"},
	{"none", "000000"},
	{"ALL", "111111"},
	{"None", "000000"},
	/* types: EVM names, descendants, * and ? */
	{"[type file.open]", "110000"},
	{"[type file]", "110000"},
	{"[name file]", "110000"},
	{"[TYPE = file]", "110000"},
	{"[type *.exec]", "001000"},
	{"[type process]", "001010"},
	{"[type ?.connect]", "000100"},
	{"[type *]", "111111"},
	{"[type != file]", "001111"},
	{"[type ne process]", "110101"},
	{"[type process.fork] | [type signal]", "000011"},
	/* precedence: & binds tighter than | */
	{"[type file] | [type net] & [port = 80]", "110000"},
	{"([type file] | [type net]) & [port = 443]", "000100"},
	{"[type net] & [port = 443] | [type file]", "110100"},
	{"[type file] & [uid = 0] | [type process.exec]", "101000"},
	/* negation */
	{"![type file]", "001111"},
	{"!![type file]", "110000"},
	{"!([type file] | [type process])", "000101"},
	{"![type file] & ![type process]", "000101"},
	{"!all", "000000"},
	/* numbers */
	{"[ret < 0]", "010000"},
	{"[ret lt 0]", "010000"},
	{"[ret >= 0]", "101111"},
	{"[ret ge 3]", "100010"},
	{"[uid > 0]", "010100"},
	{"[uid gt 32] & [uid le 1000]", "010100"},
	{"[pid = 13]", "000100"},
	{"[pid eq 0xd]", "000100"},
	{"[pid != 13]", "111011"},
	{"[port <= 443]", "000100"},
	{"[ret = -13]", "010000"},
	/* strings: globs, * spans /, quotes */
	{"[comm = cat]", "100000"},
	{"[comm cat]", "100000"},
	{"[comm c*]", "100100"},
	{"[comm != c*]", "011011"},
	{"[path = /etc/*]", "100000"},
	{"[path = /*/id_rsa]", "010000"},
	{"[path = *ssh*]", "010000"},
	{"[path = '/etc/pas?\?d']", "100000"},
	{"[path = \"/etc/[op]asswd\"]", "100000"},
	{"[path = \"/etc/[!p]asswd\"]", "000000"},
	{"[path = \"/etc/[a-q]asswd\"]", "100000"},
	{"[comm = \"c\\*t\"]", "000000"},
	{"[addr = 10.0.0.*]", "000100"},
	/* absent keys fail every operator, also != */
	{"[path != /etc/*]", "010000"},
	{"![path = /etc/*]", "011111"},
	/* priority: file.open 100, net.connect 200, process.exec 300 */
	{"[priority >= 300]", "001000"},
	{"[priority < 200]", "110010"},
	{"[priority = 200]", "000101"},
	{"[name *.exec] & [priority >= 300]", "001000"},
	/* stream keys */
	{"[workload = web]", "111111"},
	{"[workload = db]", "000000"},
	{"[image = nginx:*] & [type process]", "001010"},
	{"[k8s.namespace = prod]", "111111"},
	{"[annotation.team = blue] & [type file]", "110000"},
	{"[annotation.team = red]", "000000"},
	{"[annotation.other = x]", "000000"},
	{"[container != c0*]", "000000"},
	/* spacing, keywords in any case, comment-free newlines */
	{"  [type\tfile]  &\n[uid=0]  ", "100000"},
	{"[type file]&[uid=0]|[type process.exec]", "101000"},
	{"[comm EQ sh]", "001000"},
	{"[comm = eq]", "000000"},
	{"[comm eq]", "000000"},
};

static const struct {
	const char *expr, *msg;
} errors[] = {
	{"[comm = fooo bar]", "filter: column 14: expected ']' after value"},
	{"",
	 "filter: column 1: empty filter: write all, none or terms like [type file]"},
	{"[type flie.open]",
	 "filter: column 7: type `flie.open` matches no event type (classes: process, file, net, signal, cap, ns, fs, kernel, bpf, perf, mem, fd, io_uring, key; see docs/events.md)"},
	{"[colour = red]",
	 "filter: column 2: unknown key `colour`: valid keys are type (name), priority, pid,"},
	{"[type file", "filter: column 11: expected ']' after value"},
	{"[",
	 "filter: column 2: expected a key after '[' (type (name), priority,"},
	{"[pid]", "filter: column 5: expected a value for `pid`"},
	{"[pid =]", "filter: column 7: expected a value for `pid`"},
	{"[pid = abc]",
	 "filter: column 8: `abc` is not a number (`pid` is numeric)"},
	{"[pid = 12x]",
	 "filter: column 8: `12x` is not a number (`pid` is numeric)"},
	{"[comm < z]",
	 "filter: column 9: `comm` is a string: it compares with = or != (shell globs), not with an order"},
	{"[type < file]",
	 "filter: column 9: `type` compares with = or != only (names are not ordered)"},
	{"[path = \"/etc]",
	 "filter: column 9: unterminated quote (\") in the value"},
	{"[type file] &",
	 "filter: column 14: expected a term: '[KEY OP VALUE]', '(', '!', all or none"},
	{"[type file] [type net]",
	 "filter: column 13: expected '&', '|' or the end after a term, not `[`"},
	{"([type file]",
	 "filter: column 13: expected ')' to close the '(' at column 1"},
	{"[type file])", "filter: column 12: `)` without a '(' before it"},
	{"everything",
	 "filter: column 1: expected '[KEY OP VALUE]', '(', '!', all or none, not `everything`"},
	{"[type file] & & [uid = 0]",
	 "filter: column 15: expected '[KEY OP VALUE]', '(', '!', all or none, not `&`"},
	{"\n[type file]\n  [uid 0]",
	 "filter: line 3, column 3: expected '&', '|' or the end after a term, not `[`"},
	{"[type != nosuch]",
	 "filter: column 10: type `nosuch` matches no event type"},
};

static void test_evals(void)
{
	for (size_t i = 0; i < sizeof(evals) / sizeof(evals[0]); i++)
		is_str(pass_set(evals[i].expr, &web), evals[i].want, "%s",
		       evals[i].expr);
}

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		cleanup_error struct sf_error *err = NULL;
		struct filter *f = filter_parse(errors[i].expr, "filter", &err);

		ok(!f && err && err->status == SF_EXIT_USAGE &&
			   !strncmp(err->msg, errors[i].msg,
				    strlen(errors[i].msg)),
		   "error for `%s`", errors[i].expr);
		if (err)
			printf("#   got: %s\n", err->msg);
		filter_free(f);
	}
}

static void test_limits(void)
{
	cleanup_error struct sf_error *err = NULL;
	char *big = xmalloc(FILTER_MAX_LEN + 2);
	char *deep = xmalloc(2 * FILTER_MAX_DEPTH + 16);
	char *many = xmalloc(FILTER_MAX_LEN + 1);
	struct filter *f;
	size_t o = 0;

	memset(big, ' ', FILTER_MAX_LEN + 1);
	memcpy(big, "all", 3);
	big[FILTER_MAX_LEN + 1] = 0;
	f = filter_parse(big, "filter", &err);
	ok(!f && err &&
		   strstr(err->msg, "longer than the 4096 a filter may have"),
	   "an expression over %d bytes is refused", FILTER_MAX_LEN);
	sf_error_free(err);
	err = NULL;
	big[FILTER_MAX_LEN] = 0;
	f = filter_parse(big, "filter", &err);
	ok(f != NULL, "an expression of exactly %d bytes is taken",
	   FILTER_MAX_LEN);
	filter_free(f);

	memset(deep, '(', FILTER_MAX_DEPTH + 1);
	strcpy(deep + FILTER_MAX_DEPTH + 1, "all");
	f = filter_parse(deep, "filter", &err);
	ok(!f && err && strstr(err->msg, "nested deeper than 64"),
	   "nesting is bounded");
	sf_error_free(err);
	err = NULL;

	while (o < 300 * 9)
		o += sprintf(many + o, "%s[pid %d]", o ? "|" : "", 1);
	f = filter_parse(many, "filter", &err);
	ok(!f && err && strstr(err->msg, "more than 256 terms"),
	   "terms are bounded");
	free(big);
	free(deep);
	free(many);
}

static void test_plan(void)
{
	cleanup_error struct sf_error *err = NULL;
	struct filter *f = filter_parse(
		"[type process] | [type file] & [uid = 0]", "filter", &err);
	struct filter_plan *p = filter_bind(f, stream_get, &web);

	ok(filter_plan_verdict(p, SF_EV_EXEC) == FILTER_ALWAYS,
	   "process.exec: always, no per-event look");
	ok(filter_plan_verdict(p, SF_EV_OPEN) == FILTER_MAYBE,
	   "file.open: looked at per event (uid)");
	ok(filter_plan_verdict(p, SF_EV_CONNECT) == FILTER_NEVER,
	   "net.connect: never (the kernel drops it)");
	ok(filter_plan_verdict(p, 0) == FILTER_NEVER &&
		   filter_plan_verdict(p, 1000) == FILTER_NEVER,
	   "no type, or out of range: never");
	ok(!filter_is_static(f), "uid makes it per event");
	is_str(filter_text(f), "[type process] | [type file] & [uid = 0]",
	       "text kept");
	filter_plan_free(p);
	filter_free(f);

	f = filter_parse("[workload = db] & [uid = 0]", "filter", &err);
	p = filter_bind(f, stream_get, &web);
	ok(!filter_plan_may_pass(p, SF_EV_OPEN) &&
		   !filter_plan_may_pass(p, SF_EV_EXEC),
	   "another workload's filter drops every type in the kernel");
	filter_plan_free(p);
	ok(filter_uses_key(f, FILTER_KEY_WORKLOAD) &&
		   !filter_uses_key(f, FILTER_KEY_IMAGE),
	   "filter_uses_key");
	filter_free(f);

	f = filter_parse("  [type  file]\n\t& [comm = 'a  b']  ", "filter",
			 &err);
	is_str(filter_text(f), "[type file] & [comm = 'a  b']",
	       "blanks squeezed outside quotes");
	filter_free(f);

	f = filter_parse("[image = nginx:*] | [annotation.team = red]",
			 "select", &err);
	ok(filter_eval_stream(f, stream_get, &web), "--select: nginx passes");
	filter_free(f);
	f = filter_parse("[workload = db*]", "select", &err);
	ok(!filter_eval_stream(f, stream_get, &web), "--select: db* skips web");
	filter_free(f);
	{
		struct filter *a = filter_parse("[type file] | [type process]",
						"filter", &err);
		struct filter *b = filter_parse("[uid = 0]", "filter", &err);
		struct filter *ab = filter_and(a, b, &err);

		is_str(filter_text(ab),
		       "([type file] | [type process]) & ([uid = 0])",
		       "filter_and keeps each side whole");
		filter_free(a);
		filter_free(b);
		filter_free(ab);
		is_str(pass_set("([type file] | [type process]) & ([uid = 0])",
				&web),
		       "101010", "and of an or: narrows only");
	}
	f = filter_parse("[workload = w] & [comm = x]", "select", &err);
	is_str(filter_event_key(f), "comm", "filter_event_key names comm");
	filter_free(f);
	ok(filter_plan_eval(NULL, SF_EV_OPEN, NULL, NULL),
	   "no filter: everything passes");
}

/* What the kernel may test besides the type: implied uid/pid/comm. */
static void test_implied(void)
{
	static const struct {
		const char *expr;
		enum filter_key key;
		bool implied;
		int64_t num;
		const char *str;
	} cases[] = {
		{"[uid = 1000]", FILTER_KEY_UID, true, 1000, NULL},
		{"[type file] & [uid = 0]", FILTER_KEY_UID, true, 0, NULL},
		{"[type file] & [uid = 0] | [type net] & [uid = 0]",
		 FILTER_KEY_UID, true, 0, NULL},
		{"[type file] & [uid = 0] | [type net]", FILTER_KEY_UID, false,
		 0, NULL},
		{"[uid = 0] | [uid = 1]", FILTER_KEY_UID, false, 0, NULL},
		{"![uid = 0]", FILTER_KEY_UID, false, 0, NULL},
		{"[uid != 0]", FILTER_KEY_UID, false, 0, NULL},
		{"[uid = -1]", FILTER_KEY_UID, false, 0, NULL},
		{"[pid = 42] & ([type process] | [comm = x])", FILTER_KEY_PID,
		 true, 42, NULL},
		{"[comm = nginx] & [type net]", FILTER_KEY_COMM, true, 0,
		 "nginx"},
		{"[comm = ngin*]", FILTER_KEY_COMM, false, 0, NULL},
		{"[comm = a-name-of-16-chars]", FILTER_KEY_COMM, false, 0,
		 NULL},
		{"[workload = web] & [comm = sshd] | [workload = db]",
		 FILTER_KEY_COMM, true, 0, "sshd"},
		{"[workload = db] & [comm = sshd] | [workload = web]",
		 FILTER_KEY_COMM, false, 0, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_error struct sf_error *err = NULL;
		struct filter *f = filter_parse(cases[i].expr, "filter", &err);
		struct filter_plan *p = filter_bind(f, stream_get, &web);
		int64_t num = -1;
		const char *str = NULL;
		bool got = filter_plan_implied(p, cases[i].key, &num, &str);

		ok(got == cases[i].implied &&
			   (!got || (cases[i].str ? !strcmp(str, cases[i].str)
						  : num == cases[i].num)),
		   "%s: %s implied", cases[i].expr,
		   cases[i].implied ? "is" : "is not");
		filter_plan_free(p);
		filter_free(f);
	}
}

static void test_priority(void)
{
	ok(filter_type_priority(SF_EV_OPEN) == 100, "file.open 100");
	ok(filter_type_priority(SF_EV_CONNECT) == 200, "net.connect 200");
	ok(filter_type_priority(SF_EV_EXEC) == 300, "process.exec 300");
	ok(filter_type_priority(SF_EV_SETUID) == 400, "process.setuid 400");
	for (unsigned t = 1; t < SF_EV_MAX; t++)
		ok(filter_type_priority(t) <= FILTER_MAX_PRIORITY,
		   "type %u has a priority in 0-700", t);
}

static void test_file(void)
{
	cleanup_error struct sf_error *err = NULL;
	char path[] = "/tmp/test_filter.XXXXXX";
	int fd = mkstemp(path);
	const char *text = "# keep what matters\n"
			   "[type process]   # every process event\n"
			   "| [path = '/etc/#x'] # a '#' inside quotes stays\n"
			   "| [comm = a#b]\n";
	struct filter *f;

	bool wrote = fd >= 0 &&
		     write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	ok(wrote, "filter file written");
	close(fd);
	{
		cleanup_free char *arg = xasprintf("@%s", path);

		f = filter_parse_arg(arg, "filter", &err);
	}
	ok(f != NULL, "@FILE parses");
	if (!f)
		printf("#   got: %s\n", err->msg);
	if (f)
		is_str(filter_text(f),
		       "[type process] | [path = '/etc/#x'] | [comm = a#b]",
		       "comments gone, newlines are spaces");
	filter_free(f);

	text = "[type process]\n  # fine\n| [uid == ]\n";
	fd = open(path, O_WRONLY | O_TRUNC);
	wrote = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	ok(wrote, "rewritten");
	close(fd);
	{
		cleanup_free char *arg = xasprintf("@%s", path);
		cleanup_free char *want = xasprintf(
			"filter: %s: line 3, column 11: expected a value for `uid`",
			path);

		f = filter_parse_arg(arg, "filter", &err);
		ok(!f && err && !strcmp(err->msg, want),
		   "errors in a file give line and column");
		if (err)
			printf("#   got: %s\n", err->msg);
	}
	unlink(path);
	sf_error_free(err);
	err = NULL;
	f = filter_parse_arg("@/nonexistent/filter", "filter", &err);
	ok(!f && err && err->status == SF_EXIT_USAGE &&
		   strstr(err->msg, "filter: @/nonexistent/filter"),
	   "a missing @FILE is a usage error");
	if (err)
		printf("#   got: %s\n", err->msg);
}

/* Random expressions from fragments and random bytes: never a crash, and
 * when one parses, evaluating it on every event is safe too. */
static void test_random(void)
{
	static const char *const frag[] = {
		"[",
		"]",
		"(",
		")",
		"&",
		"|",
		"!",
		"all",
		"none",
		" ",
		"type",
		"file",
		"*.exec",
		"?",
		"pid",
		"=",
		"!=",
		"<",
		">=",
		"le",
		"12",
		"-1",
		"0x",
		"comm",
		"\"",
		"'",
		"a*b",
		"path",
		"/etc/*",
		"[!a]",
		"\\",
		"ret",
		"priority",
		"300",
		"image",
		"annotation.",
		"annotation.x",
		"\n",
		"#",
		"[type file]",
		"[uid 0]",
	};
	unsigned seed = 12345, parsed = 0;
	char buf[256];

	for (int i = 0; i < 20000; i++) {
		cleanup_error struct sf_error *err = NULL;
		size_t o = 0;
		int n = rand_r(&seed) % 12 + 1;
		struct filter *f;

		if (i % 4 == 3) {
			n = rand_r(&seed) % 60;
			for (int k = 0; k < n; k++)
				buf[o++] = (char)(rand_r(&seed) % 255 + 1);
		} else {
			for (int k = 0; k < n; k++) {
				const char *s =
					frag[rand_r(&seed) %
					     (sizeof(frag) / sizeof(frag[0]))];

				if (o + strlen(s) >= sizeof(buf))
					break;
				memcpy(buf + o, s, strlen(s));
				o += strlen(s);
			}
		}
		buf[o] = 0;
		f = filter_parse(buf, "filter", &err);
		if (f) {
			struct filter_plan *p =
				filter_bind(f, stream_get, &web);

			parsed++;
			for (size_t e = 0; e < NEV; e++) {
				bool pass = filter_plan_eval(p, events[e]->type,
							     ev_get, events[e]);

				if (pass &&
				    !filter_plan_may_pass(p, events[e]->type)) {
					printf("# kernel verdict drops a passing event: %s\n",
					       buf);
					tap_failed++;
				}
			}
			filter_plan_free(p);
		} else if (!err || !err->msg ||
			   strncmp(err->msg, "filter: ", 8)) {
			printf("# parse failed without a message: %s\n", buf);
			tap_failed++;
		}
		filter_free(f);
	}
	ok(parsed > 100, "20000 random expressions, %u parsed, no crash",
	   parsed);
}

/* Random well-formed expressions, written with and without the parentheses
 * precedence makes optional, against the truth computed here from each
 * term's own result: the parser's tree and the evaluator agree with it. */
static const char *const gen_terms[] = {
	"[type file]",	     "[uid = 0]",
	"[ret < 0]",	     "[comm = c*]",
	"[priority >= 200]", "[path = /etc/*]",
	"[workload = web]",  "none",
};
#define NGT (sizeof(gen_terms) / sizeof(gen_terms[0]))
static char term_truth[NGT][NEV + 1];

/* prec: 0 or-level, 1 and-level, 2 unary; writes the expression, returns
 * the truth per event as a bit mask */
static unsigned gen(unsigned *seed, int depth, int prec, bool full, char *o,
		    size_t *len)
{
	int r = depth > 4 ? 0 : rand_r(seed) % 4;
	unsigned a, b, mask = (1u << NEV) - 1;
	bool paren;

	if (r == 0) {
		int t = rand_r(seed) % NGT;

		*len += sprintf(o + *len, "%s", gen_terms[t]);
		a = 0;
		for (size_t e = 0; e < NEV; e++)
			a |= (unsigned)(term_truth[t][e] == '1') << e;
		return a;
	}
	if (r == 1) {
		*len += sprintf(o + *len, "!");
		return ~gen(seed, depth + 1, 2, full, o, len) & mask;
	}
	paren = full || (r == 2 ? prec > 0 : prec > 1);
	if (paren)
		o[(*len)++] = '(';
	a = gen(seed, depth + 1, r == 2 ? 0 : 1, full, o, len);
	*len += sprintf(o + *len, r == 2 ? " | " : " & ");
	b = gen(seed, depth + 1, r == 2 ? 0 : 1, full, o, len);
	if (paren)
		o[(*len)++] = ')';
	o[*len] = 0;
	return r == 2 ? (a | b) : (a & b);
}

static void test_random_valid(void)
{
	unsigned seed = 777, bad = 0;

	for (size_t t = 0; t < NGT; t++)
		strcpy(term_truth[t], pass_set(gen_terms[t], &web));
	for (int i = 0; i < 3000; i++) {
		char buf[8192];
		size_t len = 0;
		unsigned want = gen(&seed, 0, 0, i & 1, buf, &len);
		const char *got;

		buf[len] = 0;
		got = pass_set(buf, &web);
		for (size_t e = 0; e < NEV; e++)
			if (got[e] != ((want >> e) & 1 ? '1' : '0')) {
				if (bad++ < 5)
					printf("# %s: got %s\n", buf, got);
				break;
			}
	}
	ok(bad == 0,
	   "3000 random well-formed expressions evaluate as their truth tables (%u wrong)",
	   bad);
}

/* Stream keys from a workload's metadata, as the daemon builds it. */
static void test_stream_keys(void)
{
	static const char meta[] =
		"{\"annotations\":{\"team\":\"blue\",\"io.sfagent.filter\":\"[type file]\"},"
		"\"kubernetes\":{\"pod_namespace\":\"prod\",\"pod_name\":\"web-1\","
		"\"container_name\":\"nginx\",\"image\":\"nginx:1.25\"}}";
	static const struct {
		const char *expr;
		bool pass;
	} sel[] = {
		{"[workload = web]", true},
		{"[container = abc*]", true},
		{"[image = nginx:*]", true},
		{"[k8s.namespace = prod] & [k8s.pod = web-?]", true},
		{"[k8s.container = nginx]", true},
		{"[annotation.team = blue]", true},
		{"[annotation.team = red]", false},
		{"[annotation.nope = x]", false},
		{"![annotation.nope = x]", true},
		{"[workload = db] | [k8s.namespace = dev]", false},
	};
	struct filter_stream s;

	filter_stream_init(&s, "web", "abc123", meta);
	is_str(filter_stream_annotation(&s, "io.sfagent.filter"), "[type file]",
	       "annotation read back");
	for (size_t i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		cleanup_error struct sf_error *err = NULL;
		struct filter *f = filter_parse(sel[i].expr, "select", &err);

		ok(f && filter_eval_stream(f, filter_stream_get, &s) ==
				   sel[i].pass,
		   "select %s: %s", sel[i].expr,
		   sel[i].pass ? "tracked" : "skipped");
		filter_free(f);
	}
	filter_stream_fini(&s);
	filter_stream_init(&s, "web", NULL, NULL);
	ok(!filter_stream_annotation(&s, "x"), "no metadata: no annotations");
	filter_stream_fini(&s);
}

/* The options: checked at parse time, one usage error each. */
static void test_options(void)
{
	static const struct {
		const char *argv[10];
		const char *msg; /* NULL: parses */
	} cases[] = {
		{{"-X", "-o", "f", "--filter", "[type file]", "--", "true"},
		 NULL},
		{{"-X", "-o", "f", "--file-filter", "[uid = 0]", "--", "true"},
		 NULL},
		{{"-X", "-o", "f", "--filter", "[type", "--", "true"},
		 "filter: column 6: expected a value for `type`"},
		{{"-X", "-b", "h", "--mqtt-filter", "[pid = x]", "--", "true"},
		 "mqtt-filter: column 8: `x` is not a number (`pid` is numeric)"},
		{{"-X", "-o", "f", "--mqtt-filter", "all", "--", "true"},
		 "--mqtt-filter needs a broker: add -b HOST"},
		{{"-X", "-b", "h", "--http-filter", "all", "--", "true"},
		 "--http-filter needs --http URL"},
		{{"-X", "-b", "h", "--file-filter", "all", "--", "true"},
		 "--file-filter needs -o FILE"},
		{{"-D", "--select", "[comm = x]"},
		 "select: `comm` is a key of events"},
		{{"-D", "--select", "[annotation.team = blue]"}, NULL},
		{{"-X", "-o", "f", "--select", "all", "--", "true"},
		 "--select does not apply to execute mode"},
		{{"-S", "--filter", "all"},
		 "--filter does not apply to show mode"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_error struct sf_error *err = NULL;
		char *argv[12] = {"sfagent"};
		struct sf_options o;
		int argc = 1, r;

		while (cases[i].argv[argc - 1])
			argv[argc] = (char *)cases[i].argv[argc - 1], argc++;
		r = sf_parse_args(argc, argv, &o, &err);
		if (!cases[i].msg)
			ok(r == 0, "%s %s parses", argv[1], argv[argc - 2]);
		else
			ok(r < 0 && err->status == SF_EXIT_USAGE &&
				   !strncmp(err->msg, cases[i].msg,
					    strlen(cases[i].msg)),
			   "usage error: %s", cases[i].msg);
		if (err)
			printf("#   got: %s\n", err->msg);
	}
}

/* The accessor over the decoded view: the view's own keys, the named fields
 * of the newer types, and a view key a type carries as a field. */
static void test_fields(void)
{
	static const struct {
		const char *expr;
		bool pass;
	} cases[] = {
		{"[fstype = tmpfs]", true},
		{"[field.fstype = tmp*]", true},
		{"[fstype != tmpfs]", false},
		{"[via = io_uring]", true},
		{"[opcode = 18]", true},
		{"[opcode > 20]", false},
		{"[unresolved = true]", true},
		{"[field.name = memfd:x]", true},
		{"[name = fs.mount]", true},
		{"[path = /mnt]", true},
		{"[request = PTRACE_*]", false},
		{"[flags = MS_NOSUID]", true},
		{"[pid = 7] & [comm = mount]", true},
	};
	struct decode_event v;

	memset(&v, 0, sizeof(v));
	v.type = SF_EV_MOUNT;
	v.pid = 7;
	v.comm = (struct decode_str){.s = "mount", .len = 5};
	v.x.n = 6;
	v.x.kv[0] = (struct decode_kv){
		.key = "via", .kind = DECODE_KV_STR, .s = "io_uring", .len = 8};
	v.x.kv[1] = (struct decode_kv){
		.key = "opcode", .kind = DECODE_KV_INT, .i = 18};
	v.x.kv[2] = (struct decode_kv){
		.key = "unresolved", .kind = DECODE_KV_BOOL, .i = 1};
	v.x.kv[3] = (struct decode_kv){.key = "fstype",
				       .kind = DECODE_KV_STR,
				       .s = "tmpfsXX",
				       .len = 5};
	v.x.kv[4] = (struct decode_kv){
		.key = "path", .kind = DECODE_KV_STR, .s = "/mnt", .len = 4};
	v.x.kv[5] = (struct decode_kv){
		.key = "name", .kind = DECODE_KV_STR, .s = "memfd:x", .len = 7};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_error struct sf_error *err = NULL;
		struct filter *f = filter_parse(cases[i].expr, "filter", &err);
		struct filter_plan *p = f ? filter_bind(f, NULL, NULL) : NULL;

		if (i == 11) { /* flags: a field of this type */
			v.x.kv[v.x.n++] =
				(struct decode_kv){.key = "flags",
						   .kind = DECODE_KV_STR,
						   .s = "MS_NOSUID",
						   .len = 9};
		}
		ok(f && filter_plan_eval(p, v.type, filter_event_get, &v) ==
				   cases[i].pass,
		   "%s on a decoded fs.mount: %s", cases[i].expr,
		   cases[i].pass ? "passes" : "does not");
		if (err)
			printf("#   %s\n", err->msg);
		filter_plan_free(p);
		filter_free(f);
	}
}

int main(void)
{
	test_evals();
	test_errors();
	test_limits();
	test_plan();
	test_priority();
	test_implied();
	test_file();
	test_stream_keys();
	test_options();
	test_fields();
	test_random();
	test_random_valid();
	return tap_done();
}
