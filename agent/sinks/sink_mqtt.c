// SPDX-License-Identifier: GPL-2.0
/*
 * MQTT sink (paho-mqtt-c, asynchronous client): the protocol part of a
 * network sink (sink_net.h has the queue, the thread, backoff and drain).
 *
 * Up to WINDOW messages are in flight; a message leaves the queue once the
 * broker acknowledged it (QoS 1) or it was written to the socket (QoS 0).
 * After a broken connection everything not acknowledged is sent again, in
 * order: at QoS 1 nothing is lost while the backlog fits the queue (a
 * message may arrive twice: at-least-once).  Paho's own reconnect and
 * offline buffering are not used: they cannot tell us what they dropped.
 *
 * Paho's send thread (one per process) sleeps on a condition variable
 * without a predicate, for up to 1 s, and only a new command signals it
 * (paho 1.3.12, MQTTAsync_sendThread): a signal sent while it is busy is
 * lost, and neither a PUBACK nor the end of a partial write of a big
 * message wakes it.  With our window full nothing new is sent, so the
 * connection idled ~1 s at a time (3-4 times per second of throughput
 * flat out at batch 1024).  The base's kick (sink_net_ops.kick) calls in
 * after SINK_NET_KICK_MS without progress: a publish to a second client
 * that is never connected (kick_client), which keeps at most one such
 * command buffered, never sent, and whose only effect is that signal.
 *
 * Paho's receive thread continues a write that the socket cut (its send
 * buffer full) only once it reads something or its 1 s poll times out
 * (Socket_getReadySocket polls the write set without waiting): with a
 * window of 128 big messages (batch 1024: ~250 KB each, 32 MB) the socket
 * buffer was full most of the time, and the stream stalled up to 1 s when
 * nothing was left to acknowledge.  So the base also bounds the bytes in
 * flight (WINDOW_BYTES): a message goes to paho when it fits beside those
 * not yet acknowledged, or alone.
 *
 * The kick client is the process's, made once and never destroyed, so
 * that closing a sink never destroys paho's last client: that stops paho's
 * threads (MQTTAsync_destroy -> MQTTAsync_terminate -> MQTTAsync_stop),
 * which polls for them in 100 ms sleeps: 100-200 ms at every -X exit and
 * at every last MQTT stream's end of a daemon.  Paho's threads then live
 * until the process exits (idle: no socket, no command).
 */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "lazy_paho.h"
#include "options.h"
#include "sink_net.h"

#define WINDOW \
	128 /* messages in flight: paho scans its in-flight list per send */
#define CONNECT_TIMEOUT_S 5
/* bytes in flight: paho's writes are then not cut by a full socket send
 * buffer (see the top of the file): what a window of batch 64 holds (128 x
 * 16 KB), 8 messages of batch 1024 */
#define WINDOW_BYTES (2u << 20)

struct sink_mqtt;

/* One publish in flight; freed by its callback (or at close). */
struct mqtt_send {
	struct sink_mqtt *m;
	uint64_t id; /* the sinkq message */
	uint32_t gen; /* connection it was sent on */
	struct mqtt_send *prev, *next;
};

struct sink_mqtt {
	struct sink_net net; /* net.q.mu guards sends and first_* */
	MQTTAsync client;
	char *topic;
	int qos;
	MQTTAsync_connectOptions conn;
	MQTTAsync_SSLOptions ssl;
	char *user, *password;
	bool background; /* connected by the sender thread only (-D) */
	bool first_failed; /* the connect at open was refused: why */
	int first_code;
	char *first_msg;
	struct mqtt_send *sends;
};

static void send_unlink(struct mqtt_send *x)
{
	struct sink_mqtt *m = x->m;

	if (x->prev)
		x->prev->next = x->next;
	else
		m->sends = x->next;
	if (x->next)
		x->next->prev = x->prev;
	free(x);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *d)
{
	sink_net_up(ctx);
}

static const char *connack_reason(int code);

static void on_connect_fail(void *ctx, MQTTAsync_failureData *d)
{
	struct sink_mqtt *m = ctx;

	pthread_mutex_lock(&m->net.q.mu);
	if (!m->first_failed) {
		m->first_code = d ? d->code : MQTTASYNC_FAILURE;
		m->first_msg = d && d->message ? xstrdup(d->message) : NULL;
		m->first_failed = true;
	}
	pthread_mutex_unlock(&m->net.q.mu);
	if (m->background) {
		/* no open waits to tell it: told here, once until it works */
		const char *why = connack_reason(d ? d->code : 0);
		char buf[256];

		snprintf(buf, sizeof(buf), "cannot connect: %s",
			 why		   ? why
			 : d && d->message ? d->message
					   : "connection failed");
		sink_net_down(&m->net, buf);
	} else {
		sink_net_down(&m->net, NULL);
	}
}

static void on_connection_lost(void *ctx, char *cause)
{
	sink_net_down(ctx, "connection lost");
}

static int on_message(void *ctx, char *topic, int len, MQTTAsync_message *msg)
{
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

/* The send's record leaves the list before the base hears of it. */
static void send_done(struct mqtt_send *x, bool ok)
{
	struct sink_mqtt *m = x->m;
	uint64_t id = x->id;
	uint32_t gen = x->gen;

	pthread_mutex_lock(&m->net.q.mu);
	send_unlink(x);
	pthread_mutex_unlock(&m->net.q.mu);
	if (ok)
		sink_net_acked(&m->net, id, gen);
	else
		sink_net_resend(&m->net, gen);
}

static void on_send_ok(void *ctx, MQTTAsync_successData *d)
{
	send_done(ctx, true);
}

static void on_send_fail(void *ctx, MQTTAsync_failureData *d)
{
	send_done(ctx, false);
}

static int mqtt_connect(struct sink_net *n)
{
	struct sink_mqtt *m = (struct sink_mqtt *)n;

	return MQTTAsync_connect(m->client, &m->conn) == MQTTASYNC_SUCCESS ? 0
									   : -1;
}

static enum sink_net_sent mqtt_send(struct sink_net *n,
				    const struct sink_net_msg *msg, char *why,
				    size_t why_len)
{
	struct sink_mqtt *m = (struct sink_mqtt *)n;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	struct mqtt_send *x = xzalloc(sizeof(*x));
	size_t len = msg->len;
	int rc;

	/* a message is whole records; the last '\n' is not sent, as
	 * quixote-export sends one bare JSON object per message */
	if (len && msg->buf[len - 1] == '\n')
		len--;
	x->m = m;
	x->id = msg->id;
	x->gen = msg->gen;
	pthread_mutex_lock(&n->q.mu);
	x->next = m->sends;
	if (m->sends)
		m->sends->prev = x;
	m->sends = x;
	pthread_mutex_unlock(&n->q.mu);
	ro.onSuccess = on_send_ok;
	ro.onFailure = on_send_fail;
	ro.context = x;
	/* paho copies the payload */
	rc = MQTTAsync_send(m->client, m->topic, len, (void *)msg->buf, m->qos,
			    0, &ro);
	if (rc == MQTTASYNC_SUCCESS)
		return SINK_NET_PENDING;
	pthread_mutex_lock(&n->q.mu);
	send_unlink(x);
	pthread_mutex_unlock(&n->q.mu);
	return rc == MQTTASYNC_DISCONNECTED ? SINK_NET_DOWN_NOW
					    : SINK_NET_RESEND;
}

static MQTTAsync kick_client; /* see the top of the file */
static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void kick_create(void)
{
	MQTTAsync_createOptions o = MQTTAsync_createOptions_initializer;

	o.sendWhileDisconnected = 1;
	o.allowDisconnectedSendAtAnyTime = 1;
	o.maxBufferedMessages = 1;
	o.deleteOldestMessages = 1;
	/* never connected: the address is not used */
	if (MQTTAsync_createWithOptions(&kick_client, "tcp://127.0.0.1:1",
					"sfagent-kick",
					MQTTCLIENT_PERSISTENCE_NONE, NULL,
					&o) != MQTTASYNC_SUCCESS) {
		log_debug("MQTT: no kick client: paho may idle up to 1 s");
		kick_client = NULL;
	}
}

/* Wakes paho's send thread (see the top of the file). */
static void mqtt_kick(struct sink_net *n)
{
	if (kick_client)
		MQTTAsync_send(kick_client, "kick", 0, "", 0, 0, NULL);
}

static void mqtt_close(struct sink_net *n)
{
	struct sink_mqtt *m = (struct sink_mqtt *)n;

	if (m->client) {
		if (MQTTAsync_isConnected(m->client)) {
			MQTTAsync_disconnectOptions d =
				MQTTAsync_disconnectOptions_initializer;

			d.timeout = 1000;
			MQTTAsync_disconnect(m->client, &d);
			/* no callback: destroy waits for paho's threads; the
			 * send thread closes at once when nothing is in
			 * flight (all acked: the usual case) */
			for (int i = 0;
			     i < 1000 && MQTTAsync_isConnected(m->client); i++)
				usleep(1000);
		}
		MQTTAsync_destroy(&m->client);
	}
	/* sends that never got an answer */
	while (m->sends)
		send_unlink(m->sends);
	free(m->topic);
	free(m->user);
	sink_net_free_secret(m->password);
	free(m->first_msg);
}

static const struct sink_net_ops mqtt_net_ops = {
	.connect = mqtt_connect,
	.send = mqtt_send,
	.close = mqtt_close,
	.kick = mqtt_kick,
};

static const char *connack_reason(int code)
{
	switch (code) {
	case 1:
		return "unacceptable protocol version";
	case 2:
		return "client id rejected (check --mqtt-client-id)";
	case 3:
		return "server unavailable";
	case 4:
		return "bad user name or password (check --mqtt-user and --mqtt-password-file)";
	case 5:
		return "not authorized (check --mqtt-user and the password from --mqtt-password-file or SFAGENT_MQTT_PASSWORD)";
	default:
		return NULL;
	}
}

static char *broker_uri(const struct sf_options *o, bool tls)
{
	if (strchr(o->broker, ':') && o->broker[0] != '[')
		return xasprintf("%s://[%s]:%d", tls ? "ssl" : "tcp", o->broker,
				 o->port);
	return xasprintf("%s://%s:%d", tls ? "ssl" : "tcp", o->broker, o->port);
}

/* The connect options: keep-alive, credentials, TLS. */
static void set_conn(struct sink_mqtt *m, const struct sf_options *o, bool tls)
{
	MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;

	conn.keepAliveInterval = 20;
	conn.cleansession = 1;
	conn.connectTimeout = CONNECT_TIMEOUT_S;
	conn.maxInflight = WINDOW + 16;
	conn.onSuccess = on_connect_ok;
	conn.onFailure = on_connect_fail;
	conn.context = m;
	if (o->mqtt_user) {
		m->user = xstrdup(o->mqtt_user);
		conn.username = m->user;
		conn.password = m->password;
	}
	if (tls) {
		ssl.trustStore = o->mqtt_cafile;
		ssl.keyStore = o->mqtt_cert;
		ssl.privateKey = o->mqtt_key;
		ssl.enableServerCertAuth = o->mqtt_cafile != NULL;
		ssl.verify = o->mqtt_cafile != NULL;
		m->ssl = ssl;
		conn.ssl = &m->ssl;
	}
	m->conn = conn;
}

/* The client, before any connection: files, password, address. */
static int mqtt_setup(struct sink_mqtt *m, const struct sf_options *o,
		      const char *uri, const char *client_id, bool tls,
		      struct sf_error **err)
{
	const char *files[] = {o->mqtt_cafile, o->mqtt_cert, o->mqtt_key};
	int rc;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i] && access(files[i], R_OK) < 0)
			return sf_fail(err, errno, "cannot read TLS file `%s`",
				       files[i]);
	if (sink_net_read_secret(o->mqtt_password_file, "--mqtt-password-file",
				 "SFAGENT_MQTT_PASSWORD", &m->password,
				 err) < 0)
		return -1;
	if (m->password && !o->mqtt_user)
		return sf_usage(
			err,
			"SFAGENT_MQTT_PASSWORD is set but no --mqtt-user given");
	rc = MQTTAsync_create(&m->client, uri, client_id,
			      MQTTCLIENT_PERSISTENCE_NONE, NULL);
	if (rc != MQTTASYNC_SUCCESS)
		return sf_usage(
			err, "bad MQTT broker address `%s` (-b/-p): error %d",
			uri, rc);
	rc = MQTTAsync_setCallbacks(m->client, m, on_connection_lost,
				    on_message, NULL);
	if (rc != MQTTASYNC_SUCCESS)
		return sf_fail(err, 0, "MQTT client setup: error %d", rc);
	pthread_once(&kick_once, kick_create);
	set_conn(m, o, tls);
	return 0;
}

/* The first connection, made here: credentials that do not work or a
 * broker that is not there fail the start. */
static int first_connect(struct sink_mqtt *m, const char *uri, bool tls,
			 struct sf_error **err)
{
	const char *why;

	if (sink_net_connect_now(&m->net) < 0)
		return sf_fail(err, 0, "cannot connect to MQTT broker %s", uri);
	if (sink_net_wait_connected(&m->net, (CONNECT_TIMEOUT_S + 2) * 1000))
		return 0;
	pthread_mutex_lock(&m->net.q.mu);
	why = connack_reason(m->first_code);
	if (!m->first_failed)
		sf_fail(err, ETIMEDOUT, "cannot connect to MQTT broker %s",
			uri);
	else if (why)
		sf_fail(err, 0, "MQTT broker %s refused the connection: %s",
			uri, why);
	else
		sf_fail(err, 0,
			"cannot connect to MQTT broker %s: %s (is the broker running and reachable? check -b and -p%s)",
			uri, m->first_msg ? m->first_msg : "connection failed",
			tls ? ", and the TLS files" : "");
	pthread_mutex_unlock(&m->net.q.mu);
	return -1;
}

static struct sink *mqtt_open(const struct sf_options *o, const char *topic,
			      const char *client_id, bool wait,
			      struct sf_error **err)
{
	bool tls = o->mqtt_cafile || o->mqtt_cert;
	cleanup_free char *uri = NULL;
	struct sink_mqtt *m;
	struct sink_net_conf c = {
		.max_rec = o->queue_size,
		.batch = o->mqtt_batch,
		.window = WINDOW,
		.window_bytes = WINDOW_BYTES,
		.drain_timeout = o->drain_timeout,
		.kind = "mqtt",
		.dest = topic,
	};

	if (lazy_paho_load(err) < 0)
		return NULL;
	uri = broker_uri(o, tls);
	m = xzalloc(sizeof(*m));
	sink_net_conf_spool(&c, o);
	sink_net_init(&m->net, &mqtt_net_ops, &c,
		      xasprintf("MQTT %s topic `%s`", uri, topic));
	m->topic = xstrdup(topic);
	m->qos = o->mqtt_qos;
	m->background = !wait;
	if (mqtt_setup(m, o, uri, client_id, tls, err) < 0)
		goto fail;
	if (wait && first_connect(m, uri, tls, err) < 0)
		goto fail;
	/* in the background, the thread retries with backoff */
	if (!wait)
		sink_net_connect_now(&m->net);
	if (sink_net_start(&m->net, err) < 0)
		goto fail;
	return &m->net.base;
fail:
	sink_close(&m->net.base);
	return NULL;
}

struct sink *sink_mqtt_open(const struct sf_options *o, const char *topic,
			    const char *client_id, struct sf_error **err)
{
	return mqtt_open(o, topic, client_id, true, err);
}

struct sink *sink_mqtt_open_background(const struct sf_options *o,
				       const char *topic, const char *client_id,
				       struct sf_error **err)
{
	return mqtt_open(o, topic, client_id, false, err);
}

static struct sink *open_mqtt(struct agent *a, struct workload *wl,
			      const char *arg, struct sf_error **err)
{
	const struct sf_options *o = a->opt;
	cleanup_free char *topic = NULL, *client_id = NULL;

	if (!o->broker) {
		sf_usage(err, "MQTT output needs a broker: -b HOST");
		return NULL;
	}
	topic = sink_topic_expand(arg	     ? arg
				  : o->topic ? o->topic
					     : SINK_TOPIC_DEFAULT,
				  a->exporter, wl->name, wl->container_id, err);
	if (!topic)
		return NULL;
	/* one client per stream: in daemon mode --mqtt-client-id is a prefix,
	 * as two clients with one id would push each other off the broker */
	if (o->mqtt_client_id && o->mode == SF_MODE_DAEMON)
		client_id = xasprintf("%s-%u", o->mqtt_client_id, wl->slot);
	else if (o->mqtt_client_id)
		client_id = xstrdup(o->mqtt_client_id);
	else
		client_id = xasprintf("sfagent-%.64s-%d-%u", a->exporter,
				      (int)getpid(), wl->slot);
	/* the daemon connects in the background: a registration never waits
	 * for the broker, and a broker that is away when a container starts
	 * costs nothing but queue room */
	if (o->mode == SF_MODE_DAEMON)
		return sink_mqtt_open_background(o, topic, client_id, err);
	return sink_mqtt_open(o, topic, client_id, err);
}

static bool want_mqtt(const struct sf_options *o)
{
	return o->broker;
}

const struct sink_kind sink_mqtt_kind = {
	.name = "mqtt",
	.wanted = want_mqtt,
	.open = open_mqtt,
};
