/*
 * examples/issuer/host.c -- the issuer's flow served on the conn server
 * (iso_flow_serve), and the answer counters its response hook keeps.
 *
 * iso_flow_serve does the serving: a flow loop per worker loop, requests in,
 * responses out, and on close the transactions in flight finish and their
 * responses go out before the connections close.  What is the issuer's own
 * is counting the answers by response MTI and response code for /metrics.
 */
#include <string.h>

#include "examples/issuer/issuer_app.h"

const char *const iss_mti_names[ISS_MTI_SLOTS] = {"0110", "0210", "0410", "0430", "0810",
                                                  "other"};

/* The slot of a response MTI: the last three digits tell them apart.
 * Once per answer: compares a few characters, no string function. */
static int mti_slot(const char *mti) {
  if (mti[0] != '0' || !mti[1] || !mti[2] || !mti[3] || mti[4]) return ISS_MTI_SLOTS - 1;
  for (int i = 0; i < ISS_MTI_SLOTS - 1; i++)
    if (mti[1] == iss_mti_names[i][1] && mti[2] == iss_mti_names[i][2] &&
        mti[3] == iss_mti_names[i][3])
      return i;
  return ISS_MTI_SLOTS - 1;
}

static int rc_slot(const char *rc) {
  if (rc[0] < '0' || rc[0] > '9' || rc[1] < '0' || rc[1] > '9' || rc[2])
    return ISS_RC_SLOTS - 1;
  return (rc[0] - '0') * 10 + (rc[1] - '0');
}

/* On a worker loop, once per answered request. */
static void count_answer(const char *request_mti, const iso_msg *response,
                         const char *response_code, void *data) {
  (void)request_mti;
  iss_app *app = data;
  if (!response) return;
  iso__tally_add(&app->answers,
                 (size_t)(mti_slot(iso_msg_mti(response)) * ISS_RC_SLOTS + rc_slot(response_code)),
                 1);
}

void iss_host_options(iss_app *app, iso_flow_serve_opts *o) {
  o->server.conn.spec = app->spec;
  o->on_response = count_answer;
  o->response_data = app;
}
