/*
 * iso8583/error.c -- names and messages for the ISO_E_* codes.
 *
 * The table lives in include/isoflow/error.h (ISO_ERRNO_MAP); this file only
 * expands it.  It sits in iso8583/ because that is the module every other
 * module depends on.
 */
#include <stdio.h>

#include "isoflow/error.h"

const char *iso_strerror(int code) {
  switch (code) {
#define ISO__STRERROR(name, num, msg) \
  case num:                           \
    return msg;
    ISO_ERRNO_MAP(ISO__STRERROR)
#undef ISO__STRERROR
    case 0:
      return "success";
    default:
      return "unknown error";
  }
}

const char *iso_err_name(int code) {
  switch (code) {
#define ISO__ERRNAME(name, num, msg) \
  case num:                          \
    return "ISO_E_" #name;
    ISO_ERRNO_MAP(ISO__ERRNAME)
#undef ISO__ERRNAME
    case 0:
      return "ISO_OK";
    default:
      return "ISO_E_UNKNOWN";
  }
}

char *iso_error_format(const iso_error *err, char *buf, size_t cap) {
  if (cap == 0) return buf;
  const char *why = err->reason ? err->reason : iso_strerror(err->code);
  if (err->field == 0)
    snprintf(buf, cap, "MTI at offset %zu: %s", err->offset, why);
  else if (err->field == 1)
    snprintf(buf, cap, "bitmap at offset %zu: %s", err->offset, why);
  else if (err->field > 1)
    snprintf(buf, cap, "field %d at offset %zu: %s", err->field, err->offset, why);
  else
    snprintf(buf, cap, "offset %zu: %s", err->offset, why);
  return buf;
}
