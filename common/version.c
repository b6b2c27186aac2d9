/* version.c — the library's version, as built (include/llq/llq.h LLQ_VERSION_*). */
#include "llq/llq.h"

#define STR_(x) #x
#define STR(x) STR_(x)
_Static_assert(sizeof LLQ_VERSION_STRING == sizeof(STR(LLQ_VERSION_MAJOR) "." STR(LLQ_VERSION_MINOR) "."
                                                   STR(LLQ_VERSION_PATCH)),
               "LLQ_VERSION_STRING agrees with LLQ_VERSION_MAJOR.MINOR.PATCH");

const char *llq_version(void)
{
    return LLQ_VERSION_STRING;
}
