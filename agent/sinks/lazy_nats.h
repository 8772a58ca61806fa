/* SPDX-License-Identifier: GPL-2.0 */
/* cnats (the NATS JetStream output), opened by the first sink that needs it (agent/lazylib.h). */
#ifndef SF_LAZY_NATS_H
#define SF_LAZY_NATS_H

#include <nats/nats.h>

#include "lazylib.h"

/* every function of the library the agent calls */
#define LAZY_NATS_FNS(X)                           \
	X(jsAccountInfo_Destroy)                   \
	X(jsCtx_Destroy)                           \
	X(jsOptions_Init)                          \
	X(jsPubOptions_Init)                       \
	X(jsStreamConfig_Init)                     \
	X(jsStreamInfo_Destroy)                    \
	X(js_AddStream)                            \
	X(js_GetAccountInfo)                       \
	X(js_GetStreamInfo)                        \
	X(js_PublishMsgAsync)                      \
	X(natsConnection_Close)                    \
	X(natsConnection_Connect)                  \
	X(natsConnection_Destroy)                  \
	X(natsConnection_JetStream)                \
	X(natsConnection_Status)                   \
	X(natsMsgHeader_Get)                       \
	X(natsMsg_Create)                          \
	X(natsMsg_Destroy)                         \
	X(natsMsg_GetData)                         \
	X(natsMsg_GetDataLength)                   \
	X(natsOptions_Create)                      \
	X(natsOptions_Destroy)                     \
	X(natsOptions_LoadCATrustedCertificates)   \
	X(natsOptions_LoadCertificatesChain)       \
	X(natsOptions_SetClosedCB)                 \
	X(natsOptions_SetDisconnectedCB)           \
	X(natsOptions_SetMaxPingsOut)              \
	X(natsOptions_SetMaxReconnect)             \
	X(natsOptions_SetPingInterval)             \
	X(natsOptions_SetReconnectWait)            \
	X(natsOptions_SetReconnectedCB)            \
	X(natsOptions_SetSecure)                   \
	X(natsOptions_SetServers)                  \
	X(natsOptions_SetTimeout)                  \
	X(natsOptions_SetUserCredentialsFromFiles) \
	X(natsOptions_SetUserInfo)                 \
	X(natsStatus_GetText)                      \
	X(nats_GetLastError)

struct lazy_nats {
#define LAZY_FIELD(f) __typeof__(f) *f;
	LAZY_NATS_FNS(LAZY_FIELD)
#undef LAZY_FIELD
};

extern struct lazy_nats lazy_nats;

/* -1: err says which library could not be loaded */
int lazy_nats_load(struct sf_error **err);

#ifndef LAZY_NO_REDIRECT
#define jsAccountInfo_Destroy	 (lazy_nats.jsAccountInfo_Destroy)
#define jsCtx_Destroy		 (lazy_nats.jsCtx_Destroy)
#define jsOptions_Init		 (lazy_nats.jsOptions_Init)
#define jsPubOptions_Init	 (lazy_nats.jsPubOptions_Init)
#define jsStreamConfig_Init	 (lazy_nats.jsStreamConfig_Init)
#define jsStreamInfo_Destroy	 (lazy_nats.jsStreamInfo_Destroy)
#define js_AddStream		 (lazy_nats.js_AddStream)
#define js_GetAccountInfo	 (lazy_nats.js_GetAccountInfo)
#define js_GetStreamInfo	 (lazy_nats.js_GetStreamInfo)
#define js_PublishMsgAsync	 (lazy_nats.js_PublishMsgAsync)
#define natsConnection_Close	 (lazy_nats.natsConnection_Close)
#define natsConnection_Connect	 (lazy_nats.natsConnection_Connect)
#define natsConnection_Destroy	 (lazy_nats.natsConnection_Destroy)
#define natsConnection_JetStream (lazy_nats.natsConnection_JetStream)
#define natsConnection_Status	 (lazy_nats.natsConnection_Status)
#define natsMsgHeader_Get	 (lazy_nats.natsMsgHeader_Get)
#define natsMsg_Create		 (lazy_nats.natsMsg_Create)
#define natsMsg_Destroy		 (lazy_nats.natsMsg_Destroy)
#define natsMsg_GetData		 (lazy_nats.natsMsg_GetData)
#define natsMsg_GetDataLength	 (lazy_nats.natsMsg_GetDataLength)
#define natsOptions_Create	 (lazy_nats.natsOptions_Create)
#define natsOptions_Destroy	 (lazy_nats.natsOptions_Destroy)
#define natsOptions_LoadCATrustedCertificates \
	(lazy_nats.natsOptions_LoadCATrustedCertificates)
#define natsOptions_LoadCertificatesChain \
	(lazy_nats.natsOptions_LoadCertificatesChain)
#define natsOptions_SetClosedCB	      (lazy_nats.natsOptions_SetClosedCB)
#define natsOptions_SetDisconnectedCB (lazy_nats.natsOptions_SetDisconnectedCB)
#define natsOptions_SetMaxPingsOut    (lazy_nats.natsOptions_SetMaxPingsOut)
#define natsOptions_SetMaxReconnect   (lazy_nats.natsOptions_SetMaxReconnect)
#define natsOptions_SetPingInterval   (lazy_nats.natsOptions_SetPingInterval)
#define natsOptions_SetReconnectWait  (lazy_nats.natsOptions_SetReconnectWait)
#define natsOptions_SetReconnectedCB  (lazy_nats.natsOptions_SetReconnectedCB)
#define natsOptions_SetSecure	      (lazy_nats.natsOptions_SetSecure)
#define natsOptions_SetServers	      (lazy_nats.natsOptions_SetServers)
#define natsOptions_SetTimeout	      (lazy_nats.natsOptions_SetTimeout)
#define natsOptions_SetUserCredentialsFromFiles \
	(lazy_nats.natsOptions_SetUserCredentialsFromFiles)
#define natsOptions_SetUserInfo (lazy_nats.natsOptions_SetUserInfo)
#define natsStatus_GetText	(lazy_nats.natsStatus_GetText)
#define nats_GetLastError	(lazy_nats.nats_GetLastError)
#endif

#endif
