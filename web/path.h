/* A URL's path (as libmicrohttpd decoded it, %2e%2e already "..") as the names it walks in
 * the tree; kept apart from the walk itself so that it can be tested and fuzzed alone. */
#ifndef VMFS_WEB_PATH_H
#define VMFS_WEB_PATH_H
#include <stddef.h>

/* Copies path into buf and points comp[0..n) at its names, returning n. Empty names ("//")
 * are skipped; "." and ".." never name anything: -EACCES, as are more than max names. A path
 * not starting with '/', or of buflen bytes or more: -EINVAL. */
int web_path_split(const char *path, char *buf, size_t buflen, char **comp, int max);
#endif
