/* The logger service: writes PTYPE_TEXT lines as "[:handle] text" to stdout or to the file
 * named by its parameter (then with a date prefix); PTYPE_SYSTEM reopens the file (SIGHUP). */
#include "skynet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct logger {
	FILE *out;
	char *path;
	uint32_t starttime;
};

struct logger *
logger_create(void) {
	struct logger *l = calloc(1, sizeof(*l));
	return l;
}

void
logger_release(struct logger *l) {
	if (l->path) {
		fclose(l->out);
		free(l->path);
	}
	free(l);
}

static void
write_time(struct logger *l) {
	uint64_t now = skynet_now();
	time_t seconds = (time_t)(l->starttime + now / 100);
	struct tm local;
	char text[64];
	localtime_r(&seconds, &local);
	strftime(text, sizeof(text), "%d/%m/%y %H:%M:%S", &local);
	fprintf(l->out, "%s.%02d ", text, (int)(now % 100));
}

static int
on_message(struct skynet_context *ctx, void *ud, int type, int session, uint32_t source, const void *msg, size_t sz) {
	struct logger *l = ud;
	(void)ctx;
	(void)session;
	if (type == PTYPE_SYSTEM) {
		if (l->path) {
			FILE *f = freopen(l->path, "a", l->out);
			if (f)
				l->out = f;
		}
	} else if (type == PTYPE_TEXT) {
		/* the line's pieces under the stream's lock: a service's print between them
		   would cut the line */
		flockfile(l->out);
		if (l->path)
			write_time(l);
		fprintf(l->out, "[:%08x] ", source);
		fwrite(msg, sz, 1, l->out);
		fputc('\n', l->out);
		fflush(l->out);
		funlockfile(l->out);
	}
	return 0;
}

int
logger_init(struct logger *l, struct skynet_context *ctx, const char *parm) {
	const char *starttime = skynet_command(ctx, "STARTTIME", NULL);
	l->starttime = starttime ? (uint32_t)strtoul(starttime, NULL, 10) : 0;
	if (parm && parm[0]) {
		l->out = fopen(parm, "a");
		if (l->out == NULL) {
			fprintf(stderr, "logger: can't open %s\n", parm);
			return 1;
		}
		l->path = strdup(parm);
	} else {
		l->out = stdout;
	}
	skynet_callback(ctx, l, on_message);
	return 0;
}
