/* The HTTP door's token, when there is no password file: 32 random bytes as 64 hex digits in
 * STATE/web-token (0600, owned by vmfs's user). Whoever holds it is root's equal in the door;
 * whoever can read the state directory is root already. */
#ifndef VMFS_WEB_TOKEN_H
#define VMFS_WEB_TOKEN_H
#include <stdbool.h>
#include <stddef.h>

#define TOKEN_HEX 64
#define TOKEN_FILE "web-token"

/* Reads the token from dirfd's web-token, or makes a new one when the file is missing or
 * cannot be trusted (not a regular file of ours, readable by others, not 64 hex digits).
 * *made says a new one was written. 0, or -errno with err saying why. */
int token_load(int dirfd, char out[TOKEN_HEX + 1], bool *made, char *err, size_t errlen);
/* s is the token, compared in a time that does not depend on where they differ. */
bool token_is(const char *tok, const char *s);
#endif
