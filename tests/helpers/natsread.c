// SPDX-License-Identifier: GPL-2.0
/*
 * natsread URL STREAM SUBJECT IDLE_MS: prints every message of a JetStream
 * stream (from its first, through an ordered consumer) as
 * "NATS-MSG-ID<TAB>SUBJECT<TAB>RECORD", a line per record (a message holds
 * one record, or with --nats-batch several, newline-separated), then exits
 * once IDLE_MS pass without one.  The consumer the NATS suite checks
 * exactly-once delivery with.  TLS (a tls:// URL) with the files in
 * $NATSREAD_CAFILE, $NATSREAD_CERT and $NATSREAD_KEY; a NATS user
 * credentials file (user JWT and NKey seed) in $NATSREAD_CREDS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	natsSubscription *sub = NULL;
	natsMsg *msg = NULL;
	jsCtx *js = NULL;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;
	long n = 0, nrec = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: natsread URL STREAM SUBJECT IDLE_MS\n");
		return 2;
	}
	if (getenv("NATSREAD_CAFILE") || getenv("NATSREAD_CREDS")) {
		natsOptions *o = NULL;

		s = natsOptions_Create(&o);
		if (s == NATS_OK)
			s = natsOptions_SetURL(o, argv[1]);
		if (s == NATS_OK && getenv("NATSREAD_CAFILE"))
			s = natsOptions_SetSecure(o, true);
		if (s == NATS_OK && getenv("NATSREAD_CAFILE"))
			s = natsOptions_LoadCATrustedCertificates(
				o, getenv("NATSREAD_CAFILE"));
		if (s == NATS_OK && getenv("NATSREAD_CERT"))
			s = natsOptions_LoadCertificatesChain(
				o, getenv("NATSREAD_CERT"),
				getenv("NATSREAD_KEY"));
		if (s == NATS_OK && getenv("NATSREAD_CREDS"))
			s = natsOptions_SetUserCredentialsFromFiles(
				o, getenv("NATSREAD_CREDS"), NULL);
		if (s == NATS_OK)
			s = natsConnection_Connect(&nc, o);
		natsOptions_Destroy(o);
	} else {
		s = natsConnection_ConnectTo(&nc, argv[1]);
	}
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, NULL);
	jsSubOptions_Init(&so);
	so.Stream = argv[2];
	so.Ordered = true;
	if (s == NATS_OK)
		s = js_SubscribeSync(&sub, js, argv[3], NULL, &so, &jerr);
	if (s != NATS_OK) {
		fprintf(stderr, "natsread: %s (error %d)\n",
			nats_GetLastError(NULL) ? nats_GetLastError(NULL)
						: natsStatus_GetText(s),
			(int)jerr);
		return 1;
	}
	while (natsSubscription_NextMsg(&msg, sub, atol(argv[4])) == NATS_OK) {
		const char *id = "-";

		const char *p = natsMsg_GetData(msg);
		const char *end = p + natsMsg_GetDataLength(msg), *nl;

		natsMsgHeader_Get(msg, "Nats-Msg-Id", &id);
		for (; p < end; p = nl + 1) {
			nl = memchr(p, '\n', end - p);
			if (!nl)
				nl = end;
			printf("%s\t%s\t%.*s\n", id, natsMsg_GetSubject(msg),
			       (int)(nl - p), p);
			nrec++;
		}
		natsMsg_Destroy(msg);
		n++;
	}
	fprintf(stderr, "natsread: %ld messages, %ld records\n", n, nrec);
	natsSubscription_Destroy(sub);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}
