/*
 * examples/simulator/rules.h -- how isoflow-simulator decides an answer.
 * A rule matches on the amount (DE 4, minor units, an inclusive range) and/
 * or the PAN's last digits, and says the response code, a delay before
 * answering, or to drop the request (no answer at all).  The first rule that
 * matches wins; when none does the answer is "00" at once.
 *
 * On the command line (--rule, repeatable), a rule is comma-separated
 * key=value pairs:
 *     amount=MIN-MAX   pan-suffix=DIGITS   rc=NN   delay=MS   drop
 * e.g. --rule amount=100000-999999999999,rc=51 --rule pan-suffix=0010,delay=250
 *
 * In a JSON file (--rules FILE), an array of objects with the keys
 * amount_min, amount_max, pan_suffix, rc, delay_ms, drop.
 */
#ifndef ISOFLOW_EXAMPLES_SIM_RULES_H
#define ISOFLOW_EXAMPLES_SIM_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_RULES 64

typedef struct sim_rule {
  int64_t amount_min, amount_max; /* -1: any */
  char pan_suffix[20];            /* "": any */
  char rc[3];                     /* default "00" */
  uint32_t delay_ms;
  bool drop;
} sim_rule;

typedef struct sim_rules {
  sim_rule rule[SIM_MAX_RULES];
  size_t count;
} sim_rules;

/** sim_rule_parse -- one command-line rule; 0 or ISO_E_INVAL. */
int sim_rule_parse(const char *text, sim_rule *out);

/** sim_rules_load_json -- appends the rules of a JSON file; 0, ISO_E_IO,
 *  ISO_E_BAD_JSON (the bad rule's index in *bad when not NULL), ISO_E_NOSPC
 *  past SIM_MAX_RULES. */
int sim_rules_load_json(const char *path, sim_rules *rules, int *bad);

/** sim_rules_match -- the first rule matching (amount -1 when absent, pan
 *  NULL when absent), or NULL. */
const sim_rule *sim_rules_match(const sim_rules *rules, int64_t amount, const char *pan);

#endif
