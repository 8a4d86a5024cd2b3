/*
 * skynet_env.h -- the process-wide key/value store holding the config.
 */
#ifndef SKYNET_ENV_H
#define SKYNET_ENV_H

#ifdef __cplusplus
extern "C" {
#endif

const char *skynet_getenv(const char *key);
void        skynet_setenv(const char *key, const char *value);

void        skynet_env_init(void);

#ifdef __cplusplus
}
#endif

#endif /* SKYNET_ENV_H */
