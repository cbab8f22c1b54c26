/*
 * bench/bench_json.c -- the people-facing views of a message, on the same
 * realistic 15-field 0200 as bench_codec, unpacked from iso87a-bbitmap (as a
 * logging path sees it):
 *
 *   json.to_json.0200     ns to render it as masked JSON (iso_msg_to_json)
 *   json.describe.0200    ns to render the masked field-by-field dump
 *   json.from_json.0200   ns to fill a message from its JSON (cJSON parse)
 *   json.spec_load.iso87a us to load the exported iso87a spec from JSON
 *
 * Each figure is the median of 5 runs of N operations; --quick makes N small.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isoflow/iso8583.h"
#include "support/bench.h"

#define RUNS 5

static volatile size_t sink;

static const char request[] =
    "{\"0\":\"0200\",\"2\":\"4761739001010119\",\"3\":\"000000\",\"4\":\"000000012550\","
    "\"7\":\"1123101500\",\"11\":\"004711\",\"12\":\"101500\",\"13\":\"1123\",\"14\":\"2812\","
    "\"22\":\"051\",\"25\":\"00\",\"35\":\"4761739001010119=28122011758900540\","
    "\"37\":\"332710004711\",\"41\":\"TERM0042\",\"42\":\"MERCHANT0000042\",\"49\":\"978\"}";

int main(int argc, char **argv) {
  long n = 500000;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--quick")) n = 20000;
  const iso_spec *spec = iso_spec_builtin("iso87a-bbitmap");
  iso_msg m, u;
  iso_msg_init(&m, spec);
  iso_msg_init(&u, spec);
  iso_error err = {0};
  uint8_t wire[512];
  size_t len = 0;
  if (iso_msg_from_json(&m, request, sizeof request - 1, &err) ||
      iso_msg_pack(&m, wire, sizeof wire, &len, &err) ||
      iso_msg_unpack(&u, wire, len, &err)) {
    fprintf(stderr, "bench: setup failed: field %d: %s\n", err.field, err.reason);
    return 1;
  }
  char *spec_json = iso_spec_to_json(iso_spec_builtin("iso87a"));
  size_t spec_len = strlen(spec_json);
  long spec_n = n / 500 + 10;

  double to_json[RUNS], describe[RUNS], from_json[RUNS], spec_load[RUNS];
  char out[2048];
  for (int r = 0; r < RUNS; r++) {
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
      iso_msg_to_json(&u, ISO_SHOW_MASKED, out, sizeof out, &len);
      sink += len;
    }
    to_json[r] = (bench_now_ns() - t0) / (double)n;

    t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
      iso_msg_describe(&u, ISO_SHOW_MASKED, out, sizeof out, &len);
      sink += len;
    }
    describe[r] = (bench_now_ns() - t0) / (double)n;

    t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
      if (iso_msg_from_json(&m, request, sizeof request - 1, NULL)) return 1;
      sink += m.nslots;
    }
    from_json[r] = (bench_now_ns() - t0) / (double)n;

    t0 = bench_now_ns();
    for (long i = 0; i < spec_n; i++) {
      iso_spec *loaded = NULL;
      if (iso_spec_parse_json(spec_json, spec_len, &loaded, NULL)) return 1;
      iso_spec_free(loaded);
    }
    spec_load[r] = (bench_now_ns() - t0) / (double)spec_n / 1000.0;
  }
  printf("bench: json.to_json.0200 %.1f ns/op\n", bench_median(to_json, RUNS));
  printf("bench: json.describe.0200 %.1f ns/op\n", bench_median(describe, RUNS));
  printf("bench: json.from_json.0200 %.1f ns/op\n", bench_median(from_json, RUNS));
  printf("bench: json.spec_load.iso87a %.1f us/op\n", bench_median(spec_load, RUNS));
  free(spec_json);
  iso_msg_cleanup(&u);
  iso_msg_cleanup(&m);
  return 0;
}
