/* TLS for a live migration's stream and its NBD disk mirror (vmfs.conf migrate_tls = DIR, a
 * directory in QEMU's x509 layout: ca-cert.pem, server-cert.pem, server-key.pem,
 * client-cert.pem, client-key.pem). QEMU runs as its own user and opens nothing of root's:
 * for each migration this end's files are copied into QEMU's run/qemu/vmfs-tls, QEMU loads
 * them as a tls-creds-x509 object (verify-peer on both ends), and the copies go at once. */
#ifndef VMFS_MIGTLS_H
#define VMFS_MIGTLS_H
#include <stdbool.h>
#include <stddef.h>

#include "runtime/err.h"

/* The id of the object both ends' QMP commands name. */
#define MIGTLS_ID "vmfs-mig-tls"

/* At vmfs's start: dir (absolute) is checked (root's, not group/world writable, its five
 * files root's regular files, the keys 0600 or 0400) and kept; -errno with why in e. NULL or
 * "" leaves migrations in plain TCP. */
int migtls_set(const char *dir, struct err *e);
/* Whether migrations use TLS. */
bool migtls_on(void);
/* How this host's migrations travel, for the logs. */
const char *migtls_words(void);
/* Copies the CA and this end's pair (server: the destination) into rundfd's qemu/vmfs-tls,
 * QEMU's user's, checked again as they are read; then the object-add command that loads them
 * is put in cmd. -errno with why in e. */
int migtls_stage(int rundfd, bool server, char *cmd, size_t cmdlen, struct err *e);
/* The copies go (QEMU holds what it loaded). */
void migtls_unstage(int rundfd);
struct qsess;
/* Once the migration has ended (and the NBD server or mirrors with it): the migration
 * parameter tls-creds is reset and the object deleted, so that QEMU no longer holds the key
 * for the guest's life. 0 or -errno with why in e. */
int migtls_drop(struct qsess *s, struct err *e);
#endif
