/*
 * isoflow/error.h -- the one table of isoflow error codes.
 *
 * Every isoflow function that can fail returns 0 (or a non-negative count)
 * on success and a negative ISO_E_* code on failure.  The codes, their names
 * and their messages all come from ISO_ERRNO_MAP below, so adding a code is a
 * one-line change.  The numbers are part of the ABI: never renumber, only add.
 *
 * Rule shared by the whole library: when a function that takes a callback
 * returns an error, the callback is never called.
 *
 * Messages never carry field contents (no PAN, track, PIN block or CVV): the
 * detail that comes with a codec error is a field number and an offset.
 */
#ifndef ISOFLOW_ERROR_H
#define ISOFLOW_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* XX(name, number, message) */
#define ISO_ERRNO_MAP(XX)                                                     \
  /* general */                                                               \
  XX(NOMEM, -1, "out of memory")                                              \
  XX(INVAL, -2, "invalid argument")                                           \
  XX(NOSPC, -3, "buffer too small")                                           \
  XX(STATE, -4, "operation not allowed in the current state")                 \
  XX(IO, -5, "input/output error")                                            \
  XX(NOT_FOUND, -6, "not found")                                              \
  XX(EXISTS, -7, "already exists")                                            \
  XX(UNSUPPORTED, -8, "not supported")                                        \
  /* codec: spec and message */                                               \
  XX(NEED_MORE, -100, "message truncated: more bytes needed")                 \
  XX(MALFORMED, -101, "malformed message")                                    \
  XX(BAD_MTI, -102, "invalid message type indicator")                         \
  XX(BAD_BITMAP, -103, "invalid bitmap")                                      \
  XX(UNKNOWN_FIELD, -104, "field not defined by the spec")                    \
  XX(BAD_LENGTH, -105, "field length out of range")                           \
  XX(NOT_NUMERIC, -106, "non-digit in a numeric field")                       \
  XX(BAD_CHAR, -107, "character not allowed in the field")                    \
  XX(BAD_PAD, -108, "invalid padding")                                        \
  XX(TRAILING, -109, "bytes left after the last field")                       \
  XX(NO_FIELD, -110, "field not present")                                     \
  XX(BAD_SPEC, -111, "invalid spec")                                          \
  XX(BAD_TLV, -112, "invalid BER-TLV data")                                   \
  XX(BAD_JSON, -113, "invalid JSON")                                          \
  /* connections */                                                           \
  XX(FRAME_TOO_LARGE, -200, "frame larger than the maximum")                  \
  XX(BAD_FRAME, -201, "framing violated by the peer")                         \
  XX(CONNECT, -202, "connection failed")                                      \
  XX(CLOSED, -203, "connection closed")                                       \
  XX(TIMEDOUT, -204, "timed out")                                             \
  XX(CANCELED, -205, "canceled")                                              \
  XX(BUSY, -206, "too many requests in flight")                               \
  XX(DUPLICATE_KEY, -207, "a request with the same key is in flight")         \
  XX(TLS, -208, "TLS error")                                                  \
  XX(SIGNON, -209, "sign-on failed")                                          \
  XX(NO_CONNECTION, -210, "no healthy connection")                            \
  XX(TOO_MANY_CONNECTIONS, -211, "connection limit reached")                  \
  XX(READ_TIMEOUT, -212, "nothing received within the read timeout")          \
  XX(RESOLVE, -213, "address could not be resolved")                          \
  XX(NOT_REQUEST, -214, "message is not a request")                           \
  /* transactions */                                                          \
  XX(OVERLOAD, -300, "too many transactions in flight")                       \
  XX(ABORTED, -301, "transaction aborted")                                    \
  XX(DEADLINE, -302, "transaction deadline passed")                           \
  XX(UNKNOWN_GROUP, -303, "unknown participant group")                        \
  XX(GROUP_LOOP, -304, "participant groups nested too deeply")                \
  XX(DUPLICATE, -305, "duplicate transmission")                               \
  XX(FINGERPRINT, -306, "same idempotency key, different transaction")        \
  XX(PARTICIPANT_TIMEOUT, -307, "participant exceeded its timeout")           \
  /* journal */                                                               \
  XX(JOURNAL, -400, "journal write failed")                                   \
  XX(JOURNAL_FULL, -401, "journal queue full")                                \
  XX(JOURNAL_LOCKED, -402, "journal locked by another process")               \
  XX(JOURNAL_CORRUPT, -403, "journal inconsistent")                           \
  XX(CRYPTO, -404, "cryptographic operation failed")                          \
  XX(KEY_FILE, -405, "invalid key file")

/** The error codes.  Success is 0; every code is negative. */
typedef enum iso_errno {
#define ISO__ERRNO_ENUM(name, num, msg) ISO_E_##name = (num),
  ISO_ERRNO_MAP(ISO__ERRNO_ENUM)
#undef ISO__ERRNO_ENUM
  ISO_E__END = -100000
} iso_errno;

/**
 * iso_strerror -- the message for an error code, e.g. "timed out".
 * Returns a static string; unknown codes give "unknown error".
 */
const char *iso_strerror(int code);

/**
 * iso_err_name -- the symbolic name of an error code, e.g. "ISO_E_TIMEDOUT".
 * Returns a static string; unknown codes give "ISO_E_UNKNOWN".
 */
const char *iso_err_name(int code);

/**
 * Extended detail for a failed codec call, in the manner of sqlite3_errmsg:
 * which field, at which byte offset of the input, and why.  `reason` is a
 * static string that never contains field contents.
 */
typedef struct iso_error {
  int code;           /* the ISO_E_* code that was returned */
  int field;          /* data element number; 0 = MTI, 1 = bitmap, -1 = none */
  size_t offset;      /* byte offset into the input (or output) buffer */
  const char *reason; /* static text, e.g. "length prefix over the maximum" */
} iso_error;

/**
 * iso_error_format -- writes "field 4 at offset 23: non-digit in a numeric
 * field" (or the nearest form for errors without a field) into buf, always
 * NUL-terminated when cap > 0.  Returns buf.
 */
char *iso_error_format(const iso_error *err, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* ISOFLOW_ERROR_H */
