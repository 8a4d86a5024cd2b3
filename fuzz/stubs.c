/* What the fuzzed modules take from the core, for a process without one. */
#include <stdlib.h>
#include <string.h>

void *skynet_malloc(size_t sz) { return malloc(sz); }
void *skynet_calloc(size_t n, size_t sz) { return calloc(n, sz); }
void *skynet_realloc(void *p, size_t sz) { return realloc(p, sz); }
void skynet_free(void *p) { free(p); }
char *skynet_strdup(const char *s) { return strdup(s); }
