/*
 * examples/simulator/main.c -- isoflow-simulator: an ISO 8583 host that
 * answers by rules (rules.h) instead of running a flow: a response code by
 * amount range or PAN suffix, a delay, or no answer at all.  For testing
 * acquirers, timeouts and late responses.  Answers echo the request's
 * fields (2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 49), add DE 39 and, on
 * "00" to an authorization, DE 38.  0800 gets 0810 "00".
 *
 *   isoflow-simulator --listen HOST:PORT [--rule R]... [--rules FILE] [options]
 *
 * Requests are handled on the server's worker loops; a delayed answer waits
 * on a timer of its loop, holding a reference to its connection.  SIGINT or
 * SIGTERM: stop accepting, close the connections, exit 0; a delayed answer
 * still pending keeps its worker until its timer fires (its send then fails).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/common/admin.h"
#include "examples/common/args.h"
#include "examples/common/lifecycle.h"
#include "examples/simulator/rules.h"
#include "isoflow/conn.h"

#define SIM_RC_SLOTS 101 /* "00".."99", other */

typedef struct sim {
  const iso_spec *spec;
  sim_rules rules;
  iso_server *server;
  atomic_bool ready;
  _Atomic uint64_t answered[SIM_RC_SLOTS];
  _Atomic uint64_t dropped, delayed, malformed, network;
  _Atomic uint32_t auth_code;
} sim;

static const int echoed[] = {2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 49};

static void usage(FILE *out) {
  fputs("usage: isoflow-simulator --listen HOST:PORT [options]\n"
        "\n"
        "Answers ISO 8583 requests by rules; the first rule that matches wins,\n"
        "otherwise \"00\".\n"
        "\n"
        "  --rule R            amount=MIN-MAX, pan-suffix=DIGITS, rc=NN, delay=MS,\n"
        "                      drop; comma-separated, e.g. amount=500000-999999999999,rc=51\n"
        "                      (repeatable, in order)\n"
        "  --rules FILE        rules from JSON: [{\"amount_min\":..,\"amount_max\":..,\n"
        "                      \"pan_suffix\":\"..\",\"rc\":\"51\",\"delay_ms\":..,\"drop\":false}]\n"
        "  --threads N         worker loops (default 1)\n"
        "  --spec NAME|FILE    (default iso87a-bbitmap)\n"
        "  --frame KIND        len2, len4, ascii4, bcd2 (default len2)\n"
        "  --admin HOST:PORT   HTTP: /healthz /readyz /metrics /profile\n",
        out);
}

static int bad(const char *what, const char *value) {
  return iso__bad_arg("isoflow-simulator", what, value);
}

typedef struct delayed {
  uv_timer_t timer;
  iso_conn *conn;
  iso_msg rsp;
} delayed;

static void on_delayed_closed(uv_handle_t *h) {
  delayed *d = h->data;
  iso_conn_unref(d->conn);
  iso_msg_cleanup(&d->rsp);
  free(d);
}

static void on_delay(uv_timer_t *t) {
  delayed *d = t->data;
  iso_conn_send_msg(d->conn, &d->rsp);
  uv_close((uv_handle_t *)&d->timer, on_delayed_closed);
}

static int rc_slot(const char *rc) {
  if (rc[0] >= '0' && rc[0] <= '9' && rc[1] >= '0' && rc[1] <= '9')
    return (rc[0] - '0') * 10 + (rc[1] - '0');
  return SIM_RC_SLOTS - 1;
}

/* The answer to req under the rules, into rsp; false to drop. */
static bool decide(sim *s, const iso_msg *req, iso_msg *rsp, uint32_t *delay_ms) {
  char mti[5], pan[32], amount[16];
  size_t len;
  *delay_ms = 0;
  if (iso_mti_response(iso_msg_mti(req), mti) < 0) return false;
  iso_msg_set_mti(rsp, mti);
  for (size_t i = 0; i < sizeof echoed / sizeof echoed[0]; i++) {
    const uint8_t *v;
    if (iso_msg_peek(req, echoed[i], &v, &len) == 0) iso_msg_set_copy(rsp, echoed[i], v, len);
  }
  if (!strncmp(mti, "08", 2)) {
    const uint8_t *code;
    if (iso_msg_peek(req, 70, &code, &len) == 0) iso_msg_set_copy(rsp, 70, code, len);
    iso_msg_set_str(rsp, 39, "00");
    atomic_fetch_add(&s->network, 1);
    return true;
  }
  int64_t amt = -1;
  if (iso_msg_get(req, 4, amount, sizeof amount, &len) == 0) amt = strtoll(amount, NULL, 10);
  bool have_pan = iso_msg_get(req, 2, pan, sizeof pan, &len) == 0;
  const sim_rule *r = sim_rules_match(&s->rules, amt, have_pan ? pan : NULL);
  if (r && r->drop) return false;
  const char *rc = r ? r->rc : "00";
  iso_msg_set_str(rsp, 39, rc);
  if (!strcmp(rc, "00") && (mti[1] == '1' || mti[1] == '2')) {
    char code[8];
    snprintf(code, sizeof code, "%06u", atomic_fetch_add(&s->auth_code, 1) % 1000000u);
    iso_msg_set_str(rsp, 38, code);
  }
  if (r) *delay_ms = r->delay_ms;
  atomic_fetch_add(&s->answered[rc_slot(rc)], 1);
  return true;
}

static void on_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f) {
  if (kind != ISO_INBOUND_REQUEST || !f->payload) return;
  sim *s = iso_conn_data(conn);
  iso_msg req;
  iso_msg_init(&req, s->spec);
  if (iso_msg_unpack(&req, f->payload, f->len, NULL) < 0) {
    atomic_fetch_add(&s->malformed, 1);
    iso_msg_cleanup(&req);
    return;
  }
  delayed *d = malloc(sizeof *d);
  uint32_t delay_ms = 0;
  if (!d) {
    iso_msg_cleanup(&req);
    return;
  }
  iso_msg_init(&d->rsp, s->spec);
  if (!decide(s, &req, &d->rsp, &delay_ms)) {
    atomic_fetch_add(&s->dropped, 1);
  } else if (delay_ms == 0) {
    iso_conn_send_msg(conn, &d->rsp);
  } else {
    atomic_fetch_add(&s->delayed, 1);
    d->conn = conn;
    iso_conn_ref(conn);
    uv_timer_init(iso_conn_loop(conn), &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, on_delay, delay_ms, 0);
    d = NULL;
  }
  if (d) {
    iso_msg_cleanup(&d->rsp);
    free(d);
  }
  iso_msg_cleanup(&req);
}

static void on_connection(iso_server *server, iso_conn *conn) {
  iso_conn_set_data(conn, iso_server_data(server));
}

static bool sim_ready(void *data) { return atomic_load(&((sim *)data)->ready); }

static void sim_metrics(void *data, iso__text *out) {
  sim *s = data;
  iso__metric_help(out, "isoflow_simulator_answers_total", "counter",
                   "Answers sent (or scheduled), by response code.");
  for (int i = 0; i < SIM_RC_SLOTS; i++) {
    uint64_t n = atomic_load(&s->answered[i]);
    if (!n) continue;
    char labels[32];
    if (i == SIM_RC_SLOTS - 1) snprintf(labels, sizeof labels, "rc=\"other\"");
    else snprintf(labels, sizeof labels, "rc=\"%02d\"", i);
    iso__metric(out, "isoflow_simulator_answers_total", labels, (double)n);
  }
  iso__metric_help(out, "isoflow_simulator_requests_total", "counter",
                   "Requests by what happened to them besides a plain answer.");
  iso__metric(out, "isoflow_simulator_requests_total", "what=\"dropped\"", (double)atomic_load(&s->dropped));
  iso__metric(out, "isoflow_simulator_requests_total", "what=\"delayed\"", (double)atomic_load(&s->delayed));
  iso__metric(out, "isoflow_simulator_requests_total", "what=\"malformed\"", (double)atomic_load(&s->malformed));
  iso__metric(out, "isoflow_simulator_requests_total", "what=\"network\"", (double)atomic_load(&s->network));
  if (s->server) {
    iso_conn_stats cs;
    iso_server_stats_read(s->server, &cs);
    iso__metric_server(out, &cs);
  }
}

static void sim_profile(void *data, iso__text *out) {
  (void)data;
  iso__text_printf(out, "the simulator runs no flow: no stage latencies\n");
}

int main(int argc, char **argv) {
  static sim s;
  struct sockaddr_storage listen, admin_addr;
  bool have_listen = false, have_admin = false;
  const char *spec = "iso87a-bbitmap", *frame = "len2";
  uint64_t threads = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!v) return bad("option (a value is missing after)", a);
    i++;
    if (!strcmp(a, "--listen")) {
      if (iso__parse_hostport(v, &listen) < 0) return bad(a, v);
      have_listen = true;
    } else if (!strcmp(a, "--admin")) {
      if (iso__parse_hostport(v, &admin_addr) < 0) return bad(a, v);
      have_admin = true;
    } else if (!strcmp(a, "--rule")) {
      if (s.rules.count == SIM_MAX_RULES || sim_rule_parse(v, &s.rules.rule[s.rules.count]) < 0)
        return bad(a, v);
      s.rules.count++;
    } else if (!strcmp(a, "--rules")) {
      int which = -1;
      if (sim_rules_load_json(v, &s.rules, &which) < 0) {
        fprintf(stderr, "isoflow-simulator: rules file %s: bad rule %d\n", v, which);
        return 2;
      }
    } else if (!strcmp(a, "--threads")) {
      if (iso__parse_u64(v, 1, 64, &threads) < 0) return bad(a, v);
    } else if (!strcmp(a, "--spec")) {
      spec = v;
    } else if (!strcmp(a, "--frame")) {
      frame = v;
    } else {
      return bad("option", a);
    }
  }
  if (!have_listen) return bad("usage: --listen is required", "");
  iso_frame_kind kind;
  if (iso_frame_kind_parse(frame, &kind) < 0) return bad("--frame", frame);
  if (iso_spec_open(spec, &s.spec, NULL) < 0) return bad("--spec", spec);

  iso_server_opts so;
  memset(&so, 0, sizeof so);
  so.conn.spec = s.spec;
  so.conn.framing.kind = (uint8_t)kind;
  so.conn.on_inbound = on_inbound;
  so.conn.data = &s;
  so.workers = (unsigned)threads;
  so.on_connection = on_connection;
  so.data = &s;
  int rc = iso_server_start(&so, (struct sockaddr *)&listen, &s.server);
  if (rc < 0) {
    fprintf(stderr, "isoflow-simulator: cannot listen: %s\n", iso_strerror(rc));
    return 1;
  }
  iso__admin *admin = NULL;
  if (have_admin) {
    iso__admin_ops ops = {sim_ready, sim_metrics, sim_profile, &s};
    if (iso__admin_start((struct sockaddr *)&admin_addr, &ops, &admin) < 0) {
      fprintf(stderr, "isoflow-simulator: cannot start the admin endpoint\n");
      iso_server_close(s.server, NULL);
      return 1;
    }
  }
  char rules[32];
  snprintf(rules, sizeof rules, " (%zu rules)", s.rules.count);
  iso__announce_listening(&listen, iso_server_port(s.server), admin, rules);
  atomic_store(&s.ready, true);

  iso__signals signals;
  iso__signals_wait(&signals);

  atomic_store(&s.ready, false);
  iso__admin_stop(admin);
  iso_server_close(s.server, NULL);
  iso_spec_free(s.spec);
  iso__signals_close(&signals);
  printf("stopped\n");
  return 0;
}
