/* SPDX-License-Identifier: GPL-2.0 */
/* paho-mqtt (the MQTT output), opened by the first sink that needs it (agent/lazylib.h). */
#ifndef SF_LAZY_PAHO_H
#define SF_LAZY_PAHO_H

#include <MQTTAsync.h>

#include "lazylib.h"

/* every function of the library the agent calls */
#define LAZY_PAHO_FNS(X)               \
	X(MQTTAsync_connect)           \
	X(MQTTAsync_create)            \
	X(MQTTAsync_createWithOptions) \
	X(MQTTAsync_destroy)           \
	X(MQTTAsync_disconnect)        \
	X(MQTTAsync_free)              \
	X(MQTTAsync_freeMessage)       \
	X(MQTTAsync_isConnected)       \
	X(MQTTAsync_send)              \
	X(MQTTAsync_setCallbacks)

struct lazy_paho {
#define LAZY_FIELD(f) __typeof__(f) *f;
	LAZY_PAHO_FNS(LAZY_FIELD)
#undef LAZY_FIELD
};

extern struct lazy_paho lazy_paho;

/* -1: err says which library could not be loaded */
int lazy_paho_load(struct sf_error **err);

#ifndef LAZY_NO_REDIRECT
#define MQTTAsync_connect	    (lazy_paho.MQTTAsync_connect)
#define MQTTAsync_create	    (lazy_paho.MQTTAsync_create)
#define MQTTAsync_createWithOptions (lazy_paho.MQTTAsync_createWithOptions)
#define MQTTAsync_destroy	    (lazy_paho.MQTTAsync_destroy)
#define MQTTAsync_disconnect	    (lazy_paho.MQTTAsync_disconnect)
#define MQTTAsync_free		    (lazy_paho.MQTTAsync_free)
#define MQTTAsync_freeMessage	    (lazy_paho.MQTTAsync_freeMessage)
#define MQTTAsync_isConnected	    (lazy_paho.MQTTAsync_isConnected)
#define MQTTAsync_send		    (lazy_paho.MQTTAsync_send)
#define MQTTAsync_setCallbacks	    (lazy_paho.MQTTAsync_setCallbacks)
#endif

#endif
