/*
 * journal/protect.c -- card-data protection: the key file, keys derived from
 * it, AES-256-GCM envelopes for protected fields, the keyed PAN hash, and the
 * clear-PAN detector verify uses.
 *
 * One envelope per message rather than one per field: a GCM nonce must never
 * be reused under one key, so a record gets one random nonce and the fields
 * are sealed together; the additional data binds the envelope to its
 * transaction id, its direction (request or response) and the numbers of the
 * fields inside, so an envelope cannot be moved to another row unnoticed.
 */
/* The PAN hash uses OpenSSL's SHA256_* functions, deprecated in 3.0 (see
 * iso__pan_hash for why); everything else here goes through EVP. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "journal/journal_internal.h"

static int hex_nibble(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Derives a sub-key: HMAC-SHA256(master, label). */
static void derive(const uint8_t master[32], const char *label, uint8_t out[32]) {
  unsigned n = 32;
  HMAC(EVP_sha256(), master, 32, (const uint8_t *)label, strlen(label), out, &n);
}

int iso__protect_load_key(iso__protect *p, const char *path, char *why,
                          size_t why_cap) {
  uint8_t raw[130];
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, why_cap, "key file %s: cannot be opened", path);
    return ISO_E_KEY_FILE;
  }
  size_t n = fread(raw, 1, sizeof raw, f);
  fclose(f);
  uint8_t master[32];
  int rc = 0;
  if (n == 32) {
    memcpy(master, raw, 32);
  } else {
    size_t m = n;
    while (m > 0 && (raw[m - 1] == '\n' || raw[m - 1] == '\r')) m--;
    if (m != 64) {
      rc = ISO_E_KEY_FILE;
    } else {
      for (size_t i = 0; i < 32 && !rc; i++) {
        int hi = hex_nibble(raw[2 * i]), lo = hex_nibble(raw[2 * i + 1]);
        if (hi < 0 || lo < 0) rc = ISO_E_KEY_FILE;
        master[i] = (uint8_t)(hi << 4 | (lo & 0xf));
      }
    }
    if (rc)
      snprintf(why, why_cap,
               "key file %s: %zu bytes, expected 32 raw bytes or 64 hex "
               "characters",
               path, n);
  }
  OPENSSL_cleanse(raw, sizeof raw);
  if (rc) {
    OPENSSL_cleanse(master, sizeof master);
    return rc;
  }
  derive(master, "isoflow journal: field encryption", p->enc_key);
  derive(master, "isoflow journal: PAN hash", p->hash_key);
  uint8_t check[32];
  derive(master, "isoflow journal: key check", check);
  memcpy(p->check, check, sizeof p->check);
  OPENSSL_cleanse(master, sizeof master);
  p->has_key = true;
  return 0;
}

/* HMAC-SHA256 is computed from SHA-256 states keyed once (RFC 2104: the
 * inner and outer pads absorbed at open), copied per call: OpenSSL's
 * one-shot HMAC() fetches and keys afresh every time, which the profile
 * showed as the largest single cost of journaling a transaction.  The
 * states are plain SHA256_CTX values rather than EVP_MD_CTX: copying an
 * EVP context (EVP_MD_CTX_copy_ex, OpenSSL 3.0) frees and allocates the
 * provider's state and takes references on every call, a third of the
 * hash's cost; a SHA256_CTX is copied by assignment.  The compression
 * function is the same (SHA-NI where the CPU has it). */
int iso__protect_ready(iso__protect *p) {
  static _Atomic uint64_t ids = 1;
  p->id = atomic_fetch_add(&ids, 1);
  uint8_t pad[64];
  int ok = 1;
  for (int k = 0; k < 2; k++) {
    memset(pad, k ? 0x5c : 0x36, sizeof pad);
    for (int i = 0; i < 32; i++) pad[i] ^= p->hash_key[i];
    SHA256_CTX *c = k ? &p->hmac_outer : &p->hmac_inner;
    ok = ok && SHA256_Init(c) == 1 && SHA256_Update(c, pad, sizeof pad) == 1;
  }
  OPENSSL_cleanse(pad, sizeof pad);
  if (!ok) return ISO_E_CRYPTO;
  if (p->has_key) {
    p->aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (!p->aes) return ISO_E_CRYPTO;
  }
  return 0;
}

void iso__protect_free(iso__protect *p) {
  EVP_CIPHER_free(p->aes);
  OPENSSL_cleanse(p, sizeof *p);
}

/* ---- per-thread contexts --------------------------------------------------
 * Allocating an OpenSSL context for every envelope showed in the profile;
 * each thread that journals keeps one cipher context instead, freed when the
 * thread ends.  The cipher context
 * remembers which journal's key it holds (iso__protect.id) and is keyed
 * again only when another journal uses it; per record only the nonce is
 * set. */

typedef struct thread_ctx {
  EVP_CIPHER_CTX *cipher;
  uint64_t keyed_for; /* iso__protect.id of the key in `cipher`, 0: none */
} thread_ctx;

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static bool ctx_key_ok;

static void thread_ctx_free(void *arg) {
  thread_ctx *t = arg;
  EVP_CIPHER_CTX_free(t->cipher);
  OPENSSL_free(t);
}

static void ctx_key_make(void) {
  ctx_key_ok = pthread_key_create(&ctx_key, thread_ctx_free) == 0;
}

static thread_ctx *thread_ctx_get(void) {
  pthread_once(&ctx_once, ctx_key_make);
  if (!ctx_key_ok) return NULL;
  thread_ctx *t = pthread_getspecific(ctx_key);
  if (t) return t;
  t = OPENSSL_zalloc(sizeof *t);
  if (!t) return NULL;
  t->cipher = EVP_CIPHER_CTX_new();
  if (!t->cipher || pthread_setspecific(ctx_key, t)) {
    thread_ctx_free(t);
    return NULL;
  }
  return t;
}

int iso__pan_hash(const iso__protect *p, const uint8_t *pan, size_t len,
                  uint8_t out[32]) {
  SHA256_CTX c = p->hmac_inner;
  uint8_t inner[32];
  int ok = SHA256_Update(&c, pan, len) == 1 && SHA256_Final(inner, &c) == 1;
  c = p->hmac_outer;
  ok = ok && SHA256_Update(&c, inner, sizeof inner) == 1 &&
       SHA256_Final(out, &c) == 1;
  OPENSSL_cleanse(inner, sizeof inner); /* SHA256_Final wipes its block */
  return ok ? 0 : ISO_E_CRYPTO;
}

/* A forked child holds the same pool bytes as its parent: the child
 * handler moves the generation on, and a pool drawn in another generation
 * is drawn again.  (Comparing getpid() per record did the same job with a
 * system call per record -- glibc does not cache the pid -- a tenth of
 * journaling a transaction with the key, the profile showed.)  Should the
 * handler not register, the pid is compared as before. */
static _Atomic unsigned fork_generation;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static bool fork_watched;

static void on_fork_child(void) { atomic_fetch_add(&fork_generation, 1); }

static void fork_watch(void) {
  fork_watched = pthread_atfork(NULL, NULL, on_fork_child) == 0;
}

/* Random nonces, drawn from the CSPRNG in batches: one RAND_bytes call per
 * 512 records instead of one each.  Each is used once and wiped; a forked
 * child starts a fresh pool. */
static int next_nonce(uint8_t out[ISO__NONCE_LEN]) {
  static _Thread_local struct {
    uint8_t buf[ISO__NONCE_LEN * 512];
    size_t pos;
    unsigned generation;
    pid_t pid;
  } pool = {.pos = sizeof pool.buf};
  pthread_once(&fork_once, fork_watch);
  unsigned generation = atomic_load_explicit(&fork_generation, memory_order_acquire);
  if (pool.pos == sizeof pool.buf || pool.generation != generation ||
      (!fork_watched && pool.pid != getpid())) {
    if (RAND_bytes(pool.buf, sizeof pool.buf) != 1) return ISO_E_CRYPTO;
    pool.pos = 0;
    pool.generation = generation;
    pool.pid = fork_watched ? 0 : getpid();
  }
  memcpy(out, pool.buf + pool.pos, ISO__NONCE_LEN);
  OPENSSL_cleanse(pool.buf + pool.pos, ISO__NONCE_LEN); /* used once */
  pool.pos += ISO__NONCE_LEN;
  return 0;
}

static size_t build_aad(uint64_t tx_id, char dir, const int *fields,
                        size_t nfields, uint8_t *aad) {
  size_t n = 0;
  for (int i = 7; i >= 0; i--) aad[n++] = (uint8_t)(tx_id >> (8 * i));
  aad[n++] = (uint8_t)dir;
  for (size_t i = 0; i < nfields; i++) aad[n++] = (uint8_t)fields[i];
  return n;
}

int iso__seal(const iso__protect *p, uint64_t tx_id, char dir,
              const int *fields, size_t nfields, const uint8_t *plain,
              size_t len, iso__jbuf *out) {
  uint8_t aad[9 + ISO_MAX_FIELD];
  size_t aad_len = build_aad(tx_id, dir, fields, nfields, aad);
  uint8_t hdr[1 + ISO__NONCE_LEN + ISO__TAG_LEN];
  hdr[0] = 1; /* envelope version */
  if (next_nonce(hdr + 1)) return ISO_E_CRYPTO;
  size_t at = out->len;
  iso__jbuf_put(out, hdr, sizeof hdr);
  iso__jbuf_put(out, plain, len); /* room; overwritten with ciphertext */
  if (out->failed) return ISO_E_NOMEM;
  uint8_t *ct = out->data + at + sizeof hdr;
  /* the thread's context, keyed once: per record only the nonce changes */
  thread_ctx *t = thread_ctx_get();
  EVP_CIPHER_CTX *c = t ? t->cipher : NULL;
  int ok = c != NULL, outl = 0;
  if (ok && t->keyed_for != p->id) {
    t->keyed_for = 0;
    ok = EVP_EncryptInit_ex(c, p->aes, NULL, p->enc_key, NULL) == 1;
    if (ok) t->keyed_for = p->id;
  }
  ok = ok && EVP_EncryptInit_ex(c, NULL, NULL, NULL, hdr + 1) == 1;
  ok = ok && EVP_EncryptUpdate(c, NULL, &outl, aad, (int)aad_len) == 1;
  ok = ok && EVP_EncryptUpdate(c, ct, &outl, plain, (int)len) == 1;
  ok = ok && EVP_EncryptFinal_ex(c, ct + outl, &outl) == 1;
  /* the tag asked of the provider directly: EVP_CIPHER_CTX_ctrl builds the
   * same parameter with ~100 instructions more a record */
  OSSL_PARAM tag[2] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                        out->data + at + 1 + ISO__NONCE_LEN,
                                        ISO__TAG_LEN),
      OSSL_PARAM_construct_end()};
  ok = ok && EVP_CIPHER_CTX_get_params(c, tag) == 1 && OSSL_PARAM_modified(tag);
  if (!ok) {
    OPENSSL_cleanse(ct, len); /* may still hold the plaintext */
    if (t) t->keyed_for = 0;  /* key it afresh next time */
  }
  return ok ? 0 : ISO_E_CRYPTO;
}

int iso__open(const iso__protect *p, uint64_t tx_id, char dir,
              const uint8_t *env, size_t env_len, uint8_t *plain,
              size_t *plain_len) {
  size_t hdr = 1 + ISO__NONCE_LEN + ISO__TAG_LEN;
  if (env_len < hdr || env[0] != 1) return ISO_E_JOURNAL_CORRUPT;
  if (!p->has_key) return ISO_E_KEY_FILE;
  size_t len = env_len - hdr;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int ok = c != NULL, outl = 0;
  ok = ok && EVP_DecryptInit_ex(c, p->aes, NULL, p->enc_key, env + 1) == 1;
  ok = ok && EVP_DecryptUpdate(c, plain, &outl, env + hdr, (int)len) == 1;
  /* The additional data names the fields, which only the plaintext tells:
   * decrypt first, then authenticate everything (nothing is used before
   * EVP_DecryptFinal_ex accepted the tag). */
  if (ok) {
    uint8_t aad[9 + ISO_MAX_FIELD];
    int fields[ISO_MAX_FIELD];
    size_t nf = iso__fields_of(plain, len, fields, ISO_MAX_FIELD);
    size_t aad_len = build_aad(tx_id, dir, fields, nf, aad);
    EVP_CIPHER_CTX_free(c);
    c = EVP_CIPHER_CTX_new();
    ok = c != NULL;
    ok = ok && EVP_DecryptInit_ex(c, p->aes, NULL, p->enc_key, env + 1) == 1;
    ok = ok && EVP_DecryptUpdate(c, NULL, &outl, aad, (int)aad_len) == 1;
    ok = ok && EVP_DecryptUpdate(c, plain, &outl, env + hdr, (int)len) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, ISO__TAG_LEN,
                                   (void *)(env + 1 + ISO__NONCE_LEN)) == 1;
    ok = ok && EVP_DecryptFinal_ex(c, plain + outl, &outl) == 1;
  }
  EVP_CIPHER_CTX_free(c);
  if (!ok) {
    OPENSSL_cleanse(plain, len);
    return ISO_E_CRYPTO;
  }
  *plain_len = len;
  return 0;
}

size_t iso__fields_of(const uint8_t *plain, size_t len, int *fields,
                      size_t cap) {
  size_t pos = 0, n = 0;
  while (pos < len && n < cap) {
    fields[n++] = plain[pos++];
    uint64_t l;
    if (!iso__jget_varint(plain, len, &pos, &l) || l > len - pos) break;
    pos += (size_t)l;
  }
  return n;
}

static bool luhn_ok(const uint8_t *d, size_t n) {
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned v = d[n - 1 - i] - '0';
    if (i & 1) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return sum % 10 == 0;
}

bool iso__has_clear_pan(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    if (p[i] < '0' || p[i] > '9') {
      i++;
      continue;
    }
    size_t j = i;
    while (j < len && p[j] >= '0' && p[j] <= '9') j++;
    /* a whole run of PAN length (a PAN sits between separators: '=' in
     * tracks, a length prefix in records) */
    if (j - i >= 13 && j - i <= 19 && luhn_ok(p + i, j - i)) return true;
    i = j;
  }
  return false;
}
