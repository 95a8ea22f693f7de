/*
 * loom's own file descriptors (the code cache's memfd, the log, the control
 * socket, the fork server's pipes...), kept out of the guest's sight.
 */
#ifndef LOOM_UTIL_OWNFD_H
#define LOOM_UTIL_OWNFD_H

#include <stdbool.h>
#include <stddef.h>

/* Move fd to a high number (closing fd) and record it as loom's.  *owner
 * is the variable that holds it (updated if the guest later needs the
 * number: ownfd_evict); moved, if not NULL, is told the new number after
 * such an eviction.  Returns the descriptor to use (fd itself if it could
 * not be moved). */
int ownfd_take(int fd, int *owner, void (*moved)(int oldfd, int newfd));
/* loom is about to close fd: forget it. */
void ownfd_drop(int fd);
/* Is fd one of loom's? (A few compares: called for every fd argument of
 * every guest syscall.) */
bool ownfd_is(long fd);
/* The guest wants fd's number (dup2 onto it): move loom's descriptor to
 * another number first.  0, or -errno if it cannot be moved. */
int ownfd_evict(int fd);
/* loom's descriptors, ascending; returns how many (at most max). */
size_t ownfd_list(int *out, size_t max);

#endif
