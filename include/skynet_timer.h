/*
 * skynet_timer.h -- timeouts and the core clock (centisecond ticks).
 */
#ifndef SKYNET_TIMER_H
#define SKYNET_TIMER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int      skynet_timeout(uint32_t handle, int time, int session);
void     skynet_updatetime(void);
uint32_t skynet_starttime(void);
/* CPU time of the calling thread in microseconds, for profiling. */
uint64_t skynet_thread_time(void);

void     skynet_timer_init(void);

#ifdef __cplusplus
}
#endif

#endif /* SKYNET_TIMER_H */
