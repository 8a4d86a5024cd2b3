/*
 * skynet_daemon.h -- detaching into the background with a pid file.
 */
#ifndef skynet_daemon_h
#define skynet_daemon_h

#ifdef __cplusplus
extern "C" {
#endif

int daemon_init(const char *pidfile);
int daemon_exit(const char *pidfile);

#ifdef __cplusplus
}
#endif

#endif /* skynet_daemon_h */
