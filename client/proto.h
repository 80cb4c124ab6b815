/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NBD protocol constants (shared/spec/proto.md, "Values"). */
#ifndef NBDC_PROTO_H
#define NBDC_PROTO_H

#include <stdint.h>

#define NBD_MAGIC		0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define NBD_IHAVEOPT		0x49484156454F5054ULL	/* "IHAVEOPT" */
#define NBD_OLDSTYLE_MAGIC	0x00420281861253ULL
#define NBD_REP_MAGIC		0x0003e889045565a9ULL

/* handshake flags (server) */
#define NBD_FLAG_FIXED_NEWSTYLE	(1u << 0)
#define NBD_FLAG_NO_ZEROES	(1u << 1)
/* client flags */
#define NBD_FLAG_C_FIXED_NEWSTYLE (1u << 0)
#define NBD_FLAG_C_NO_ZEROES	(1u << 1)

/* transmission flags */
#define NBD_FLAG_HAS_FLAGS	(1u << 0)
#define NBD_FLAG_READ_ONLY	(1u << 1)
#define NBD_FLAG_SEND_FLUSH	(1u << 2)
#define NBD_FLAG_SEND_FUA	(1u << 3)
#define NBD_FLAG_ROTATIONAL	(1u << 4)
#define NBD_FLAG_SEND_TRIM	(1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_SEND_DF	(1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN	(1u << 8)
#define NBD_FLAG_SEND_RESIZE	(1u << 9)
#define NBD_FLAG_SEND_CACHE	(1u << 10)
#define NBD_FLAG_SEND_FAST_ZERO	(1u << 11)
#define NBD_FLAG_BLOCK_STAT_PAYLOAD (1u << 12)

/* options */
#define NBD_OPT_EXPORT_NAME	1
#define NBD_OPT_ABORT		2
#define NBD_OPT_LIST		3
#define NBD_OPT_PEEK_EXPORT	4
#define NBD_OPT_STARTTLS	5
#define NBD_OPT_INFO		6
#define NBD_OPT_GO		7
#define NBD_OPT_STRUCTURED_REPLY 8
#define NBD_OPT_LIST_META_CONTEXT 9
#define NBD_OPT_SET_META_CONTEXT 10
#define NBD_OPT_EXTENDED_HEADERS 11

/* option replies */
#define NBD_REP_ACK		1
#define NBD_REP_SERVER		2
#define NBD_REP_INFO		3
#define NBD_REP_META_CONTEXT	4
#define NBD_REP_FLAG_ERROR	(1u << 31)
#define NBD_REP_ERR_UNSUP	(NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY	(NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID	(NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM	(NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD	(NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN	(NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN	(NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG	(NBD_REP_FLAG_ERROR | 9)
#define NBD_REP_ERR_EXT_HEADER_REQD (NBD_REP_FLAG_ERROR | 10)

/* NBD_OPT_INFO / NBD_OPT_GO information types */
/* NBD_OPT_EXPORT_NAME's answer: size (8) and flags (2), then 124 zero
 * bytes unless NO_ZEROES was agreed */
#define NBD_EXPORT_NAME_REPLY_LEN 10
#define NBD_EXPORT_NAME_ZEROES	124

/* transmission phase (requests) */
#define NBD_REQUEST_MAGIC	0x25609513u
#define NBD_REQUEST_LEN		28
#define NBD_CMD_READ		0
#define NBD_CMD_WRITE		1
#define NBD_CMD_DISC		2
/* ... and simple replies: magic, error, handle */
#define NBD_SIMPLE_REPLY_MAGIC	0x67446698u
#define NBD_SIMPLE_REPLY_LEN	16

#define NBD_INFO_EXPORT		0
#define NBD_INFO_NAME		1
#define NBD_INFO_DESCRIPTION	2
#define NBD_INFO_BLOCK_SIZE	3

/* Limits this client enforces on what a server sends. */
#define NBD_MAX_STRING		4096	/* names, descriptions, messages */
#define NBD_MAX_OPT_REPLY	(NBD_MAX_STRING + 64)

#endif
