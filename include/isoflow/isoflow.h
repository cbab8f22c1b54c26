/*
 * isoflow/isoflow.h -- the umbrella header: everything public in isoflow.
 *
 *   error.h    the ISO_E_* codes, iso_strerror, iso_error detail
 *   iso8583.h  the message codec: specs, messages, pack/unpack, describe
 *   conn.h     framing, matched connections, server, pool, TLS, blocking client
 *   flow.h     the two-phase transaction manager, profiler, idempotency
 *   journal.h  the SQLite journal: group commit, recovery, protection, replay
 */
#ifndef ISOFLOW_ISOFLOW_H
#define ISOFLOW_ISOFLOW_H

#include "isoflow/error.h"
#include "isoflow/iso8583.h"
#include "isoflow/conn.h"
#include "isoflow/flow.h"
#include "isoflow/journal.h"

#endif /* ISOFLOW_ISOFLOW_H */
