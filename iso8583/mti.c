/*
 * iso8583/mti.c -- message type indicator helpers: response or request,
 * repeat or original, and the response MTI for a request.
 *
 * MTI digits: version, class, function, origin.  An odd function digit is a
 * response (0110, 0130, 0410, 0430, 0810); an odd origin digit is a repeat
 * (0101 acquirer repeat, 0103 issuer repeat, 0105 other repeat).
 */
#include "isoflow/iso8583.h"

#include <string.h>


static bool valid(const char *mti) {
  /* Byte by byte, stopping at the first non-digit: a short string is not
   * read past its NUL, and an MTI need not be NUL-terminated (iso_peek_fields
   * hands out 4 bare characters), so no more than 4 bytes are read. */
  if (!mti) return false;
  for (int i = 0; i < 4; i++)
    if (mti[i] < '0' || mti[i] > '9') return false;
  return true;
}

bool iso_mti_is_response(const char *mti) {
  return valid(mti) && ((mti[2] - '0') & 1);
}

bool iso_mti_is_repeat(const char *mti) {
  return valid(mti) && ((mti[3] - '0') & 1);
}

int iso_mti_response(const char *mti, char out[4]) {
  if (!valid(mti) || ((mti[2] - '0') & 1)) return ISO_E_BAD_MTI;
  out[0] = mti[0];
  out[1] = mti[1];
  out[2] = (char)(mti[2] + 1);
  /* A repeat is answered like the original: 0201 -> 0210, 0421 -> 0430. */
  out[3] = (char)('0' + ((mti[3] - '0') & ~1));
  return 0;
}
