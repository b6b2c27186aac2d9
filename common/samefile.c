/* samefile.c — the one "same file" test of the library and the tools: an output is never one of the inputs. */
#include "llq/llq.h"

#include <sys/stat.h>

int llq_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
