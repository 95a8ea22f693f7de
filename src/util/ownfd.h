/*
 * loom's own file descriptors (the code cache's memfd, the log, the control
 * socket, the fork server's pipes...), kept out of the guest's sight.
 */
#ifndef LOOM_UTIL_OWNFD_H
#define LOOM_UTIL_OWNFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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
/* For a thread of loom's that opens files while the guest runs (the
 * coverage writer, the control channel): give the calling thread a
 * descriptor table of its own, holding only loom's descriptors, so that
 * the guest never sees, even for a moment, a number the thread opens.
 * From then on the thread's ownfd_take and ownfd_drop record nothing.
 * 0 or -errno. */
int ownfd_private_table(void);
/* A stream on fd, taken as loom's (ownfd_take) for as long as the stream
 * is open: it keeps following the descriptor if an eviction renumbers it,
 * and fclose forgets and closes it.  NULL (fd closed) on failure.
 * ownfd_fdopen_live also points *live at the descriptor's current number
 * (for fsync and the like; valid until fclose). */
FILE *ownfd_fdopen(int fd, const char *mode);
FILE *ownfd_fdopen_live(int fd, const char *mode, const int **live);
/* loom's descriptors, ascending; returns how many (at most max). */
size_t ownfd_list(int *out, size_t max);

#endif
