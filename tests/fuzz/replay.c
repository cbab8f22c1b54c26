/*
 * tests/fuzz/replay.c -- runs a fuzz target without libFuzzer: every file
 * named on the command line (directories are walked one level) is passed
 * to LLVMFuzzerTestOneInput once.  Linked with each target by
 * tests/fuzz.cmake into isoflow-replay-<name>, so the ordinary sanitizer
 * build (gcc, scripts/test) replays the seed corpus and every saved crash
 * (tests/fuzz/crashes/<name>/) as a regression test.  Exit status 0 when
 * every input ran; an oracle or sanitizer failure aborts.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the file into an exact-size heap buffer (so ASan sees any read past
 * its end) and runs the target on it.  Returns 0, or -1 when unreadable. */
static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 4096;
      uint8_t *grown = realloc(buf, cap);
      if (!grown) break;
      buf = grown;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    if (got == 0) break;
    len += got;
  }
  fclose(f);
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) {
    free(buf);
    return -1;
  }
  if (len) memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir, in name order; returns how many. */
static long run_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0; /* a target may have no saved crashes */
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char **more = realloc(names, (n + 1) * sizeof *names);
    if (!more) break;
    names = more;
    size_t sz = strlen(dir) + strlen(e->d_name) + 2;
    names[n] = malloc(sz);
    if (!names[n]) break;
    snprintf(names[n], sz, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, by_name);
  long ran = 0;
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names[i]) == 0)
      ran++;
    free(names[i]);
  }
  free(names);
  return ran;
}

int main(int argc, char **argv) {
  long ran = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      ran += run_dir(argv[i]);
    } else if (run_file(argv[i]) == 0) {
      ran++;
    } else {
      fprintf(stderr, "replay: cannot read %s\n", argv[i]);
      return 2;
    }
  }
  printf("replay: %ld inputs ran clean\n", ran);
  return 0;
}
