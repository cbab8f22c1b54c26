/*
 * examples/acquirer/send_json.c -- --send-json: one request per JSON line on
 * stdin (the JSON form `isoflow encode` reads), sent one at a time; each
 * answer is printed as one JSON line, masked unless --unmasked, or
 * {"error":"<reason>"} when none came.  For scripts and the end-to-end
 * tests, which need exact requests: a bad PAN, a missing field, a repeat.
 */
#include <stdlib.h>
#include <string.h>

#include "examples/acquirer/acquirer.h"

typedef struct waiter {
  int done;
  int status;
  const acq_options *o;
} waiter;

static void on_answer(iso_conn *conn, int status, const iso_frame *f, void *data) {
  (void)conn;
  waiter *w = data;
  w->done = 1;
  w->status = status;
  if (status < 0) {
    printf("{\"error\":\"%s\"}\n", iso_strerror(status));
    return;
  }
  iso_msg m;
  iso_msg_init(&m, w->o->spec);
  char buf[8192];
  size_t len = 0;
  int rc = iso_msg_unpack(&m, f->payload, f->len, NULL);
  if (rc == 0)
    rc = iso_msg_to_json(&m, w->o->unmasked ? ISO_SHOW_UNMASKED : ISO_SHOW_MASKED, buf, sizeof buf, &len);
  if (rc == 0)
    printf("%.*s\n", (int)len, buf);
  else
    printf("{\"error\":\"%s\"}\n", iso_strerror(rc));
  iso_msg_cleanup(&m);
  w->status = rc;
}

int acq_run_send_json(const acq_options *o, acq_links *links, FILE *in) {
  char line[8192];
  int failures = 0;
  iso_msg m;
  iso_msg_init(&m, o->spec);
  while (fgets(line, sizeof line, in)) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (n == 0) continue;
    iso_error err;
    int rc = iso_msg_from_json(&m, line, n, &err);
    waiter w = {0, 0, o};
    if (rc == 0) rc = acq_links_request(links, &m, 0, on_answer, &w);
    if (rc < 0) {
      printf("{\"error\":\"%s\"}\n", iso_strerror(rc));
      failures++;
      continue;
    }
    while (!w.done) uv_run(links->loop, UV_RUN_ONCE);
    if (w.status < 0) failures++;
    fflush(stdout);
  }
  iso_msg_cleanup(&m);
  return failures ? 1 : 0;
}
