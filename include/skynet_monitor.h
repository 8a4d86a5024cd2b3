/*
 * skynet_monitor.h -- per-worker watchdog that detects a service stuck
 * in one message for too long.
 */
#ifndef SKYNET_MONITOR_H
#define SKYNET_MONITOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct skynet_monitor;

struct skynet_monitor *skynet_monitor_new(void);
void skynet_monitor_delete(struct skynet_monitor *);
void skynet_monitor_trigger(struct skynet_monitor *, uint32_t source, uint32_t destination);
void skynet_monitor_check(struct skynet_monitor *);

#ifdef __cplusplus
}
#endif

#endif /* SKYNET_MONITOR_H */
