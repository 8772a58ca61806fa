// SPDX-License-Identifier: GPL-2.0
/* lib/oci.c, lib/oci_config.c and lib/proto.c: annotations, export specs,
 * config.json, the wire format. */
#include <string.h>

#include "oci.h"
#include "proto.h"
#include "tap.h"

static int export_ok(const char *spec)
{
	struct sf_export_list l;
	struct sf_error *err = NULL;
	int r = sf_export_parse(spec, &l, &err);

	sf_error_free(err);
	sf_export_list_free(&l);
	return r == 0;
}

static void test_export(void)
{
	struct sf_export_list l;
	struct sf_error *err = NULL;

	int r = sf_export_parse("file, file:a.jsonl,mqtt:t/x,http", &l, &err);

	/* tap.h's ok() evaluates its condition twice: no calls inside it */
	ok(r == 0, "a list of typed entries parses");
	ok(l.n == 4 && l.e[0].kind == SF_EXPORT_FILE && !l.e[0].arg, "file");
	is_str(l.e[1].arg, "a.jsonl", "file:NAME keeps NAME");
	ok(l.e[2].kind == SF_EXPORT_MQTT && !strcmp(l.e[2].arg, "t/x"),
	   "mqtt:TOPIC");
	ok(l.e[3].kind == SF_EXPORT_HTTP && !l.e[3].arg, "http");
	sf_export_list_free(&l);
	r = sf_export_parse(NULL, &l, &err);
	ok(r == 0 && l.n == 1 && l.e[0].kind == SF_EXPORT_FILE,
	   "absent means file");
	sf_export_list_free(&l);

	r = export_ok("file:../x");
	ok(!r, "../ refused");
	r = export_ok("file:/etc/passwd");
	ok(!r, "absolute refused");
	r = export_ok("file:..");
	ok(!r, ".. refused");
	r = export_ok("file:.");
	ok(!r, ". refused");
	r = export_ok("file:a/b");
	ok(!r, "a/b refused");
	r = export_ok("file:.hidden");
	ok(!r, "hidden refused");
	r = export_ok("file:a\\b");
	ok(!r, "backslash refused");
	r = export_ok("file:a\tb");
	ok(!r, "control character refused");
	r = export_ok("file:");
	ok(!r, "empty name refused");
	r = export_ok("ftp");
	ok(!r, "unknown kind refused");
	r = export_ok("file,,file");
	ok(!r, "empty entry refused");
	r = export_ok("mqtt:a/#");
	ok(!r, "mqtt wildcard refused");
	r = export_ok("mqtt:a/+/b");
	ok(!r, "mqtt single-level wildcard refused");
	r = export_ok("mqtt:$SYS/x");
	ok(!r, "mqtt $-topic refused");
	r = export_ok("mqtt:a\x01b");
	ok(!r, "mqtt control character refused");
	r = export_ok("mqtt:a/%q");
	ok(!r, "mqtt unknown %%-escape refused");
	r = export_ok("mqtt:team/%w/%c/100%%");
	ok(r, "mqtt template escapes accepted");
	r = export_ok("http:http://10.0.0.1/x");
	ok(!r, "http:URL refused (the collector is the agent's)");
	r = export_ok("file,mqtt,http");
	ok(r, "file,mqtt,http accepted");
	{
		char topic[SF_TOPIC_MAX + 10];
		char spec[sizeof(topic) + 8];

		memset(topic, 't', sizeof(topic) - 1);
		topic[sizeof(topic) - 1] = 0;
		snprintf(spec, sizeof(spec), "mqtt:%s", topic);
		r = export_ok(spec);
		ok(!r, "over-long topic refused");
	}
	r = export_ok("file,file,file,file,file");
	ok(!r, "more than SF_EXPORT_MAX refused");
	{
		char name[SF_EXPORT_NAME_MAX + 10];
		char spec[sizeof(name) + 8];

		memset(name, 'a', sizeof(name) - 1);
		name[sizeof(name) - 1] = 0;
		snprintf(spec, sizeof(spec), "file:%s", name);
		r = export_ok(spec);
		ok(!r, "over-long name refused");
	}
	r = sf_export_parse("file:../x", &l, &err);
	ok(r < 0 && err->status == SF_EXIT_USAGE &&
		   strstr(err->msg, "plain name"),
	   "the message names the rule");
	sf_error_free(err);
}

static void test_state(void)
{
	struct oci_state st;
	struct sf_error *err = NULL;
	int r = oci_state_parse(
		"{\"id\":\"c1\",\"pid\":42,\"status\":\"creating\",\"bundle\":\"/b\",\"annotations\":{\"k\":\"v\"}}",
		true, &st, &err);

	ok(r == 0, "a runc state parses");
	ok(st.pid == 42 && !strcmp(st.id, "c1") && !strcmp(st.bundle, "/b") &&
		   st.nann == 1 &&
		   !strcmp(oci_kv_get(st.ann, st.nann, "k"), "v"),
	   "fields read");
	oci_state_free(&st);
	r = oci_state_parse("{\"id\":\"c1\"}", true, &st, &err);
	ok(r < 0, "no pid refused");
	sf_error_free(err);
	err = NULL;
	r = oci_state_parse("{\"id\":\"c1\",\"pid\":1.5}", true, &st, &err);
	ok(r < 0, "fractional pid refused");
	sf_error_free(err);
	err = NULL;
	r = oci_state_parse("{\"id\":\"c1\",\"annotations\":{\"a\":1}}", false,
			    &st, &err);
	ok(r < 0, "non-string annotation refused");
	sf_error_free(err);
	err = NULL;
	r = oci_state_parse("", false, &st, &err);
	ok(r < 0 && strstr(err->msg, "empty"), "empty refused");
	sf_error_free(err);
	err = NULL;
	r = oci_state_parse(
		"{\"id\":\"c1\",\"annotations\":{\"io.sfagent.export\":\"mqtt:a\\u0000#\"}}",
		false, &st, &err);
	ok(r < 0 && strstr(err->msg, "NUL"),
	   "NUL in an annotation value refused");
	sf_error_free(err);
	err = NULL;
	r = oci_state_parse(
		"{\"id\":\"c1\",\"annotations\":{\"k\\u0000x\":\"v\"}}", false,
		&st, &err);
	ok(r < 0 && strstr(err->msg, "NUL"),
	   "NUL in an annotation key refused");
	sf_error_free(err);
	err = NULL;
	r = oci_state_parse(
		"{\"id\":\"c1\",\"x\":{\"annotations\":{\"k\":\"a\\u0000\"}},\"annotations\":{\"k\":\"v\"}}",
		false, &st, &err);
	ok(r < 0 && strstr(err->msg, "NUL"),
	   "NUL anywhere is refused, as on the wire and in config.json");
	if (r == 0)
		oci_state_free(&st);
	sf_error_free(err);
}

/* config.json's error (its message), or NULL when it parses */
static char *config_error(const char *json)
{
	struct oci_config c;
	struct sf_error *err = NULL;
	char *m = NULL;

	if (oci_config_parse(json, "c.json", &c, &err) == 0)
		oci_config_free(&c);
	else
		m = xstrdup(err->msg);
	sf_error_free(err);
	return m;
}

static void config_refuses(const char *json, const char *want, const char *what)
{
	char *m = config_error(json);

	ok(m && strstr(m, want), "%s", what);
	if (!m || !strstr(m, want))
		printf("#   got: %s\n", m ? m : "(parsed)");
	free(m);
}

static void test_config(void)
{
	struct oci_config c;
	struct sf_error *err = NULL;
	char *big, *p;
	int r;

	/* a runtime's config: what the hook keeps, past a seccomp profile
	 * (the parse keeps none of it) and comments */
	big = xmalloc(64 << 10);
	p = big +
	    sprintf(big,
		    "/* runc */ {\"ociVersion\": \"1.0.2\", \"linux\": {\"seccomp\": {\"syscalls\": [{\"names\": [");
	for (int i = 0; i < 500; i++)
		p += sprintf(p, "%s\"call_%d\"", i ? "," : "", i);
	sprintf(p,
		"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]}]}},"
		" \"process\": {\"args\": [\"/bin/sh\", \"-c\", \"x\\u00e9\"], \"cwd\": \"/w\", \"env\": [\"SECRET=1\"], \"args2\": 5},"
		" \"hostname\": \"h\", \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
		" \"annotations\": {\"io.sfagent.workload\": \"web\", \"b\": \"\"}, \"x\": {\"process\": 5}} // end");
	r = oci_config_parse(big, "c.json", &c, &err);
	ok(r == 0,
	   "a config with a 500-name seccomp profile and comments parses");
	ok(r == 0 && c.nargs == 3 && !strcmp(c.args[2], "x\xc3\xa9") &&
		   !c.args[3],
	   "process.args kept, decoded, NULL-terminated");
	ok(r == 0 && c.cwd && !strcmp(c.cwd, "/w") && c.hostname &&
		   !strcmp(c.hostname, "h") && c.root_path &&
		   !strcmp(c.root_path, "rootfs"),
	   "cwd, hostname, root.path kept");
	ok(r == 0 && c.nann == 2 &&
		   !strcmp(c.ann[0].key, "io.sfagent.workload") &&
		   !strcmp(c.ann[0].value, "web") && !strcmp(c.ann[1].key, "b"),
	   "annotations kept in order");
	if (r == 0)
		oci_config_free(&c);
	sf_error_free(err);
	err = NULL;
	free(big);
	r = oci_config_parse(
		"{\"annotations\": null, \"hostname\": 5, \"root\": [], \"process\": {\"cwd\": {}}}",
		"c.json", &c, &err);
	ok(r == 0 && !c.nann && !c.hostname && !c.root_path && !c.cwd &&
		   !c.args,
	   "null annotations, fields of another type: none");
	if (r == 0)
		oci_config_free(&c);
	sf_error_free(err);

	/* json_parse()'s order: text, syntax, a key twice, the root's type,
	 * then the fields in the order the hook reads them */
	config_refuses("{\"a\": 1, \"a\": 2", "is not valid JSON",
		       "a syntax error comes before a key twice");
	config_refuses("{\"a\": \"\\u0000\" ", "NUL",
		       "the text's checks come before the syntax");
	config_refuses(
		"{\"z\": {\"y\": 1, \"y\": 2}, \"b\": 1, \"b\": 2}",
		"key `b` twice",
		"a key twice: the first object in document order (the root before what it holds)");
	config_refuses(
		"{\"z\": {\"y\": 1, \"q\": {\"w\": 1, \"w\": 1}, \"y\": 2}, \"process\": {\"x\": 1, \"x\": 1}}",
		"key `y` twice",
		"a key twice: an object before the ones it holds and those after it");
	config_refuses("{\"m\": {\"s\": 1, \"s\": 1, \"r\": 1, \"r\": 1}}",
		       "key `r` twice",
		       "a key twice: the smallest such key of the object");
	config_refuses("[{\"a\": 1, \"a\": 1}]", "key `a` twice",
		       "a key twice comes before the root's type");
	config_refuses("[1]", "is not a JSON object", "the root is an object");
	config_refuses("{\"process\": 5, \"z\": {\"q\": 1, \"q\": 1}}",
		       "key `q` twice",
		       "a key twice comes before the fields' types");
	config_refuses("{\"annotations\": 5, \"process\": null}",
		       "\"process\" is not an object",
		       "process before annotations, wherever they stand");
	config_refuses(
		"{\"annotations\": {\"k\": 1}, \"process\": {\"args\": {}}}",
		"\"process.args\" is not an array", "args before annotations");
	config_refuses(
		"{\"annotations\": {\"k\": [], \"j\": 2}, \"process\": {\"args\": [\"a\", [\"b\"]]}}",
		"\"process.args\" holds a non-string",
		"args' items before annotations");
	config_refuses("{\"annotations\": []}",
		       "\"annotations\" is not an object",
		       "annotations: an object");
	config_refuses("{\"annotations\": {\"k\": \"v\", \"j\": {}, \"i\": 2}}",
		       "annotation `j` is not a string",
		       "the first annotation that is not a string is named");
}

static void test_workload(void)
{
	struct oci_kv k8s[] = {{"io.kubernetes.cri.container-name", "web"},
			       {"io.kubernetes.cri.container-type",
				"container"}};
	struct oci_kv own[] = {{"io.kubernetes.cri.container-name", "web"},
			       {"io.sfagent.workload", "mine"}};
	/* CRI-O passes pod annotations through: its cri.* keys are the pod's */
	struct oci_kv crio[] = {
		{"io.kubernetes.cri.container-name", "forged"},
		{"io.kubernetes.cri.sandbox-name", "forged-pod"},
		{"io.kubernetes.cri-o.ContainerType", "container"},
		{"io.kubernetes.container.name", "real"},
		{"io.kubernetes.pod.name", "real-pod"}};
	struct oci_kv untyped[] = {{"io.kubernetes.cri.container-name", "web"}};
	struct sf_error *err = NULL;
	char *w = NULL;

	sf_workload_from_annotations(k8s, 2, "id1", &w, &err);
	is_str(w, "web", "Kubernetes container name is the default");
	free(w);
	sf_workload_from_annotations(crio, 5, "id1", &w, &err);
	is_str(w, "real", "on CRI-O only CRI-O's own keys name the container");
	free(w);
	ok(sf_k8s_runtime_of(crio, 5) == SF_K8S_CRIO &&
		   !strcmp(sf_k8s_field(crio, 5, SF_K8S_CRIO, "pod_name"),
			   "real-pod"),
	   "CRI-O: the pod name from io.kubernetes.pod.name, not the forged one");
	sf_workload_from_annotations(untyped, 1, "id1", &w, &err);
	is_str(w, "id1", "no runtime's own key: no Kubernetes identity");
	free(w);
	sf_workload_from_annotations(own, 2, "id1", &w, &err);
	is_str(w, "mine", "io.sfagent.workload wins");
	free(w);
	sf_workload_from_annotations(NULL, 0, "id1", &w, &err);
	is_str(w, "id1", "else the container id");
	free(w);
}

static void test_proto(void)
{
	struct sf_msg m =
			      {
				      .op = SF_MSG_REGISTER,
				      .container_id = "c1",
				      .pid = 7,
				      .cgroup_id = 1234,
				      .cgroup_path = "/c1",
				      .bundle = "/b",
				      .workload = "w",
				      .meta_json = "{\"args\":[\"a\"]}",
			      },
		      d;
	struct sf_error *err = NULL;
	size_t len;
	char *enc = sf_msg_encode(&m, &len, &err);
	int r = enc ? sf_msg_decode(enc, len, &d, &err) : -1;

	ok(r == 0, "register round trip");
	ok(d.op == SF_MSG_REGISTER && d.pid == 7 && d.cgroup_id == 1234 &&
		   !strcmp(d.cgroup_path, "/c1") &&
		   !strcmp(d.export_spec, "file") &&
		   !strcmp(d.meta_json, "{\"args\":[\"a\"]}"),
	   "fields survive");
	sf_msg_free(&d);
	free(enc);

	static const char *const bad[] = {
		"",
		"null",
		"[]",
		"{\"op\":\"ack\"}",
		"{\"v\":2,\"op\":\"ack\"}",
		"{\"v\":1,\"op\":\"bogus\"}",
		"{\"v\":1,\"op\":\"unregister\"}",
		"{\"v\":1,\"op\":\"register\",\"container_id\":\"c\",\"pid\":1,\"cgroup_id\":2,\"cgroup_path\":\"/\",\"bundle\":\"/b\",\"workload\":\"w\"}",
		"{\"v\":1,\"op\":\"register\",\"container_id\":\"c\",\"pid\":1,\"cgroup_id\":2,\"cgroup_path\":\"/a/../b\",\"bundle\":\"/b\",\"workload\":\"w\"}",
		"{\"v\":1,\"op\":\"register\",\"container_id\":\"c\",\"pid\":1,\"cgroup_id\":2,\"cgroup_path\":\"/a\",\"bundle\":\"/b\",\"workload\":\"w\",\"meta\":[1]}",
		"{\"v\":1,\"op\":\"register\",\"container_id\":\"c\",\"pid\":-1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = sf_msg_decode(bad[i], strlen(bad[i]), &d, &err);
		ok(r < 0 && err->status == SF_EXIT_USAGE,
		   "malformed message %zu refused", i);
		sf_error_free(err);
		err = NULL;
	}
}

int main(void)
{
	test_export();
	test_state();
	test_config();
	test_workload();
	test_proto();
	return tap_done();
}
