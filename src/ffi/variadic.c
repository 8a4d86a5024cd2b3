/* The one piece of the C edge stable Rust cannot write: skynet_error is variadic. It formats
 * the text into a malloc'd buffer and hands it to the core, which sends it to the logger. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct skynet_context;

/* In the Rust core: takes ownership of `text` (malloc'd, NUL-terminated, `len` bytes). */
void skynet_error_text(struct skynet_context *context, char *text, size_t len);

void
skynet_error(struct skynet_context *context, const char *fmt, ...) {
	va_list ap;
	char *text = NULL;
	int len;
	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	if (strcmp(fmt, "%*s") == 0) {
		/* Binary-safe text of a given length (Lua's skynet.error passes it this way). */
		len = va_arg(ap, int);
		const char *s = va_arg(ap, const char *);
		if (len < 0 || s == NULL) {
			va_end(ap);
			return;
		}
		text = malloc((size_t)len + 1);
		if (text != NULL) {
			memcpy(text, s, (size_t)len);
			text[len] = '\0';
		}
	} else {
		va_list again;
		va_copy(again, ap);
		char small[256];
		len = vsnprintf(small, sizeof(small), fmt, ap);
		if (len >= 0) {
			text = malloc((size_t)len + 1);
			if (text != NULL) {
				if ((size_t)len < sizeof(small))
					memcpy(text, small, (size_t)len + 1);
				else
					vsnprintf(text, (size_t)len + 1, fmt, again);
			}
		}
		va_end(again);
	}
	va_end(ap);
	if (text == NULL) {
		fprintf(stderr, "skynet_error: out of memory formatting \"%s\"\n", fmt);
		return;
	}
	skynet_error_text(context, text, (size_t)len);
}
