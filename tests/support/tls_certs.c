/*
 * tests/support/tls_certs.c -- test certificates made with OpenSSL's API
 * (see tls_certs.h).  EC P-256 keys: quick to make.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "support/tls_certs.h"

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (ext == NULL) return -1;
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok ? 0 : -1;
}

/* A certificate for key named cn, signed by issuer (NULL: self-signed CA),
 * valid from now+from_days to now+to_days. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
                       EVP_PKEY *issuer_key, long from_days, long to_days,
                       long serial) {
  X509 *c = X509_new();
  if (c == NULL) return NULL;
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
  X509_gmtime_adj(X509_getm_notBefore(c), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(c), to_days * 86400);
  X509_set_pubkey(c, key);
  X509_NAME *name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
  X509 *iss = issuer ? issuer : c;
  int rc = 0;
  if (issuer == NULL) {
    rc |= add_ext(c, iss, NID_basic_constraints, "critical,CA:TRUE");
    rc |= add_ext(c, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    rc |= add_ext(c, iss, NID_basic_constraints, "CA:FALSE");
    rc |= add_ext(c, iss, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  if (rc < 0 || X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
    X509_free(c);
    return NULL;
  }
  return c;
}

static int write_pem(const char *path, X509 *cert, EVP_PKEY *key) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return -1;
  int ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
  fclose(f);
  return ok ? 0 : -1;
}

int th_certs_make(th_certs *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->dir, sizeof c->dir, "/tmp/isoflow-tls-XXXXXX");
  if (mkdtemp(c->dir) == NULL) return -1;
#define PATH(field, name) snprintf(c->field, sizeof c->field, "%s/" name, c->dir)
  PATH(ca, "ca.pem");
  PATH(other_ca, "other-ca.pem");
  PATH(server_cert, "server.pem");
  PATH(server_key, "server.key");
  PATH(client_cert, "client.pem");
  PATH(client_key, "client.key");
  PATH(expired_cert, "expired.pem");
  PATH(expired_key, "expired.key");
#undef PATH
  EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *other_key = EVP_EC_gen("P-256");
  EVP_PKEY *srv_key = EVP_EC_gen("P-256"), *cli_key = EVP_EC_gen("P-256");
  EVP_PKEY *exp_key = EVP_EC_gen("P-256");
  X509 *ca = NULL, *other = NULL, *srv = NULL, *cli = NULL, *exp = NULL;
  int rc = -1;
  if (!ca_key || !other_key || !srv_key || !cli_key || !exp_key) goto out;
  ca = make_cert(ca_key, "isoflow test CA", NULL, NULL, -1, 30, 1);
  other = make_cert(other_key, "unrelated CA", NULL, NULL, -1, 30, 2);
  if (!ca || !other) goto out;
  srv = make_cert(srv_key, "localhost", ca, ca_key, -1, 30, 3);
  cli = make_cert(cli_key, "terminal-client", ca, ca_key, -1, 30, 4);
  exp = make_cert(exp_key, "localhost", ca, ca_key, -10, -1, 5);
  if (!srv || !cli || !exp) goto out;
  if (write_pem(c->ca, ca, NULL) || write_pem(c->other_ca, other, NULL) ||
      write_pem(c->server_cert, srv, NULL) || write_pem(c->server_key, NULL, srv_key) ||
      write_pem(c->client_cert, cli, NULL) || write_pem(c->client_key, NULL, cli_key) ||
      write_pem(c->expired_cert, exp, NULL) || write_pem(c->expired_key, NULL, exp_key))
    goto out;
  rc = 0;
out:
  X509_free(ca);
  X509_free(other);
  X509_free(srv);
  X509_free(cli);
  X509_free(exp);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(other_key);
  EVP_PKEY_free(srv_key);
  EVP_PKEY_free(cli_key);
  EVP_PKEY_free(exp_key);
  return rc;
}

void th_certs_remove(th_certs *c) {
  const char *files[] = {c->ca, c->other_ca, c->server_cert, c->server_key,
                         c->client_cert, c->client_key, c->expired_cert, c->expired_key};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    if (files[i][0]) unlink(files[i]);
  if (c->dir[0]) rmdir(c->dir);
}

th_certs th_group_certs;

int th_certs_group_setup(void **state) {
  (void)state;
  return th_certs_make(&th_group_certs);
}

int th_certs_group_teardown(void **state) {
  (void)state;
  th_certs_remove(&th_group_certs);
  return 0;
}
