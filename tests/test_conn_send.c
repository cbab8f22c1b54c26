/*
 * tests/test_conn_send.c -- `isoflow send` end to end: a server on worker
 * threads, the real program run against it; responses printed as JSON,
 * exit statuses for success, bad input, timeouts and refused connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/conn_harness.h"
#include "support/tls_certs.h"
#include "support/worker_server.h"

static iso_server *server;
static int port;
static char input[64];

static int setup(void **state) {
  (void)state;
  server = th_worker_server_start(1, NULL);
  port = iso_server_port(server);
  snprintf(input, sizeof input, "/tmp/isoflow-send-XXXXXX");
  int fd = mkstemp(input);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  iso_server_close(server, NULL);
  unlink(input);
  return 0;
}

static void write_input(const char *text) {
  FILE *f = fopen(input, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* Runs a shell command; returns its exit status (-1: it did not exit), what
 * it printed in out. */
static int run_command(const char *cmd, char *out, size_t cap) {
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, cap - 1, p);
  out[n] = 0;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs isoflow send with extra args; returns the exit status, output in out. */
static int run_send(const char *args, char *out, size_t cap) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s/isoflow send --to 127.0.0.1:%d --spec iso87a %s %s 2>&1",
           ISOFLOW_BIN_DIR, port, args, input);
  return run_command(cmd, out, cap);
}

static void responses_printed_as_json(void **state) {
  (void)state;
  write_input("{\"0\":\"0100\",\"11\":\"000001\",\"41\":\"TERM0001\"}\n"
              "\n"
              "{\"0\":\"0800\",\"11\":\"000002\"}\n");
  char out[2048];
  assert_int_equal(run_send("--timeout 2000", out, sizeof out), 0);
  assert_non_null(strstr(out, "\"0\":\"0110\""));
  assert_non_null(strstr(out, "\"39\":\"00\""));
  assert_non_null(strstr(out, "\"0\":\"0810\""));
  assert_non_null(strstr(out, "\"11\":\"000002\""));
}

static void bad_input_exits_2(void **state) {
  (void)state;
  char out[2048];
  write_input("{\"0\":\"0100\",\"11\":\n");
  assert_int_equal(run_send("", out, sizeof out), 2);
  assert_non_null(strstr(out, "line 1"));
  write_input("{\"0\":\"0110\",\"11\":\"000001\"}\n"); /* a response is no request */
  assert_int_equal(run_send("", out, sizeof out), 2);
  assert_int_equal(run_send("--frame len9", out, sizeof out), 2);
  assert_int_equal(run_send("--timeout x", out, sizeof out), 2);
}

static void timeout_exits_1(void **state) {
  (void)state;
  char out[2048];
  write_input("{\"0\":\"0100\",\"11\":\"" TH_UNANSWERED_STAN "\"}\n");
  assert_int_equal(run_send("--timeout 100", out, sizeof out), 1);
  assert_non_null(strstr(out, "timed out"));
}

static void refused_connection_exits_1(void **state) {
  (void)state;
  char cmd[512], out[512];
  snprintf(cmd, sizeof cmd, "%s/isoflow send --to 127.0.0.1:1 --spec iso87a </dev/null 2>&1",
           ISOFLOW_BIN_DIR);
  assert_int_equal(run_command(cmd, out, sizeof out), 1);
  assert_non_null(strstr(out, "connection failed"));
  snprintf(cmd, sizeof cmd, "%s/isoflow send --help >/dev/null", ISOFLOW_BIN_DIR);
  assert_int_equal(WEXITSTATUS(system(cmd)), 0);
}

/* Over TLS, verifying the server against the CA and the address. */
static void over_tls(void **state) {
  (void)state;
  th_certs certs;
  assert_int_equal(th_certs_make(&certs), 0);
  iso_tls_opts to = {.server = true, .cert_file = certs.server_cert,
                     .key_file = certs.server_key, .ca_file = certs.ca,
                     .require_peer_cert = true};
  iso_tls *tls;
  assert_int_equal(iso_tls_new(&to, &tls), 0);
  iso_server *s = th_worker_server_start(1, tls);
  write_input("{\"0\":\"0100\",\"11\":\"000001\",\"41\":\"TERM0001\"}\n");
  char cmd[1024], out[2048];
  snprintf(cmd, sizeof cmd,
           "%s/isoflow send --to 127.0.0.1:%d --spec iso87a --tls-ca %s --tls-cert %s "
           "--tls-key %s %s 2>&1",
           ISOFLOW_BIN_DIR, iso_server_port(s), certs.ca, certs.client_cert,
           certs.client_key, input);
  assert_int_equal(run_command(cmd, out, sizeof out), 0);
  assert_non_null(strstr(out, "\"0\":\"0110\""));
  /* without the client certificate the server refuses: exit 1 */
  snprintf(cmd, sizeof cmd,
           "%s/isoflow send --to 127.0.0.1:%d --spec iso87a --tls-ca %s --timeout 2000 %s "
           ">/dev/null 2>&1",
           ISOFLOW_BIN_DIR, iso_server_port(s), certs.ca, input);
  assert_int_equal(WEXITSTATUS(system(cmd)), 1);
  iso_server_close(s, NULL);
  iso_tls_free(tls);
  th_certs_remove(&certs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(responses_printed_as_json),
      cmocka_unit_test(bad_input_exits_2),
      cmocka_unit_test(timeout_exits_1),
      cmocka_unit_test(refused_connection_exits_1),
      cmocka_unit_test(over_tls),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
