// SPDX-License-Identifier: GPL-2.0
/*
 * MQTT sink (paho-mqtt-c, asynchronous client).
 *
 * The ring-buffer consumer only appends to a bounded queue (sinkq.h); a
 * thread of the sink's own publishes from it, keeps up to WINDOW messages in
 * flight, and removes a message only once the broker acknowledged it (QoS 1)
 * or it was written to the socket (QoS 0).  When the connection breaks, the
 * thread reconnects with backoff and sends again everything not acknowledged,
 * in order: at QoS 1 nothing is lost while the backlog fits the queue (a
 * message may arrive twice: at-least-once).  Paho's own reconnect and offline
 * buffering are not used: they cannot tell us what they dropped.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <MQTTAsync.h>

#include "options.h"
#include "sink.h"
#include "sinkq.h"

#define WINDOW \
	128 /* messages in flight: paho scans its in-flight list per send */
#define CONNECT_TIMEOUT_S 5
#define BACKOFF_MIN_NS	  (100 * 1000000ull)
#define BACKOFF_MAX_NS	  (5 * 1000000000ull)

enum mqtt_state { MQTT_DOWN, MQTT_CONNECTING, MQTT_UP };

struct sink_mqtt;

/* One publish in flight; freed by its callback (or at close). */
struct mqtt_send {
	struct sink_mqtt *m;
	uint64_t id; /* the sinkq message */
	uint32_t gen; /* connection it was sent on */
	struct mqtt_send *prev, *next;
};

struct sink_mqtt {
	struct sink base;
	MQTTAsync client;
	struct sinkq q; /* q.mu guards all below */
	char *topic;
	int qos;
	MQTTAsync_connectOptions conn;
	MQTTAsync_SSLOptions ssl;
	char *user, *password;
	enum mqtt_state state;
	uint32_t gen;
	unsigned inflight;
	uint64_t retry_at, backoff;
	bool first_done; /* the connect at open has answered */
	int first_code;
	char *first_msg;
	bool stop, dead, thread_running, lost_logged;
	pthread_t thread;
	struct mqtt_send *sends;
	unsigned drain_timeout;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void wait_until(struct sink_mqtt *m, uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = deadline_ns / 1000000000ull,
		.tv_nsec = deadline_ns % 1000000000ull,
	};

	pthread_cond_timedwait(&m->q.cv, &m->q.mu, &ts);
}

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

/* Called with the lock: the connection is gone, resend from the start. */
static void connection_down(struct sink_mqtt *m)
{
	m->state = MQTT_DOWN;
	m->gen++;
	m->inflight = 0;
	sinkq_rewind(&m->q);
	m->retry_at = mono_ns() + m->backoff;
	m->backoff = m->backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS
						     : m->backoff * 2;
	pthread_cond_broadcast(&m->q.cv);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *d)
{
	struct sink_mqtt *m = ctx;

	pthread_mutex_lock(&m->q.mu);
	m->state = MQTT_UP;
	m->gen++;
	m->inflight = 0;
	m->backoff = BACKOFF_MIN_NS;
	sinkq_rewind(&m->q);
	if (m->lost_logged)
		log_warn("%s: connected again; sending %llu queued records",
			 m->base.desc, (unsigned long long)m->q.nrec);
	m->lost_logged = false;
	m->first_done = true;
	pthread_cond_broadcast(&m->q.cv);
	pthread_mutex_unlock(&m->q.mu);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *d)
{
	struct sink_mqtt *m = ctx;

	pthread_mutex_lock(&m->q.mu);
	if (!m->first_done) {
		m->first_code = d ? d->code : MQTTASYNC_FAILURE;
		m->first_msg = d && d->message ? xstrdup(d->message) : NULL;
		m->first_done = true;
	}
	connection_down(m);
	pthread_mutex_unlock(&m->q.mu);
}

static void on_connection_lost(void *ctx, char *cause)
{
	struct sink_mqtt *m = ctx;

	pthread_mutex_lock(&m->q.mu);
	if (!m->lost_logged)
		log_warn(
			"%s: connection lost; reconnecting, keeping up to %llu records",
			m->base.desc, (unsigned long long)m->q.max_rec);
	m->lost_logged = true;
	m->backoff = BACKOFF_MIN_NS;
	connection_down(m);
	pthread_mutex_unlock(&m->q.mu);
}

static int on_message(void *ctx, char *topic, int len, MQTTAsync_message *msg)
{
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

static void on_send_ok(void *ctx, MQTTAsync_successData *d)
{
	struct mqtt_send *x = ctx;
	struct sink_mqtt *m = x->m;

	pthread_mutex_lock(&m->q.mu);
	if (x->gen == m->gen)
		m->inflight--;
	/* even from an older connection: the broker has it */
	sinkq_ack(&m->q, x->id);
	send_unlink(x);
	pthread_mutex_unlock(&m->q.mu);
}

static void on_send_fail(void *ctx, MQTTAsync_failureData *d)
{
	struct mqtt_send *x = ctx;
	struct sink_mqtt *m = x->m;

	pthread_mutex_lock(&m->q.mu);
	if (x->gen == m->gen && m->state == MQTT_UP) {
		/* send again from the first unacknowledged message, in order */
		m->gen++;
		m->inflight = 0;
		sinkq_rewind(&m->q);
		pthread_cond_broadcast(&m->q.cv);
	}
	send_unlink(x);
	pthread_mutex_unlock(&m->q.mu);
}

/* With the lock held; drops it around calls into paho, whose threads take
 * our lock in the callbacks. */
static void publish_some(struct sink_mqtt *m)
{
	struct sinkq_msg *msg;

	while (m->state == MQTT_UP && m->inflight < WINDOW &&
	       (msg = sinkq_take(&m->q))) {
		MQTTAsync_responseOptions ro =
			MQTTAsync_responseOptions_initializer;
		struct mqtt_send *x = xzalloc(sizeof(*x));
		size_t len = msg->buf.len;
		char *payload;
		int rc;

		/* a message is whole records; the last '\n' is not sent, as
		 * quixote-export sends one bare JSON object per message */
		if (len && msg->buf.data[len - 1] == '\n')
			len--;
		/* our copy: the queue may free or move the message meanwhile */
		payload = xmalloc(len ? len : 1);
		memcpy(payload, msg->buf.data, len);
		x->m = m;
		x->id = msg->id;
		x->gen = m->gen;
		x->next = m->sends;
		if (m->sends)
			m->sends->prev = x;
		m->sends = x;
		m->inflight++;
		ro.onSuccess = on_send_ok;
		ro.onFailure = on_send_fail;
		ro.context = x;
		pthread_mutex_unlock(&m->q.mu);
		rc = MQTTAsync_send(m->client, m->topic, len, payload, m->qos,
				    0, &ro);
		free(payload);
		pthread_mutex_lock(&m->q.mu);
		if (rc != MQTTASYNC_SUCCESS) {
			send_unlink(x);
			if (m->state == MQTT_UP) {
				m->gen++;
				m->inflight = 0;
				sinkq_rewind(&m->q);
			}
			if (rc == MQTTASYNC_DISCONNECTED && m->state == MQTT_UP)
				connection_down(m);
			wait_until(m, mono_ns() + 10 * 1000000ull);
			return;
		}
	}
}

static void *mqtt_thread(void *arg)
{
	struct sink_mqtt *m = arg;

	pthread_mutex_lock(&m->q.mu);
	while (!m->stop) {
		uint64_t now = mono_ns();

		if (m->state == MQTT_DOWN && now >= m->retry_at) {
			int rc;

			m->state = MQTT_CONNECTING;
			pthread_mutex_unlock(&m->q.mu);
			rc = MQTTAsync_connect(m->client, &m->conn);
			pthread_mutex_lock(&m->q.mu);
			if (rc != MQTTASYNC_SUCCESS &&
			    m->state == MQTT_CONNECTING)
				connection_down(m);
			continue;
		}
		publish_some(m);
		if (m->stop)
			break;
		if (m->state == MQTT_DOWN &&
		    m->retry_at < now + 100 * 1000000ull)
			wait_until(m, m->retry_at);
		else if (!(m->state == MQTT_UP && m->inflight < WINDOW &&
			   m->q.next < m->q.count))
			wait_until(m, now + 100 * 1000000ull);
	}
	pthread_mutex_unlock(&m->q.mu);
	return NULL;
}

static void stop_thread(struct sink_mqtt *m)
{
	if (!m->thread_running)
		return;
	pthread_mutex_lock(&m->q.mu);
	m->stop = true;
	pthread_cond_broadcast(&m->q.cv);
	pthread_mutex_unlock(&m->q.mu);
	pthread_join(m->thread, NULL);
	m->thread_running = false;
}

static int mqtt_write(struct sink *s, const char *buf, size_t len,
		      struct sf_error **err)
{
	struct sink_mqtt *m = (struct sink_mqtt *)s;
	uint64_t n = sinkq_push(&m->q, buf, len, false);

	if (n)
		sink_count_dropped(s, n);
	return 0;
}

static int mqtt_write_control(struct sink *s, const char *buf, size_t len,
			      struct sf_error **err)
{
	struct sink_mqtt *m = (struct sink_mqtt *)s;

	sinkq_push(&m->q, buf, len, true);
	return 0;
}

static void give_up(struct sink_mqtt *m);

/* At the end of a stream: bounded wait for delivery, count the rest. */
static int mqtt_flush(struct sink *s, struct sf_error **err)
{
	struct sink_mqtt *m = (struct sink_mqtt *)s;
	uint64_t deadline = mono_ns() + m->drain_timeout * 1000000000ull;

	pthread_mutex_lock(&m->q.mu);
	while (m->q.count && !m->dead && mono_ns() < deadline)
		wait_until(m, deadline);
	if (!m->q.count) {
		pthread_mutex_unlock(&m->q.mu);
		return 0;
	}
	pthread_mutex_unlock(&m->q.mu);
	give_up(m);
	return 0;
}

/* Gone for good: stop sending so the queue can be emptied safely. */
static void give_up(struct sink_mqtt *m)
{
	uint64_t lost;

	stop_thread(m);
	pthread_mutex_lock(&m->q.mu);
	lost = sinkq_discard(&m->q);
	m->dead = true;
	pthread_mutex_unlock(&m->q.mu);
	if (!lost)
		return;
	sink_count_dropped(&m->base, lost);
	log_error(
		"%s: %llu records not delivered within %us (broker down?): counted as missed",
		m->base.desc, (unsigned long long)lost, m->drain_timeout);
}

static uint64_t mqtt_drain(struct sink *s, bool give)
{
	struct sink_mqtt *m = (struct sink_mqtt *)s;
	uint64_t n;

	if (give) {
		give_up(m);
		return 0;
	}
	pthread_mutex_lock(&m->q.mu);
	n = m->q.nrec;
	pthread_mutex_unlock(&m->q.mu);
	return n;
}

static void mqtt_close(struct sink *s)
{
	struct sink_mqtt *m = (struct sink_mqtt *)s;

	stop_thread(m);
	if (m->client) {
		if (MQTTAsync_isConnected(m->client)) {
			MQTTAsync_disconnectOptions d =
				MQTTAsync_disconnectOptions_initializer;

			d.timeout = 1000;
			MQTTAsync_disconnect(m->client, &d);
			/* no callback: destroy waits for paho's threads */
			for (int i = 0;
			     i < 100 && MQTTAsync_isConnected(m->client); i++)
				usleep(10000);
		}
		MQTTAsync_destroy(&m->client);
	}
	/* sends that never got an answer */
	while (m->sends)
		send_unlink(m->sends);
	sinkq_fini(&m->q);
	free(m->topic);
	free(m->user);
	if (m->password) {
		explicit_bzero(m->password, strlen(m->password));
		free(m->password);
	}
	free(m->first_msg);
	free(s->desc);
	free(m);
}

static bool mqtt_congested(struct sink *s)
{
	struct sink_mqtt *m = (struct sink_mqtt *)s;
	bool c;

	pthread_mutex_lock(&m->q.mu);
	c = !m->dead && (m->state != MQTT_UP || m->q.nrec >= m->q.max_rec);
	pthread_mutex_unlock(&m->q.mu);
	return c;
}

static const struct sink_ops mqtt_ops = {
	.name = "mqtt",
	.write = mqtt_write,
	.write_control = mqtt_write_control,
	.flush = mqtt_flush,
	.close = mqtt_close,
	.drain = mqtt_drain,
	.congested = mqtt_congested,
};

/* Password from --mqtt-password-file, else $SFAGENT_MQTT_PASSWORD. */
static int read_password(const struct sf_options *o, char **out,
			 struct sf_error **err)
{
	const char *env = getenv("SFAGENT_MQTT_PASSWORD");
	char *buf = NULL;
	size_t len = 0;

	*out = NULL;
	if (o->mqtt_password_file) {
		if (read_file(o->mqtt_password_file, &buf, &len, 4096, err) < 0)
			return sf_error_wrap(
				err,
				"MQTT password file (--mqtt-password-file)");
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = 0;
		*out = buf;
	} else if (env) {
		*out = xstrdup(env);
	}
	return 0;
}

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

static struct sink *mqtt_open(const struct sf_options *o, const char *topic,
			      const char *client_id, bool wait,
			      struct sf_error **err)
{
	MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	bool tls = o->mqtt_cafile || o->mqtt_cert;
	cleanup_free char *uri = NULL;
	struct sink_mqtt *m;
	uint64_t deadline;
	int rc;

	const char *files[] = {o->mqtt_cafile, o->mqtt_cert, o->mqtt_key};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i] && access(files[i], R_OK) < 0) {
			sf_fail(err, errno, "cannot read TLS file `%s`",
				files[i]);
			return NULL;
		}
	m = xzalloc(sizeof(*m));
	m->base.ops = &mqtt_ops;
	m->topic = xstrdup(topic);
	m->qos = o->mqtt_qos;
	m->drain_timeout = o->drain_timeout;
	m->backoff = BACKOFF_MIN_NS;
	sinkq_init(&m->q, o->queue_size, o->mqtt_batch);
	if (strchr(o->broker, ':') && o->broker[0] != '[')
		uri = xasprintf("%s://[%s]:%d", tls ? "ssl" : "tcp", o->broker,
				o->port);
	else
		uri = xasprintf("%s://%s:%d", tls ? "ssl" : "tcp", o->broker,
				o->port);
	m->base.desc = xasprintf("MQTT %s topic `%s`", uri, topic);
	if (read_password(o, &m->password, err) < 0)
		goto fail;
	if (m->password && !o->mqtt_user) {
		sf_usage(
			err,
			"SFAGENT_MQTT_PASSWORD is set but no --mqtt-user given");
		goto fail;
	}
	rc = MQTTAsync_create(&m->client, uri, client_id,
			      MQTTCLIENT_PERSISTENCE_NONE, NULL);
	if (rc != MQTTASYNC_SUCCESS) {
		sf_usage(err, "bad MQTT broker address `%s` (-b/-p): error %d",
			 uri, rc);
		goto fail;
	}
	rc = MQTTAsync_setCallbacks(m->client, m, on_connection_lost,
				    on_message, NULL);
	if (rc != MQTTASYNC_SUCCESS) {
		sf_fail(err, 0, "MQTT client setup: error %d", rc);
		goto fail;
	}
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

	/* The first connection is made here, synchronously: credentials that
	 * do not work or a broker that is not there fail the start. */
	pthread_mutex_lock(&m->q.mu);
	m->state = MQTT_CONNECTING;
	pthread_mutex_unlock(&m->q.mu);
	rc = MQTTAsync_connect(m->client, &m->conn);
	if (rc != MQTTASYNC_SUCCESS && wait) {
		sf_fail(err, 0, "cannot connect to MQTT broker %s: error %d",
			uri, rc);
		goto fail;
	}
	if (!wait) {
		/* the thread retries with backoff (on_connect_fail or here) */
		pthread_mutex_lock(&m->q.mu);
		if (rc != MQTTASYNC_SUCCESS && m->state == MQTT_CONNECTING)
			connection_down(m);
		pthread_mutex_unlock(&m->q.mu);
		goto start;
	}
	deadline = mono_ns() + (CONNECT_TIMEOUT_S + 2) * 1000000000ull;
	pthread_mutex_lock(&m->q.mu);
	while (!m->first_done && mono_ns() < deadline)
		wait_until(m, deadline);
	if (m->state != MQTT_UP) {
		const char *why = connack_reason(m->first_code);

		if (!m->first_done)
			sf_fail(err, ETIMEDOUT,
				"cannot connect to MQTT broker %s", uri);
		else if (why)
			sf_fail(err, 0,
				"MQTT broker %s refused the connection: %s",
				uri, why);
		else
			sf_fail(err, 0,
				"cannot connect to MQTT broker %s: %s (is the broker running and reachable? check -b and -p%s)",
				uri,
				m->first_msg ? m->first_msg
					     : "connection failed",
				tls ? ", and the TLS files" : "");
		pthread_mutex_unlock(&m->q.mu);
		goto fail;
	}
	pthread_mutex_unlock(&m->q.mu);
start:
	if (pthread_create(&m->thread, NULL, mqtt_thread, m) != 0) {
		sf_fail(err, errno, "MQTT sender thread");
		goto fail;
	}
	m->thread_running = true;
	return &m->base;
fail:
	mqtt_close(&m->base);
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
