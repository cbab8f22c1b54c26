/*
 * examples/common/requests.c -- building the example programs' requests
 * (see requests.h).
 */
#include "examples/common/requests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isoflow/error.h"

void iso__now_de7(char out[11]) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(out, 11, "%m%d%H%M%S", &tm);
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
  char when[11], amount[16], stan[8], rrn[16];
  iso_msg_reset(m);
  if (p->when)
    snprintf(when, sizeof when, "%s", p->when);
  else
    iso__now_de7(when);
  if (p->amount < 0 || p->amount > 999999999999LL) return ISO_E_INVAL;
  snprintf(amount, sizeof amount, "%012lld", (long long)p->amount);
  snprintf(stan, sizeof stan, "%06u", p->stan % 1000000u);
  snprintf(rrn, sizeof rrn, "%.6s%s", when + 4, stan);
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
