/* Members' URLs (cluster/rtrans.h): which transport, and where. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/rtrans.h"

#define SAFE "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* HOST[:PORT] or [V6]:PORT at s, up to end: host and port split ("" if none). */
static int host_port(const char *s, size_t n, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;
	*port = 0;
	if (*s == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || close == s + 1)
			return -1;
		snprintf(host, hlen, "%.*s", (int)(close - s - 1), s + 1);
		colon = close + 1 < s + n && close[1] == ':' ? close + 1 : NULL;
		if (!colon && close + 1 != s + n)
			return -1;
	} else {
		colon = memchr(s, ':', n);
		snprintf(host, hlen, "%.*s", (int)(colon ? colon - s : (long)n), s);
	}
	if (colon) {
		size_t pl = s + n - colon - 1;
		if (!pl || pl >= plen || strspn(colon + 1, "0123456789") < pl)
			return -1;
		snprintf(port, plen, "%.*s", (int)pl, colon + 1);
		long p = strtol(port, NULL, 10);
		if (p < 1 || p > 65535)
			return -1;
	}
	/* a host name never starts with '-' (ssh would take it for an option) */
	return *host && *host != '-' ? 0 : -1;
}

/* The ssh options of sshfs_options: ssh's are named in capitals (IdentityFile=...), sshfs's own
 * in lower case (reconnect, direct_io). */
static void ssh_options(const char *sshfs_options, char *out, size_t len)
{
	char buf[1024];
	size_t n = 0;
	snprintf(buf, sizeof(buf), "%s", sshfs_options ? sshfs_options : "");
	*out = 0;
	char *save = NULL;
	for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save))
		if (*o >= 'A' && *o <= 'Z' && strchr(o, '=') && n + strlen(o) + 2 < len)
			n += snprintf(out + n, len - n, "%s%s", n ? "," : "", o);
}

static int bad(char *err, size_t errlen, const char *url, const char *want)
{
	snprintf(err, errlen, "\"%.200s\" is not %s", url, want);
	return -EINVAL;
}

int rtarget_parse(const char *url, const char *root, const char *sshfs_options, struct rtarget *t,
		  char *err, size_t errlen)
{
	struct rtarget tmp;
	if (!t)
		t = &tmp;
	memset(t, 0, sizeof(*t));
	if (strlen(url) >= 1024) {
		snprintf(err, errlen, "the URL is too long");
		return -ENAMETOOLONG;
	}
	if (url[0] == '/') {
		t->kind = RK_PATH;
		snprintf(t->root, sizeof(t->root), "%s", url);
		return 0;
	}
	if (!strncmp(url, "ssh://", 6)) {
		const char *rest = url + 6, *slash = strchr(rest, '/');
		if (!slash || slash == rest || *rest == '@' || *rest == '-' || !slash[1])
			return bad(err, errlen, url, "ssh://USER@HOST/PATH (the path of the member's "
				   "mount point is missing)");
		t->kind = RK_PATH;
		snprintf(t->root, sizeof(t->root), "%s", root ? root : "");
		return 0;
	}
	if (!strncmp(url, "9p://", 5)) {
		const char *rest = url + 5;
		size_t n = strcspn(rest, "/");
		if (rest[n] || strchr(rest, '@') ||
		    host_port(rest, n, t->host, sizeof(t->host), t->port, sizeof(t->port)))
			return bad(err, errlen, url, "9p://HOST[:PORT] (the address of the member's "
				   "9P door)");
		t->kind = RK_9P_TCP;
		if (!*t->port)
			snprintf(t->port, sizeof(t->port), "564");
		return 0;
	}
	if (!strncmp(url, "9p+ssh://", 9)) {
		const char *rest = url + 9, *at = strchr(rest, '@');
		size_t n = strcspn(rest, "/");
		const char *path = rest + n;
		char hp[256], user[65];
		bool user_ok = at && at < path && at > rest && at - rest < (long)sizeof(user) &&
			       strspn(rest, SAFE) >= (size_t)(at - rest);
		/* the socket's path goes to the remote shell: only what it takes as it is */
		bool path_ok = !*path || (path[1] && strspn(path, SAFE "/") == strlen(path));
		if (!user_ok || !path_ok ||
		    host_port(at + 1, path - at - 1, hp, sizeof(hp), t->port, sizeof(t->port)))
			return bad(err, errlen, url, "9p+ssh://USER@HOST[:PORT][/SOCKET] (ssh to the "
				   "member, which runs `vmfs 9p-stdio`)");
		t->kind = RK_9P_SSH;
		snprintf(user, sizeof(user), "%.*s", (int)(at - rest), rest);
		snprintf(t->host, sizeof(t->host), "%s@%s", user, hp);
		snprintf(t->root, sizeof(t->root), "%s", path);
		ssh_options(sshfs_options, t->ssh_opts, sizeof(t->ssh_opts));
		return 0;
	}
	snprintf(err, errlen, "\"%.200s\" is none of ssh://USER@HOST/PATH, 9p://HOST[:PORT], "
		 "9p+ssh://USER@HOST[:PORT] and an absolute path where the member's tree is mounted",
		 url);
	return -EINVAL;
}

void rtarget_url_addr(const char *url, char *out, size_t len)
{
	const char *h = !strncmp(url, "ssh://", 6)     ? url + 6
			: !strncmp(url, "9p://", 5)     ? url + 5
			: !strncmp(url, "9p+ssh://", 9) ? url + 9
							: NULL;
	*out = 0;
	if (!h)
		return;
	const char *at = strchr(h, '@');
	size_t n = strcspn(h, "/");
	if (at && at < h + n) {
		n -= at + 1 - h;
		h = at + 1;
	}
	char host[256], port[8];
	unsigned char bin[16];
	if (host_port(h, n, host, sizeof(host), port, sizeof(port)) == 0 &&
	    (inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1))
		snprintf(out, len, "%s", host);
}

void rtarget_text(const struct rtarget *t, bool sshfs, char *out, size_t len)
{
	if (t->kind == RK_9P_TCP)
		snprintf(out, len, "9p over TCP to %s%s%s:%s", strchr(t->host, ':') ? "[" : "",
			 t->host, strchr(t->host, ':') ? "]" : "", t->port);
	else if (t->kind == RK_9P_SSH)
		snprintf(out, len, "9p over ssh to %s%s%s (vmfs 9p-stdio)", t->host,
			 *t->port ? " port " : "", t->port);
	else
		snprintf(out, len, "%s %s", sshfs ? "sshfs, mounted at" : "a tree mounted at", t->root);
}
