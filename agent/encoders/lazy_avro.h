/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libavro (-F sysflow), opened when a stream of that format is made
 * (encoder_ops.load; agent/lazylib.h).  Linked, it and what it needs
 * (jansson, lzma, snappy, libstdc++, libm, libgcc_s) were mapped and
 * relocated before main at every start, ~1.3 ms of a short -X that writes
 * no sysflow.
 */
#ifndef SF_LAZY_AVRO_H
#define SF_LAZY_AVRO_H

#include <avro.h>

#include "lazylib.h"

/* every function of the library the agent calls (its avro_value_*
 * calls are macros through the value's interface) */
#define LAZY_AVRO_FNS(X)                         \
	X(avro_file_writer_append_value)         \
	X(avro_file_writer_close)                \
	X(avro_file_writer_create_with_codec_fp) \
	X(avro_file_writer_flush)                \
	X(avro_generic_class_from_schema)        \
	X(avro_generic_value_new)                \
	X(avro_schema_decref)                    \
	X(avro_schema_from_json_length)          \
	X(avro_strerror)                         \
	X(avro_value_decref)

struct lazy_avro {
#define LAZY_FIELD(f) __typeof__(f) *f;
	LAZY_AVRO_FNS(LAZY_FIELD)
#undef LAZY_FIELD
};

extern struct lazy_avro lazy_avro;

/* -1: err says why the library could not be loaded */
int lazy_avro_load(struct sf_error **err);

#ifndef LAZY_NO_REDIRECT
#define avro_file_writer_append_value (lazy_avro.avro_file_writer_append_value)
#define avro_file_writer_close	      (lazy_avro.avro_file_writer_close)
#define avro_file_writer_create_with_codec_fp \
	(lazy_avro.avro_file_writer_create_with_codec_fp)
#define avro_file_writer_flush (lazy_avro.avro_file_writer_flush)
#define avro_generic_class_from_schema \
	(lazy_avro.avro_generic_class_from_schema)
#define avro_generic_value_new	     (lazy_avro.avro_generic_value_new)
#define avro_schema_decref	     (lazy_avro.avro_schema_decref)
#define avro_schema_from_json_length (lazy_avro.avro_schema_from_json_length)
#define avro_strerror		     (lazy_avro.avro_strerror)
#define avro_value_decref	     (lazy_avro.avro_value_decref)
#endif

#endif
