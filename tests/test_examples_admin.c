/*
 * tests/test_examples_admin.c -- the admin HTTP endpoint over loopback:
 * each route's status, content type and body, readiness switching, 404 and
 * 405, keep-alive (two requests on one connection), and a port that cannot
 * be bound.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <cmocka.h>

#include "examples/common/admin.h"
#include "examples/common/args.h"
#include "isoflow/error.h"

static bool ready_flag;
static int metrics_calls;

static bool ready(void *data) {
  assert_ptr_equal(data, &ready_flag);
  return ready_flag;
}

static void metrics(void *data, iso__text *out) {
  (void)data;
  metrics_calls++;
  iso__metric_help(out, "isoflow_transactions_total", "counter", "Transactions.");
  iso__metric(out, "isoflow_transactions_total", "mti=\"0100\",rc=\"00\"", 3);
  iso__metric(out, "isoflow_in_flight", NULL, 0);
}

static void profile(void *data, iso__text *out) {
  (void)data;
  iso__text_printf(out, "participant phase count\n");
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

/* Sends one request and reads one whole response (by Content-Length). */
static void roundtrip(int fd, const char *method, const char *path, char *resp,
                      size_t cap) {
  char req[256];
  int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\n\r\n", method, path);
  assert_int_equal(write(fd, req, (size_t)n), n);
  size_t got = 0;
  for (int i = 0; i < 100; i++) {
    ssize_t r = read(fd, resp + got, cap - 1 - got);
    assert_true(r > 0);
    got += (size_t)r;
    resp[got] = '\0';
    char *end = strstr(resp, "\r\n\r\n");
    const char *cl = strcasestr(resp, "Content-Length:");
    if (end && cl) {
      size_t len = strtoul(cl + 15, NULL, 10);
      if (!strcmp(method, "HEAD") || got >= (size_t)(end + 4 - resp) + len) return;
    }
  }
  fail_msg("no complete response");
}

static void get(int port, const char *path, char *resp, size_t cap) {
  int fd = connect_to(port);
  roundtrip(fd, "GET", path, resp, cap);
  close(fd);
}

static iso__admin *start(void) {
  struct sockaddr_storage ss;
  assert_int_equal(iso__parse_hostport("127.0.0.1:0", &ss), 0);
  iso__admin_ops ops = {ready, metrics, profile, &ready_flag};
  iso__admin *a = NULL;
  assert_int_equal(iso__admin_start((struct sockaddr *)&ss, &ops, &a), 0);
  assert_true(iso__admin_port(a) > 0);
  return a;
}

static void test_routes(void **state) {
  (void)state;
  iso__admin *a = start();
  int port = iso__admin_port(a);
  char r[4096];

  get(port, "/healthz", r, sizeof r);
  assert_non_null(strstr(r, "HTTP/1.1 200"));
  assert_non_null(strstr(r, "\r\n\r\nok\n"));

  ready_flag = false;
  get(port, "/readyz", r, sizeof r);
  assert_non_null(strstr(r, "HTTP/1.1 503"));
  assert_non_null(strstr(r, "not ready"));
  ready_flag = true;
  get(port, "/readyz", r, sizeof r);
  assert_non_null(strstr(r, "HTTP/1.1 200"));
  assert_non_null(strstr(r, "\r\n\r\nready\n"));

  metrics_calls = 0;
  get(port, "/metrics", r, sizeof r);
  assert_non_null(strstr(r, "HTTP/1.1 200"));
  assert_non_null(strstr(r, "version=0.0.4"));
  assert_non_null(strstr(r, "# TYPE isoflow_transactions_total counter\n"));
  assert_non_null(strstr(r, "isoflow_transactions_total{mti=\"0100\",rc=\"00\"} 3\n"));
  assert_non_null(strstr(r, "isoflow_in_flight 0\n"));
  assert_int_equal(metrics_calls, 1);

  get(port, "/profile", r, sizeof r);
  assert_non_null(strstr(r, "participant phase count"));

  get(port, "/nope", r, sizeof r);
  assert_non_null(strstr(r, "HTTP/1.1 404"));

  int fd = connect_to(port);
  roundtrip(fd, "POST", "/metrics", r, sizeof r);
  assert_non_null(strstr(r, "HTTP/1.1 405"));
  close(fd);

  /* Keep-alive: two requests on one connection. */
  fd = connect_to(port);
  roundtrip(fd, "GET", "/healthz", r, sizeof r);
  assert_non_null(strstr(r, "HTTP/1.1 200"));
  roundtrip(fd, "GET", "/readyz", r, sizeof r);
  assert_non_null(strstr(r, "ready"));
  close(fd);
  iso__admin_stop(a);
}

static void test_no_callbacks_and_busy_port(void **state) {
  (void)state;
  iso__admin *a = start();
  struct sockaddr_storage ss;
  char addr[32], r[1024];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", iso__admin_port(a));
  assert_int_equal(iso__parse_hostport(addr, &ss), 0);
  iso__admin_ops none = {0};
  iso__admin *b = (iso__admin *)&none;
  assert_int_equal(iso__admin_start((struct sockaddr *)&ss, &none, &b), ISO_E_IO);
  assert_ptr_equal(b, (iso__admin *)&none);
  iso__admin_stop(a);

  assert_int_equal(iso__parse_hostport("127.0.0.1:0", &ss), 0);
  assert_int_equal(iso__admin_start((struct sockaddr *)&ss, &none, &b), 0);
  get(iso__admin_port(b), "/readyz", r, sizeof r);
  assert_non_null(strstr(r, "HTTP/1.1 200"));
  get(iso__admin_port(b), "/metrics", r, sizeof r);
  assert_non_null(strstr(r, "Content-Length: 0"));
  iso__admin_stop(b);
  iso__admin_stop(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_routes),
      cmocka_unit_test(test_no_callbacks_and_busy_port),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
