/*
 * tests/support/tls_certs.h -- certificates made at test time with OpenSSL's
 * API: a CA, a server certificate for "localhost" / 127.0.0.1, a client
 * certificate, an expired server certificate, and an unrelated CA, written as
 * PEM files into a fresh temporary directory.
 */
#ifndef ISOFLOW_TESTS_TLS_CERTS_H
#define ISOFLOW_TESTS_TLS_CERTS_H

typedef struct th_certs {
  char dir[64];
  char ca[96], other_ca[96];
  char server_cert[96], server_key[96];
  char client_cert[96], client_key[96];
  char expired_cert[96], expired_key[96];
} th_certs;

/* Makes every file; returns 0 or -1. */
int th_certs_make(th_certs *c);
/* Removes the files and the directory. */
void th_certs_remove(th_certs *c);

/* One set for a whole suite: th_certs_group_setup makes th_group_certs
 * (a cmocka group setup), th_certs_group_teardown removes them. */
extern th_certs th_group_certs;
int th_certs_group_setup(void **state);
int th_certs_group_teardown(void **state);

#endif
