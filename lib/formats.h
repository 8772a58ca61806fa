/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The output formats: the one list, shared by the agent (-F, its encoder
 * table, --help) and the hook (io.sfagent.format).  A new format is one
 * line here plus its encoder, agent/encoders/encode_<id>.c, which defines
 * `encode_<id>_ops` (docs/hacking.md).
 *
 * X(id, name, file_prefix, file_separator, file_suffix, hook, help)
 *   file_*: how a file frames the records (e.g. a JSON array): written
 *           before the first record, between two records, after the last;
 *           NULL: nothing (JSON lines).  Message sinks send bare records.
 *   hook:   true when io.sfagent.format may ask for it.
 *   help:   one line for --help and messages.
 */
#ifndef SF_FORMATS_H
#define SF_FORMATS_H

#include <stdbool.h>
#include <stddef.h>

/* clang-format off */
#define SF_FORMATS(X, SEP)                                                   \
	X(json, "json", NULL, NULL, NULL, true,                              \
	  "JSON lines, the native schema (docs/events.md)") SEP              \
	X(quixote, "quixote", NULL, NULL, NULL, true,                        \
	  "TSEM's export as quixote-export writes it") SEP                   \
	X(cadets, "cadets", "[\n", ",", "]\n", true,                         \
	  "CADETS trace events (a JSON array in files)") SEP                 \
	X(sysflow, "sysflow", "", NULL, NULL, true,                         \
	  "SysFlow's Avro object container file (files only)")
/* clang-format on */

#define SF_FORMAT_NAME_(id, name, pre, sep, suf, hook, help) name
/* The names as one string literal: SF_FORMAT_NAMES(", ") is
 * "json, quixote, cadets". */
#define SF_FORMAT_NAMES(SEP) SF_FORMATS(SF_FORMAT_NAME_, SEP)
/* ... and as object-like macros, for help texts */
#define SF_FORMAT_LIST	  SF_FORMAT_NAMES(", ")
#define SF_FORMAT_CHOICES SF_FORMAT_NAMES("|")
#define SF_FORMAT_DEFAULT "json"

struct sf_format {
	const char *name;
	const char *file_prefix, *file_separator, *file_suffix;
	bool hook;
	const char *help;
};

extern const struct sf_format formats_table[];
extern const size_t formats_count;

/* NULL when there is no format of that name. */
const struct sf_format *formats_find(const char *name);

#endif
