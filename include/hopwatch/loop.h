/*
 * The event loop: one thread, epoll for file descriptors, a heap of timers.
 * Everything (raw sockets, later c-ares) wakes this one loop.
 */
#ifndef HOPWATCH_LOOP_H
#define HOPWATCH_LOOP_H

#include <stdint.h>

typedef struct hw_loop hw_loop_t;

#define HW_EV_READ 1u
#define HW_EV_WRITE 2u

typedef void (*hw_fd_cb)(int fd, unsigned events, void *arg);
typedef void (*hw_timer_cb)(void *arg);

/* Monotonic time in microseconds. */
uint64_t hw_now_us(void);

/* Wall-clock time in microseconds since the Unix epoch. */
uint64_t hw_unix_us(void);

/* A new loop; NULL on failure (errno set). */
hw_loop_t *loop_open(void);

/* Closes the loop (not the watched fds); NULL is fine. Returns NULL. */
hw_loop_t *loop_close(hw_loop_t *loop);

/*
 * Watches fd for events (HW_EV_READ | HW_EV_WRITE); watching an fd again replaces its
 * events, callback and argument; events 0 stops watching it.
 */
int loop_watch(hw_loop_t *loop, int fd, unsigned events, hw_fd_cb cb, void *arg);

/* Calls cb(arg) once at monotonic time when_us; returns a timer id (> 0) or < 0. */
int64_t loop_timer(hw_loop_t *loop, uint64_t when_us, hw_timer_cb cb, void *arg);

/* Cancels a timer that has not fired; unknown ids are ignored. */
void loop_timer_cancel(hw_loop_t *loop, int64_t id);

/* Runs until loop_stop or until nothing is watched and no timer is left. */
int loop_run(hw_loop_t *loop);

/* Makes loop_run return after the current callback. */
void loop_stop(hw_loop_t *loop);

#endif
