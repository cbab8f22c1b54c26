/*
 * examples/common/requests.c -- building the example programs' requests
 * (see requests.h).
 */
#include "examples/common/requests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "examples/common/digits.h"
#include "isoflow/error.h"

void iso__now_de7(char out[11]) {
  /* Once per second, not per request: the acquirer asks for every one. */
  static _Thread_local time_t last = -1;
  static _Thread_local char de7[11];
  time_t now = time(NULL);
  if (now != last) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(de7, sizeof de7, "%m%d%H%M%S", &tm);
    last = now;
  }
  memcpy(out, de7, sizeof de7);
}

/* Sets each (field, value) pair in turn; stops at the first error. */
static int set_all(iso_msg *m, const int *fields, const char *const *values, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!values[i]) continue;
    int rc = iso_msg_set_str(m, fields[i], values[i]);
    if (rc < 0) return rc;
  }
  return 0;
}

int iso__build_authorization(iso_msg *m, const iso__auth_params *p) {
  char when[11], amount[13], stan[7], rrn[13];
  iso_msg_reset(m);
  if (p->when) {
    size_t n = strnlen(p->when, sizeof when - 1);
    memcpy(when, p->when, n);
    when[n] = '\0';
  } else {
    iso__now_de7(when);
  }
  if (p->amount < 0 || p->amount > 999999999999LL) return ISO_E_INVAL;
  iso__digits_fixed(amount, (uint64_t)p->amount, 12);
  iso__digits_fixed(stan, p->stan, 6);
  /* DE 37: DE 7's hhmmss, then the STAN. */
  size_t wl = strlen(when);
  size_t hl = wl > 4 ? strnlen(when + 4, 6) : 0;
  memcpy(rrn, when + 4, hl);
  memcpy(rrn + hl, stan, 7);
  int rc = iso_msg_set_mti(m, p->mti ? p->mti : "0100");
  if (rc < 0) return rc;
  static const int fields[] = {2, 3, 4, 7, 11, 12, 13, 14, 32, 37, 41, 42, 49};
  const char *values[] = {p->pan,   "000000", amount,     when,      stan,
                          when + 4, when,     p->expiry,  "123456",  rrn,
                          p->terminal ? p->terminal : "TERM0001", "MERCHANT0000001", "978"};
  /* DE 12 is hhmmss (when + 4), DE 13 MMDD (the first four of when). */
  char date[5];
  memcpy(date, when, 4);
  date[4] = '\0';
  values[6] = date;
  return set_all(m, fields, values, sizeof fields / sizeof fields[0]);
}

int iso__build_reversal(iso_msg *m, const iso_msg *original, const char *mti,
                        uint32_t stan) {
  char de90[64], when[11], stan_s[8], buf[64];
  iso_msg_reset(m);
  int rc = iso_msg_set_mti(m, mti);
  if (rc < 0) return rc;
  static const int copied[] = {2, 3, 4, 37, 41, 42, 49};
  for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
    size_t len;
    if (!iso_msg_has(original, copied[i])) continue;
    rc = iso_msg_get(original, copied[i], buf, sizeof buf, &len);
    if (rc == 0) rc = iso_msg_set_copy(m, copied[i], buf, len);
    if (rc < 0) return rc;
  }
  char o_stan[8] = "000000", o_when[12] = "0000000000", o_acq[16] = "";
  size_t len;
  if (iso_msg_get(original, 11, o_stan, sizeof o_stan, &len) < 0 ||
      iso_msg_get(original, 7, o_when, sizeof o_when, &len) < 0)
    return ISO_E_NO_FIELD;
  if (iso_msg_get(original, 32, o_acq, sizeof o_acq, &len) < 0) o_acq[0] = '\0';
  snprintf(de90, sizeof de90, "%.4s%.6s%.10s%011lld%011d", iso_msg_mti(original), o_stan,
           o_when, strtoll(o_acq, NULL, 10), 0);
  iso__now_de7(when);
  snprintf(stan_s, sizeof stan_s, "%06u", stan % 1000000u);
  if ((rc = iso_msg_set_str(m, 90, de90)) < 0) return rc;
  if ((rc = iso_msg_set_str(m, 7, when)) < 0) return rc;
  if ((rc = iso_msg_set_str(m, 11, stan_s)) < 0) return rc;
  return iso_msg_set_str(m, 32, "123456");
}

int iso__build_network(iso_msg *m, const char *code, uint32_t stan) {
  char when[11], stan_s[8];
  iso_msg_reset(m);
  iso__now_de7(when);
  snprintf(stan_s, sizeof stan_s, "%06u", stan % 1000000u);
  int rc = iso_msg_set_mti(m, "0800");
  if (rc < 0) return rc;
  static const int fields[] = {7, 11, 70};
  const char *values[] = {when, stan_s, code};
  return set_all(m, fields, values, 3);
}
