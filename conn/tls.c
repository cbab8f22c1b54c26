/*
 * conn/tls.c -- TLS between the socket and the framer, with OpenSSL memory BIOs.
 *
 * OpenSSL never touches the socket.  Ciphertext read by libuv is written into
 * the session's read BIO; SSL_read then yields plaintext straight into the
 * connection's read buffer, where the framer runs as for plain TCP.  On the
 * way out, the plaintext output buffer is handed to SSL_write once per flush,
 * and whatever the write BIO holds is written to the socket by the same
 * try-write / uv_write code as plain TCP (iso__conn_write_wire).
 *
 * TLS 1.2 is the minimum.  Clients verify the server against ca_file and
 * check its name (SSL_set1_host); servers can require and verify a client
 * certificate (mutual TLS).  Close sends close_notify and does not wait for
 * the peer's: a peer that hangs cannot hold the close, which is bounded by
 * the connection's close timer anyway.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conn/conn_internal.h"

#define ISO__CIPHER_IN 16384

struct iso_tls {
  SSL_CTX *ctx;
};

struct iso__tls_session {
  SSL *ssl;
  BIO *rbio; /* network -> SSL */
  BIO *wbio; /* SSL -> network */
  bool handshaking;
  iso__buf cipher_out;
  uint8_t cipher_in[ISO__CIPHER_IN];
};

int iso_tls_new(const iso_tls_opts *opts, iso_tls **out) {
  if (opts == NULL || out == NULL) return ISO_E_INVAL;
  if (opts->server && (opts->cert_file == NULL || opts->key_file == NULL))
    return ISO_E_INVAL;
  if (opts->require_peer_cert && opts->ca_file == NULL) return ISO_E_INVAL;
  iso_tls *t = calloc(1, sizeof *t);
  if (t == NULL) return ISO_E_NOMEM;
  t->ctx = SSL_CTX_new(opts->server ? TLS_server_method() : TLS_client_method());
  if (t->ctx == NULL) goto fail;
  SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(t->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (opts->cert_file &&
      SSL_CTX_use_certificate_chain_file(t->ctx, opts->cert_file) != 1)
    goto fail;
  if (opts->key_file &&
      (SSL_CTX_use_PrivateKey_file(t->ctx, opts->key_file, SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_check_private_key(t->ctx) != 1))
    goto fail;
  if (opts->ca_file && SSL_CTX_load_verify_locations(t->ctx, opts->ca_file, NULL) != 1)
    goto fail;
  if (opts->server) {
    if (opts->require_peer_cert)
      SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  } else if (!opts->no_verify) {
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
  }
  ERR_clear_error();
  *out = t;
  return 0;
fail:
  ERR_clear_error();
  iso_tls_free(t);
  return ISO_E_TLS;
}

void iso_tls_free(iso_tls *tls) {
  if (tls == NULL) return;
  SSL_CTX_free(tls->ctx);
  free(tls);
}

int iso__tls_attach(iso_conn *conn, bool server) {
  struct iso__tls_session *s = calloc(1, sizeof *s);
  if (s == NULL) return ISO_E_NOMEM;
  s->ssl = SSL_new(conn->opts.tls->ctx);
  s->rbio = BIO_new(BIO_s_mem());
  s->wbio = BIO_new(BIO_s_mem());
  if (s->ssl == NULL || s->rbio == NULL || s->wbio == NULL ||
      iso__conn_rbuf_ready(conn) < 0) {
    BIO_free(s->rbio);
    BIO_free(s->wbio);
    SSL_free(s->ssl);
    free(s);
    return ISO_E_TLS;
  }
  SSL_set_bio(s->ssl, s->rbio, s->wbio);
  if (server) {
    SSL_set_accept_state(s->ssl);
  } else {
    SSL_set_connect_state(s->ssl);
    const char *name = conn->opts.tls_peer_name;
    unsigned char ip[16];
    bool is_ip = name && (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1);
    /* a name is checked against DNS names (and sent as SNI); an address
     * against IP address entries */
    int ok = name == NULL ||
             (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), name)
                    : SSL_set1_host(s->ssl, name) && SSL_set_tlsext_host_name(s->ssl, name));
    if (ok != 1) {
      SSL_free(s->ssl);
      free(s);
      return ISO_E_TLS;
    }
  }
  s->handshaking = true;
  conn->tls = s;
  return 0;
}

void iso__tls_detach(iso_conn *conn) {
  struct iso__tls_session *s = conn->tls;
  if (s == NULL) return;
  SSL_free(s->ssl); /* frees both BIOs */
  iso__buf_free(&s->cipher_out);
  free(s);
  conn->tls = NULL;
  ERR_clear_error();
}

void iso__tls_cipher_buf(iso_conn *conn, uv_buf_t *buf) {
  buf->base = (char *)conn->tls->cipher_in;
  buf->len = sizeof conn->tls->cipher_in;
}

/* Moves what OpenSSL produced to the socket. */
static int drain(iso_conn *conn) {
  struct iso__tls_session *s = conn->tls;
  size_t pending = BIO_ctrl_pending(s->wbio);
  if (pending) {
    if (iso__buf_reserve(&s->cipher_out, pending) < 0) return ISO_E_NOMEM;
    int n = BIO_read(s->wbio, s->cipher_out.data + s->cipher_out.len, (int)pending);
    if (n > 0) s->cipher_out.len += (size_t)n;
  }
  return iso__conn_write_wire(conn, &s->cipher_out);
}

int iso__tls_flush(iso_conn *conn) {
  struct iso__tls_session *s = conn->tls;
  if (!s->handshaking && conn->out.len) {
    int n = SSL_write(s->ssl, conn->out.data, (int)conn->out.len);
    if (n <= 0) {
      ERR_clear_error();
      iso__conn_down(conn, ISO_E_TLS, true);
      return ISO_E_TLS;
    }
    conn->out.len = 0; /* memory BIO: a write is taken whole */
  }
  return drain(conn);
}

int iso__tls_handshake(iso_conn *conn) {
  struct iso__tls_session *s = conn->tls;
  int rc = SSL_do_handshake(s->ssl);
  if (rc == 1) {
    s->handshaking = false;
    drain(conn);
    if (conn->state == ISO__DOWN) return ISO_E_CLOSED;
    iso__conn_ready(conn);
    return 0;
  }
  int err = SSL_get_error(s->ssl, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    drain(conn);
    return 0;
  }
  ERR_clear_error();
  drain(conn); /* let the peer see our alert */
  iso__conn_down(conn, ISO_E_TLS, true);
  return ISO_E_TLS;
}

void iso__tls_on_cipher(iso_conn *conn, const uint8_t *data, size_t len) {
  struct iso__tls_session *s = conn->tls;
  if (BIO_write(s->rbio, data, (int)len) != (int)len) {
    iso__conn_down(conn, ISO_E_NOMEM, true);
    return;
  }
  if (s->handshaking && (iso__tls_handshake(conn) < 0 || s->handshaking)) return;
  while (conn->state != ISO__DOWN) {
    size_t room = conn->rbuf.cap - conn->rbuf.len;
    int n = SSL_read(s->ssl, conn->rbuf.data + conn->rbuf.len, (int)room);
    if (n > 0) {
      conn->rbuf.len += (size_t)n;
      if ((size_t)n == room) iso__conn_frames(conn); /* make room */
      continue;
    }
    int err = SSL_get_error(s->ssl, n);
    if (err == SSL_ERROR_WANT_READ) break;
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN) /* close_notify */
      iso__conn_down(conn, ISO_E_CLOSED, conn->rbuf.len > 0);
    else
      iso__conn_down(conn, ISO_E_TLS, true);
    return;
  }
  if (conn->state == ISO__DOWN) return;
  iso__conn_frames(conn);
  if (conn->state != ISO__DOWN && BIO_ctrl_pending(s->wbio)) drain(conn);
}

int iso__tls_shutdown(iso_conn *conn) {
  struct iso__tls_session *s = conn->tls;
  if (s->handshaking) return 0;
  SSL_shutdown(s->ssl); /* queues close_notify; the peer's is not awaited */
  ERR_clear_error();
  return 0;
}

size_t iso__tls_backlog(const iso_conn *conn) {
  return conn->tls->cipher_out.len + BIO_ctrl_pending(conn->tls->wbio);
}
