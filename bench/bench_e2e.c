/*
 * bench/bench_e2e.c -- end to end: isoflow-acquirer against isoflow-issuer
 * over loopback, the issuer's journal durable (sync full) in a temporary
 * directory.  This program drives the two real programs from its own bin
 * directory (scripts/bench builds them beside it) and reads the acquirer's
 * --json summary.
 *
 *   e2e.auth          authorizations answered per second at full speed
 *                     (4 connections, 4096 in flight)
 *   e2e.auth_w512     the same with 512 in flight, as measured before
 *                     (with a durable journal a window that small bounds
 *                     the rate: 512 / the time a group commit takes)
 *   e2e.issuer.cpu    the issuer's CPU time per authorization at full
 *   e2e.acquirer.cpu  speed (all its threads, user + system), and the
 *                     acquirer's: on a shared machine these say more than
 *                     the rates do
 *   e2e.p99_at_50k    p99 latency (ms) with the acquirer pacing 50,000
 *                     authorizations per second (also e2e.p50_at_50k and
 *                     e2e.rate_at_50k, the rate achieved)
 *
 * Both programs share the machine's cores, as they would on one host; the
 * figures are those of the pair.  The issuer runs its default number of
 * worker loops (printed as e2e.issuer.loops; E2E_THREADS=N asks for N).  Amounts are 0.01 to 1.00 so balances
 * last the whole run and nearly every authorization is approved (a hold, a
 * capture, a journal write).  --quick: shorter runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char bin_dir[4096];
static char work[64];

static void die(const char *what) {
  fprintf(stderr, "bench_e2e: %s\n", what);
  exit(1);
}

static void find_bin_dir(void) {
  ssize_t n = readlink("/proc/self/exe", bin_dir, sizeof bin_dir - 1);
  if (n <= 0) die("cannot find my own directory");
  bin_dir[n] = '\0';
  char *slash = strrchr(bin_dir, '/');
  if (slash) *slash = '\0';
}

/* Starts the issuer with its stdout on a pipe; returns its pid and port
 * and the number of worker loops it runs. */
static pid_t start_issuer(int *port, int *loops) {
  char prog[4200], journal[128];
  snprintf(prog, sizeof prog, "%s/isoflow-issuer", bin_dir);
  snprintf(journal, sizeof journal, "%s/issuer.db", work);
  char *argv[12] = {prog, "--listen", "127.0.0.1:0", "--journal", journal,
                    "--max-in-flight", "100000", NULL};
  /* The issuer's own default worker loops unless E2E_THREADS says. */
  const char *threads = getenv("E2E_THREADS");
  if (threads && *threads) {
    argv[7] = "--threads";
    argv[8] = (char *)threads;
    argv[9] = NULL;
  }
  int out[2];
  if (pipe(out) < 0) die("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  pid_t pid;
  if (posix_spawn(&pid, prog, &fa, NULL, argv, environ) != 0) die("cannot start the issuer");
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  FILE *f = fdopen(out[0], "r");
  char line[256];
  *port = 0;
  *loops = 0;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "worker loops: %d", loops) == 1) continue;
    if (sscanf(line, "listening on 127.0.0.1:%d", port) == 1) break;
  }
  fclose(f); /* the issuer's later lines go to a closed pipe: it ignores SIGPIPE */
  if (*port <= 0) die("the issuer did not start");
  return pid;
}

static void stop_issuer(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 600; i++) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "bench_e2e: the issuer did not stop cleanly\n");
      return;
    }
    struct timespec ts = {0, 50000000L};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  fprintf(stderr, "bench_e2e: the issuer had to be killed\n");
}

/* Runs the acquirer with extra args, returns its JSON summary line. */
static void run_acquirer(int port, const char *args, char *json, size_t cap) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd,
           "timeout 300 '%s/isoflow-acquirer' --connect 127.0.0.1:%d --json --amount 1-100 "
           "--no-signon %s",
           bin_dir, port, args);
  FILE *p = popen(cmd, "r");
  if (!p) die("cannot run the acquirer");
  json[0] = '\0';
  if (!fgets(json, (int)cap, p)) json[0] = '\0';
  pclose(p);
  if (!strstr(json, "\"tx_per_s\"")) die("the acquirer gave no summary");
}

/* CPU seconds (user + system) the issuer has used so far. */
static double issuer_cpu_s(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')'); /* after the command name */
  unsigned long utime = 0, stime = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                   &stime) != 2)
    return -1;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds used by the children waited for (the acquirer runs). */
static double children_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static double json_number(const char *json, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(json, pat);
  return p ? strtod(p + strlen(pat), NULL) : -1;
}

int main(int argc, char **argv) {
  int quick = argc > 1 && !strcmp(argv[1], "--quick");
  find_bin_dir();
  snprintf(work, sizeof work, "/tmp/isoflow-bench-e2e.XXXXXX");
  if (!mkdtemp(work)) die("mkdtemp");
  signal(SIGPIPE, SIG_IGN);
  int port, loops;
  pid_t issuer = start_issuer(&port, &loops);
  printf("bench: e2e.issuer.loops %d loops\n", loops);
  char json[4096], args[256];

  /* Warm up (connections, page cache, the journal's first pages). */
  run_acquirer(port, "-n 5000 --connections 4 --concurrency 256", json, sizeof json);

  int n = quick ? 50000 : 300000;
  snprintf(args, sizeof args, "-n %d --connections 4 --concurrency 4096", n);
  double issuer0 = issuer_cpu_s(issuer), acquirer0 = children_cpu_s();
  run_acquirer(port, args, json, sizeof json);
  double issuer1 = issuer_cpu_s(issuer), acquirer1 = children_cpu_s();
  fprintf(stderr, "bench_e2e: full speed: %s", json);
  if (json_number(json, "timeouts") != 0) fprintf(stderr, "bench_e2e: timeouts at full speed\n");
  printf("bench: e2e.auth %.0f auth/s\n", json_number(json, "tx_per_s"));
  printf("bench: e2e.issuer.cpu %.2f us/auth\n", (issuer1 - issuer0) * 1e6 / n);
  printf("bench: e2e.acquirer.cpu %.2f us/auth\n", (acquirer1 - acquirer0) * 1e6 / n);
  fflush(stdout);

  snprintf(args, sizeof args, "-n %d --connections 4 --concurrency 512", n);
  run_acquirer(port, args, json, sizeof json);
  fprintf(stderr, "bench_e2e: full speed, 512 in flight: %s", json);
  printf("bench: e2e.auth_w512 %.0f auth/s\n", json_number(json, "tx_per_s"));
  fflush(stdout);

  snprintf(args, sizeof args, "-n %d --rate 50000 --connections 4 --concurrency 4096",
           quick ? 50000 : 250000);
  run_acquirer(port, args, json, sizeof json);
  fprintf(stderr, "bench_e2e: paced at 50k/s: %s", json);
  const char *lat = strstr(json, "\"latency_ms\":");
  printf("bench: e2e.p99_at_50k %.3f ms\n", lat ? json_number(lat, "p99") : -1.0);
  printf("bench: e2e.p50_at_50k %.3f ms\n", lat ? json_number(lat, "p50") : -1.0);
  printf("bench: e2e.rate_at_50k %.0f auth/s\n", json_number(json, "tx_per_s"));

  stop_issuer(issuer);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
  if (system(cmd) != 0) fprintf(stderr, "bench_e2e: could not remove %s\n", work);
  return 0;
}
