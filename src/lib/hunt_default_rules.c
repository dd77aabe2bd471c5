/* rules/baseline.rules, byte for byte, in .rodata (assembled from the repository root,
 * where make runs), so the program carries its baseline and needs no data directory. */
#include "hunt_rules.h"

#include <stddef.h>

__asm__(".section .rodata\n"
        ".balign 16\n"
        "hunt_default_rules_start:\n"
        ".incbin \"rules/baseline.rules\"\n"
        "hunt_default_rules_end:\n"
        ".byte 0\n"
        ".previous\n");

extern const char hunt_default_rules_start[] __asm__("hunt_default_rules_start");
extern const char hunt_default_rules_end[] __asm__("hunt_default_rules_end");

const char *hunt_default_rules(size_t *len)
{
    *len = (size_t)(hunt_default_rules_end - hunt_default_rules_start);
    return hunt_default_rules_start;
}
